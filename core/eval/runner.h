// Running tasks against a model: multiple choice by log-likelihood, greedy generation with
// answer extraction, and perplexity / bits-per-byte on held-out text. Every runner returns
// TaskResults (results.h) with per-item samples, so the CLI, jobs and the GUI share one path.
//
// Threading: runs on the caller's thread; `cancel` is checked between batches.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/progress.h"
#include "base/status.h"
#include "eval/eval_model.h"
#include "eval/loglikelihood.h"
#include "eval/results.h"
#include "eval/task.h"

namespace kanana::eval {

struct RunOptions {
  int num_fewshot = -1;             // -1: the task's own
  uint64_t seed = 1234;             // few-shot draws and bootstraps
  int64_t limit = 0;                // first N good items (0 = all)
  bool skip_bad_items = false;
  bool shared_prefix = true;        // multiple choice: encode each context once
  int64_t batch_size = 16;          // rows per forward (choices), prompts per generate call
  int64_t max_length = 0;           // context window; 0 = config.json's max_position_embeddings
  std::string norm = "bytes";       // acc_norm divides by the choice's UTF-8 bytes | chars (lm-eval's len())
  std::optional<bool> score_letters;  // override the task's doc_to_choice
  std::optional<bool> chat;         // generation: chat template on/off (default: the task's)
  int max_new_tokens = 0;           // generation: 0 = the task's
  std::vector<std::string> extra_stop;  // generation: added to the task's stop sequences
};

// The lm-eval requests of multiple-choice items: context (few-shot + doc_to_text) encoded
// once, each continuation = whole[len(context):] of encode(context + delimiter + choice).
// `contexts` receives the context strings when given.
struct McRequests {
  std::vector<LoglikRequest> requests;
  std::vector<std::string> contexts;
  std::vector<std::vector<int64_t>> shot_lines;  // few-shot items used per item (their lines)
};
Result<McRequests> build_mc_requests(const EvalModel& model, const TaskSpec& spec, const std::vector<TaskItem>& items,
                                     const std::vector<TaskItem>& fewshot_pool, bool pool_is_eval_set, int num_fewshot,
                                     uint64_t seed);

Result<TaskResult> run_multiple_choice(EvalModel& model, const TaskSpec& spec, const RunOptions& options,
                                       Progress* progress = nullptr, const CancelToken* cancel = nullptr);
Result<TaskResult> run_generation(EvalModel& model, const TaskSpec& spec, const RunOptions& options,
                                  Progress* progress = nullptr, const CancelToken* cancel = nullptr);

struct PerplexityOptions {
  std::vector<std::filesystem::path> inputs;  // pack folders (manifest.json) or JSONL/text files/folders
  std::string split = "val";                  // packs: val | train
  std::string text_field = "text";            // JSONL
  std::string lang_field = "lang";            // JSONL; else guessed from the script (ko/en)
  int64_t max_docs = 0;                       // per input; 0 = all
  int64_t window = 0;                         // tokens per rolling window; 0 = min(max_length, 2048)
  int64_t batch_size = 8;                     // windows per forward
  uint64_t seed = 1234;                       // bootstrap
};
// Tasks "ppl/all", "ppl/all/<lang>", "ppl/<source>", "ppl/<source>/<lang>" with bits_per_byte
// (Σ nll / (ln 2 · UTF-8 bytes)), byte/word/token perplexity; per-document samples on "ppl/all".
// Groups that would repeat their parent (one language, one source) are left out.
Result<std::vector<TaskResult>> run_perplexity(EvalModel& model, const PerplexityOptions& options,
                                               Progress* progress = nullptr, const CancelToken* cancel = nullptr);

}  // namespace kanana::eval
