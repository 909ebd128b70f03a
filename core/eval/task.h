// Evaluation tasks: what a task file's columns mean and how an item becomes a prompt.
//
// Task files are JSONL (optionally .gz/.zst) the user supplies. Four public layouts are read
// directly, with lm-evaluation-harness's default prompts for them:
//   kmmlu   {"question", "A", "B", "C", "D", "answer": 1..4, "Category"?}
//           prompt "{question}\nA. {A}\n...\n정답：", scored continuations " A" .. " D"
//   mmlu    {"question", "choices": [...], "answer": 0-based int or "A".., "subject"?}
//           "The following are multiple choice questions (with answers) about {subject}.\n\n"
//           + "{question}\nA. ...\nAnswer:", scored continuations " A" .. " D"
//   haerae  {"query", "options"?, "answer": "(A)".., "category"?}  (HAERAE-HUB/HAE_RAE_BENCH 1.1)
//           prompt "{query}" (the query lists the options), scored " (A)" .. " (E)"
//   gsm8k   {"question", "answer": "... #### 42"}  generative, "Question: {question}\nAnswer:"
// and anything else through a task spec (JSON) that names the columns, the prompt template,
// delimiters and few-shot count (see TaskSpec and parse_task_spec).
//
// Bad items (missing column, answer out of range, empty choice list, invalid JSON) are errors
// naming file:line and the field; with skip_bad_items they are collected and the rest run.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/status.h"

namespace kanana::eval {

enum class TaskType { kMultipleChoice, kGenerate };
const char* task_type_name(TaskType type);  // "multiple_choice", "generate_until"

enum class Layout { kGeneric, kKmmlu, kMmlu, kHaerae, kGsm8k };
const char* layout_name(Layout layout);  // "generic", "kmmlu", "mmlu", "haerae", "gsm8k"
Result<Layout> parse_layout(const std::string& name);

// How a generated text becomes the string compared with the gold answer (lm-eval "filters").
struct AnswerFilter {
  std::string name = "none";  // reported as "exact_match,<name>"
  std::string kind = "none";  // none | gsm8k ("#### N") | last_number | regex
  std::string regex;          // kind regex: capture group 1 (or the whole match)
  bool take_last = false;     // regex: the last match instead of the first
};

struct TaskSpec {
  std::string name;                     // key in results ("kmmlu"); default: the data file's stem
  TaskType type = TaskType::kMultipleChoice;
  Layout layout = Layout::kGeneric;
  std::filesystem::path data;           // the items (JSONL)
  std::filesystem::path fewshot_data;   // few-shot pool; empty = the data file minus the item itself

  // ---- columns
  std::vector<std::string> choice_fields;  // one column per choice ("A", "B", "C", "D"), or
  std::string choices_field;               // one column holding the list of choices
  std::string answer_field = "answer";
  // index0 (0-based int) | index1 (1-based int) | letter ("B", "(B)", "B.") | text (equals a
  // choice) | auto (an int is 0-based, a string a letter or a choice's text)
  std::string answer_format = "auto";
  std::string category_field;           // optional per-category breakdown ("subject", "Category")
  std::string lang_field;               // optional "lang"; otherwise guessed from the script

  // ---- prompt (lm-eval doc_to_text / doc_to_choice / target_delimiter / fewshot_delimiter)
  // {field}, {field[i]}, {field|trim}, {options} (the choices as "A. x\nB. y"), {{ and }}.
  std::string template_text = "{question}";
  std::string description;              // once before the few-shot examples; same placeholders
  bool score_letters = false;           // score " A".." D" (MMLU/KMMLU style) instead of choice texts
  std::vector<std::string> labels;      // letters for {options} and score_letters; default A, B, ...
  std::string target_delimiter = " ";
  std::string fewshot_delimiter = "\n\n";
  int num_fewshot = 0;

  // ---- generate_until
  std::string target_template = "{answer}";  // the gold text (few-shot targets; filtered for gold)
  std::vector<std::string> stop = {"\n\n"};
  int max_new_tokens = 256;
  std::vector<AnswerFilter> filters;    // empty = one "none" filter (strip + exact match)
  bool chat = false;                    // wrap the prompt in the model's chat template

  Json to_json() const;  // recorded as the task's config in results
};

// The preset a layout implies (columns, prompt, delimiters, filters) for `data`.
TaskSpec preset_spec(Layout layout, const std::filesystem::path& data);
// Look at the first JSON object of `data`: kmmlu (A-D + answer), mmlu (choices list), haerae
// (query), gsm8k (answer with "####"); kGeneric when none fits.
Result<Layout> detect_layout(const std::filesystem::path& data);
// A task spec file (JSON). Keys: name, type ("multiple_choice" | "generate_until"), layout
// (a preset to start from), data, fewshot_data, choice_fields, choices_field, answer_field,
// answer_format, category_field, lang_field, template, description, score ("letters" |
// "text"), labels, target_delimiter, fewshot_delimiter, num_fewshot, target, stop,
// max_new_tokens, filters ([{name, kind, regex, take_last}]), chat. Relative paths are
// relative to the spec file. Unknown keys are errors naming the field.
Result<TaskSpec> read_task_spec(const std::filesystem::path& path);
Result<TaskSpec> parse_task_spec(const Json& json, const std::string& origin, const std::filesystem::path& base_dir);
// A .json file is a spec; anything else is a data file whose layout is `layout` (auto-detected
// when nullopt).
Result<TaskSpec> resolve_task(const std::filesystem::path& path, std::optional<Layout> layout);

// One item of a task file, ready to prompt.
struct TaskItem {
  int64_t doc_id = 0;          // 0-based ordinal among the good items
  int64_t line = 0;            // 1-based line in the file
  Json doc;                    // the JSON object as read
  std::string text;            // doc_to_text: the rendered template
  std::string description;     // the rendered description (empty when none)
  std::vector<std::string> options;  // the choice texts (multiple choice)
  std::vector<std::string> continuations;  // what is scored: labels or options (without delimiter)
  int gold = -1;               // index into continuations (multiple choice)
  std::string target;          // gold text (generate_until; few-shot target of any task)
  std::string category;
  std::string lang;
};

struct BadItem {
  int64_t line = 0;
  std::string field;           // the offending field ("" for invalid JSON)
  std::string message;         // "file:line: field 'answer': 5 is out of range 1..4"
};

struct TaskItems {
  std::vector<TaskItem> items;
  std::vector<BadItem> skipped;  // only with skip_bad_items
  int64_t lines = 0;             // non-empty lines read
};

// Reads `path` with the columns of `spec`. Without skip_bad_items the first bad item is the
// error (kInvalidArgument, message "file:line: field 'x' ..."); with it, bad items are listed.
// limit > 0 stops after that many good items.
Result<TaskItems> load_task_items(const TaskSpec& spec, const std::filesystem::path& path, bool skip_bad_items,
                                  int64_t limit = 0);

}  // namespace kanana::eval
