// Task layouts, task spec files and item loading (see task.h).
#include "eval/task.h"

#include <cctype>

#include "base/json.h"
#include "base/strings.h"
#include "data/byte_source.h"
#include "eval/prompt.h"
#include "shards/fertility.h"

namespace kanana::eval {

namespace fs = std::filesystem;

const char* task_type_name(TaskType type) {
  return type == TaskType::kGenerate ? "generate_until" : "multiple_choice";
}

const char* layout_name(Layout layout) {
  switch (layout) {
    case Layout::kKmmlu: return "kmmlu";
    case Layout::kMmlu: return "mmlu";
    case Layout::kHaerae: return "haerae";
    case Layout::kGsm8k: return "gsm8k";
    case Layout::kGeneric: break;
  }
  return "generic";
}

Result<Layout> parse_layout(const std::string& name) {
  for (Layout l : {Layout::kGeneric, Layout::kKmmlu, Layout::kMmlu, Layout::kHaerae, Layout::kGsm8k}) {
    if (name == layout_name(l)) return l;
  }
  return invalid_argument("unknown task layout '" + name + "' (expected kmmlu, mmlu, haerae, gsm8k or generic)");
}

Json TaskSpec::to_json() const {
  Json filters_json = Json::array();
  for (const auto& f : filters) {
    filters_json.push_back({{"name", f.name}, {"kind", f.kind}, {"regex", f.regex}, {"take_last", f.take_last}});
  }
  Json j = {{"task", name},
            {"output_type", task_type_name(type)},
            {"layout", layout_name(layout)},
            {"data", data.string()},
            {"fewshot_data", fewshot_data.string()},
            {"choice_fields", choice_fields},
            {"choices_field", choices_field},
            {"answer_field", answer_field},
            {"answer_format", answer_format},
            {"category_field", category_field},
            {"lang_field", lang_field},
            {"doc_to_text", template_text},
            {"description", description},
            {"doc_to_choice", score_letters ? "labels" : "choices"},
            {"labels", labels},
            {"target_delimiter", target_delimiter},
            {"fewshot_delimiter", fewshot_delimiter},
            {"num_fewshot", num_fewshot}};
  if (type == TaskType::kGenerate) {
    j["doc_to_target"] = target_template;
    j["generation_kwargs"] = {{"until", stop}, {"max_gen_toks", max_new_tokens}, {"do_sample", false}};
    j["filter_list"] = filters_json;
    j["chat_template"] = chat;
  }
  return j;
}

TaskSpec preset_spec(Layout layout, const fs::path& data) {
  TaskSpec s;
  s.layout = layout;
  s.data = data;
  std::string stem = data.filename().string();
  for (const char* ext : {".gz", ".zst", ".jsonl", ".json", ".ndjson"}) {
    if (ends_with(stem, ext)) stem = stem.substr(0, stem.size() - std::string(ext).size());
  }
  s.name = stem.empty() ? layout_name(layout) : stem;
  switch (layout) {
    case Layout::kKmmlu:
      s.choice_fields = {"A", "B", "C", "D"};
      s.answer_format = "index1";
      s.category_field = "Category";
      s.template_text = "{question|trim}\n{options}\n정답：";
      s.score_letters = true;
      break;
    case Layout::kMmlu:
      s.choices_field = "choices";
      s.answer_format = "auto";
      s.category_field = "subject";
      s.description = "The following are multiple choice questions (with answers) about {subject}.\n\n";
      s.template_text = "{question|trim}\n{options}\nAnswer:";
      s.score_letters = true;
      break;
    case Layout::kHaerae:
      s.choices_field = "options";  // optional here: the query already lists them
      s.answer_format = "letter";
      s.category_field = "category";
      s.template_text = "{query}";
      s.score_letters = true;
      s.labels = {"(A)", "(B)", "(C)", "(D)", "(E)"};
      break;
    case Layout::kGsm8k:
      s.type = TaskType::kGenerate;
      s.template_text = "Question: {question}\nAnswer:";
      s.target_template = "{answer}";
      s.stop = {"Question:", "</s>", "<|im_end|>", "<|eot_id|>", "\n\n"};
      s.max_new_tokens = 256;
      s.filters = {{"strict-match", "gsm8k", "", false}, {"flexible-extract", "last_number", "", true}};
      break;
    case Layout::kGeneric:
      s.choices_field = "choices";
      s.template_text = "{question}";
      break;
  }
  return s;
}

namespace {

Result<Json> first_object(const fs::path& path) {
  KANANA_ASSIGN_OR_RETURN(auto src, data::open_byte_source(path));
  data::LineReader lines(std::move(src), 64ull << 20);
  data::LineReader::Line line;
  while (true) {
    KANANA_ASSIGN_OR_RETURN(bool more, lines.next(&line));
    if (!more) return invalid_argument(path.string() + ": no JSON object found (empty task file)");
    if (trim(line.text).empty()) continue;
    Json j = parse_json_or_discarded(line.text);
    if (j.is_discarded() || !j.is_object()) {
      return invalid_argument(path.string() + ":" + std::to_string(line.number) + ": not a JSON object");
    }
    return j;
  }
}

}  // namespace

Result<Layout> detect_layout(const fs::path& data) {
  KANANA_ASSIGN_OR_RETURN(Json j, first_object(data));
  auto has = [&](const char* k) { return j.contains(k); };
  if (has("question") && has("A") && has("B") && has("answer")) return Layout::kKmmlu;
  if (has("question") && has("choices") && j["choices"].is_array() && has("answer")) return Layout::kMmlu;
  if (has("query") && has("answer")) return Layout::kHaerae;
  if (has("question") && has("answer") && j["answer"].is_string() &&
      j["answer"].get<std::string>().find("####") != std::string::npos) {
    return Layout::kGsm8k;
  }
  return Layout::kGeneric;
}

namespace {

Result<std::vector<std::string>> string_list(const JsonReader& r, const std::string& key) {
  std::vector<std::string> out;
  const Json& v = r.json()[key];
  if (v.is_string()) return std::vector<std::string>{v.get<std::string>()};
  if (!v.is_array()) return r.field_error(key, "must be a list of strings");
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string()) return r.field_error(key + "[" + std::to_string(i) + "]", "must be a string");
    out.push_back(v[i].get<std::string>());
  }
  return out;
}

fs::path relative_to(const fs::path& base, const std::string& p) {
  if (p.empty()) return {};
  fs::path path(p);
  return path.is_absolute() || base.empty() ? path : base / path;
}

}  // namespace

Result<TaskSpec> parse_task_spec(const Json& json, const std::string& origin, const fs::path& base_dir) {
  if (!json.is_object()) return invalid_argument(origin + ": a task spec must be a JSON object");
  JsonReader r(json, origin);
  KANANA_RETURN_IF_ERROR(r.check_no_unknown({"name", "type", "layout", "data", "fewshot_data", "choice_fields",
                                             "choices_field", "answer_field", "answer_format", "category_field",
                                             "lang_field", "template", "description", "score", "labels",
                                             "target_delimiter", "fewshot_delimiter", "num_fewshot", "target", "stop",
                                             "max_new_tokens", "filters", "chat"}));
  KANANA_ASSIGN_OR_RETURN(std::string data, r.get_string("data"));
  Layout layout = Layout::kGeneric;
  if (r.has("layout")) {
    KANANA_ASSIGN_OR_RETURN(std::string l, r.get_string("layout"));
    auto parsed = parse_layout(l);
    if (!parsed.is_ok()) return r.field_error("layout", parsed.status().message());
    layout = *parsed;
  }
  TaskSpec s = preset_spec(layout, relative_to(base_dir, data));
  Status e;
  s.name = r.get_string_or("name", s.name, &e);
  if (!e.is_ok()) return e;
  if (r.has("type")) {
    KANANA_ASSIGN_OR_RETURN(std::string t, r.get_string("type"));
    if (t == "multiple_choice") {
      s.type = TaskType::kMultipleChoice;
    } else if (t == "generate_until" || t == "generate") {
      s.type = TaskType::kGenerate;
    } else {
      return r.field_error("type", "must be \"multiple_choice\" or \"generate_until\", got \"" + t + "\"");
    }
  }
  s.fewshot_data = relative_to(base_dir, r.get_string_or("fewshot_data", "", &e));
  if (!e.is_ok()) return e;
  if (r.has("choice_fields")) {
    KANANA_ASSIGN_OR_RETURN(s.choice_fields, string_list(r, "choice_fields"));
    s.choices_field.clear();
  }
  if (r.has("choices_field")) {
    KANANA_ASSIGN_OR_RETURN(s.choices_field, r.get_string("choices_field"));
    s.choice_fields.clear();
  }
  s.answer_field = r.get_string_or("answer_field", s.answer_field, &e);
  if (!e.is_ok()) return e;
  s.answer_format = r.get_string_or("answer_format", s.answer_format, &e);
  if (!e.is_ok()) return e;
  if (s.answer_format != "auto" && s.answer_format != "index0" && s.answer_format != "index1" &&
      s.answer_format != "letter" && s.answer_format != "text") {
    return r.field_error("answer_format", "must be auto, index0, index1, letter or text, got \"" + s.answer_format + "\"");
  }
  s.category_field = r.get_string_or("category_field", s.category_field, &e);
  if (!e.is_ok()) return e;
  s.lang_field = r.get_string_or("lang_field", s.lang_field, &e);
  if (!e.is_ok()) return e;
  s.template_text = r.get_string_or("template", s.template_text, &e);
  if (!e.is_ok()) return e;
  s.description = r.get_string_or("description", s.description, &e);
  if (!e.is_ok()) return e;
  if (r.has("score")) {
    KANANA_ASSIGN_OR_RETURN(std::string score, r.get_string("score"));
    if (score != "letters" && score != "text") return r.field_error("score", "must be \"letters\" or \"text\"");
    s.score_letters = score == "letters";
  }
  if (r.has("labels")) {
    KANANA_ASSIGN_OR_RETURN(s.labels, string_list(r, "labels"));
  }
  s.target_delimiter = r.get_string_or("target_delimiter", s.target_delimiter, &e);
  if (!e.is_ok()) return e;
  s.fewshot_delimiter = r.get_string_or("fewshot_delimiter", s.fewshot_delimiter, &e);
  if (!e.is_ok()) return e;
  s.num_fewshot = int(r.get_int_or("num_fewshot", s.num_fewshot, &e));
  if (!e.is_ok()) return e;
  if (s.num_fewshot < 0) return r.field_error("num_fewshot", "must be >= 0");
  s.target_template = r.get_string_or("target", s.target_template, &e);
  if (!e.is_ok()) return e;
  if (r.has("stop")) {
    KANANA_ASSIGN_OR_RETURN(s.stop, string_list(r, "stop"));
  }
  s.max_new_tokens = int(r.get_int_or("max_new_tokens", s.max_new_tokens, &e));
  if (!e.is_ok()) return e;
  if (s.max_new_tokens < 1) return r.field_error("max_new_tokens", "must be >= 1");
  s.chat = r.get_bool_or("chat", s.chat, &e);
  if (!e.is_ok()) return e;
  if (r.has("filters")) {
    const Json& fl = json["filters"];
    if (!fl.is_array()) return r.field_error("filters", "must be a list of {name, kind, regex, take_last}");
    s.filters.clear();
    for (size_t i = 0; i < fl.size(); ++i) {
      JsonReader fr(fl[i], origin, "filters[" + std::to_string(i) + "]");
      if (!fl[i].is_object()) return r.field_error("filters[" + std::to_string(i) + "]", "must be an object");
      KANANA_RETURN_IF_ERROR(fr.check_no_unknown({"name", "kind", "regex", "take_last"}));
      AnswerFilter f;
      f.kind = fr.get_string_or("kind", "none", &e);
      if (!e.is_ok()) return e;
      if (f.kind != "none" && f.kind != "gsm8k" && f.kind != "last_number" && f.kind != "regex") {
        return fr.field_error("kind", "must be none, gsm8k, last_number or regex");
      }
      f.name = fr.get_string_or("name", f.kind, &e);
      if (!e.is_ok()) return e;
      f.regex = fr.get_string_or("regex", "", &e);
      if (!e.is_ok()) return e;
      if (f.kind == "regex" && f.regex.empty()) return fr.field_error("regex", "is required for kind regex");
      f.take_last = fr.get_bool_or("take_last", false, &e);
      if (!e.is_ok()) return e;
      s.filters.push_back(f);
    }
  }
  if (s.type == TaskType::kMultipleChoice && s.choice_fields.empty() && s.choices_field.empty() &&
      !(s.score_letters && !s.labels.empty())) {
    return r.field_error("choices_field", "or 'choice_fields' is required for a multiple-choice task");
  }
  return s;
}

Result<TaskSpec> read_task_spec(const fs::path& path) {
  KANANA_ASSIGN_OR_RETURN(Json j, read_json_file(path));
  return json_guard(path.string(), [&] { return parse_task_spec(j, path.string(), path.parent_path()); });
}

Result<TaskSpec> resolve_task(const fs::path& path, std::optional<Layout> layout) {
  if (path.extension() == ".json") return read_task_spec(path);
  if (!fs::exists(path)) return not_found(path.string() + ": task file not found");
  Layout l = Layout::kGeneric;
  if (layout) {
    l = *layout;
  } else {
    KANANA_ASSIGN_OR_RETURN(l, detect_layout(path));
  }
  return preset_spec(l, path);
}

namespace {

// A Python list literal as some releases store "options": ['a', "b's", ...].
std::optional<std::vector<std::string>> parse_list_literal(const std::string& text) {
  Json j = parse_json_or_discarded(text);
  if (!j.is_discarded() && j.is_array()) {
    std::vector<std::string> out;
    for (const auto& v : j) {
      if (!v.is_string()) return std::nullopt;
      out.push_back(v.get<std::string>());
    }
    return out;
  }
  std::string_view s = trim(text);
  if (s.size() < 2 || s.front() != '[' || s.back() != ']') return std::nullopt;
  std::vector<std::string> out;
  size_t i = 1;
  while (i < s.size() - 1) {
    while (i < s.size() - 1 && (s[i] == ' ' || s[i] == ',' || s[i] == '\n')) ++i;
    if (i >= s.size() - 1) break;
    const char q = s[i];
    if (q != '\'' && q != '"') return std::nullopt;
    std::string cur;
    ++i;
    bool closed = false;
    while (i < s.size() - 1) {
      if (s[i] == '\\' && i + 1 < s.size() - 1) {
        const char n = s[i + 1];
        cur += n == 'n' ? '\n' : n == 't' ? '\t' : n;
        i += 2;
        continue;
      }
      if (s[i] == q) {
        closed = true;
        ++i;
        break;
      }
      cur += s[i++];
    }
    if (!closed) return std::nullopt;
    out.push_back(cur);
  }
  return out;
}

// "B", "(B)", "B.", " b " -> 1 (within n); nullopt otherwise.
std::optional<int> letter_index(const std::string& raw, const std::vector<std::string>& labels, size_t n) {
  const std::string t(trim(raw));
  for (size_t i = 0; i < labels.size() && i < n; ++i) {
    if (t == labels[i]) return int(i);
  }
  std::string core;
  for (char c : t) {
    if (c == '(' || c == ')' || c == '.' || c == ' ') continue;
    core += c;
  }
  if (core.size() != 1 || !std::isalpha(static_cast<unsigned char>(core[0]))) return std::nullopt;
  const int idx = std::toupper(static_cast<unsigned char>(core[0])) - 'A';
  if (idx < 0) return std::nullopt;
  return idx;
}

struct ItemError {
  std::string field;
  std::string message;
};

// Fills options, continuations, gold, target, category, lang, text, description of `item`.
std::optional<ItemError> build_item(const TaskSpec& spec, const std::string& origin, TaskItem* item) {
  const Json& doc = item->doc;
  auto err = [&](const std::string& field, const std::string& what) {
    return ItemError{field, origin + ": field '" + field + "'" + (what[0] == ':' ? "" : " ") + what};
  };
  // Choices.
  if (spec.type == TaskType::kMultipleChoice) {
    if (!spec.choice_fields.empty()) {
      for (const auto& f : spec.choice_fields) {
        if (!doc.contains(f) || doc[f].is_null()) return err(f, "is missing");
        if (!doc[f].is_string() && !doc[f].is_number()) return err(f, "must be a string, got " + doc[f].dump());
        item->options.push_back(doc[f].is_string() ? doc[f].get<std::string>() : doc[f].dump());
      }
    } else if (!spec.choices_field.empty()) {
      const std::string& f = spec.choices_field;
      const bool optional_options = spec.layout == Layout::kHaerae;
      if (!doc.contains(f) || doc[f].is_null()) {
        if (!optional_options) return err(f, "is missing");
      } else if (doc[f].is_array()) {
        for (size_t i = 0; i < doc[f].size(); ++i) {
          const Json& v = doc[f][i];
          if (!v.is_string() && !v.is_number()) return err(f + "[" + std::to_string(i) + "]", "must be a string");
          item->options.push_back(v.is_string() ? v.get<std::string>() : v.dump());
        }
        if (item->options.empty()) return err(f, "is an empty choice list");
      } else if (doc[f].is_string()) {
        auto parsed = parse_list_literal(doc[f].get<std::string>());
        if (!parsed) return err(f, "must be a list of choices, got " + doc[f].dump().substr(0, 80));
        if (parsed->empty()) return err(f, "is an empty choice list");
        item->options = *parsed;
      } else {
        return err(f, "must be a list of choices, got " + doc[f].dump().substr(0, 80));
      }
    }
    if (item->options.empty()) {
      if (spec.score_letters && !spec.labels.empty()) {
        item->options = spec.labels;  // HAE-RAE without "options": the query lists them
      } else {
        return err(spec.choices_field.empty() ? "choices" : spec.choices_field, "is an empty choice list");
      }
    }
    const size_t n = item->options.size();
    const auto labels = labels_for(n, spec.labels);
    item->continuations = spec.score_letters ? labels : item->options;

    // Gold answer.
    const std::string& af = spec.answer_field;
    if (!doc.contains(af) || doc[af].is_null()) return err(af, "is missing");
    const Json& a = doc[af];
    std::string format = spec.answer_format;
    if (format == "auto") {
      if (a.is_number_integer()) {
        format = "index0";
      } else if (a.is_string() && letter_index(a.get<std::string>(), labels, n)) {
        format = "letter";
      } else {
        format = "text";
      }
    }
    int gold = -1;
    if (format == "index0" || format == "index1") {
      int64_t v = 0;
      if (a.is_number_integer()) {
        v = a.get<int64_t>();
      } else if (a.is_string() && !a.get<std::string>().empty() &&
                 a.get<std::string>().find_first_not_of("0123456789") == std::string::npos) {
        v = std::stoll(a.get<std::string>());
      } else {
        return err(af, "must be an integer, got " + a.dump());
      }
      const int64_t lo = format == "index1" ? 1 : 0;
      if (v < lo || v >= lo + int64_t(n)) {
        return err(af, ": " + std::to_string(v) + " is out of range " + std::to_string(lo) + ".." +
                           std::to_string(lo + int64_t(n) - 1) + " (" + std::to_string(n) + " choices)");
      }
      gold = int(v - lo);
    } else if (format == "letter") {
      if (!a.is_string()) return err(af, "must be a letter such as \"B\" or \"(B)\", got " + a.dump());
      auto idx = letter_index(a.get<std::string>(), labels, n);
      if (!idx) return err(af, "must be a letter such as \"B\" or \"(B)\", got " + a.dump());
      if (*idx >= int(n)) {
        return err(af, ": " + a.dump() + " is out of range " + labels.front() + ".." + labels.back() + " (" +
                           std::to_string(n) + " choices)");
      }
      gold = *idx;
    } else {  // text
      const std::string t = a.is_string() ? a.get<std::string>() : a.dump();
      for (size_t i = 0; i < n; ++i) {
        if (item->options[i] == t) gold = int(i);
      }
      if (gold < 0) return err(af, ": " + a.dump().substr(0, 80) + " is not one of the choices");
    }
    item->gold = gold;
  }
  // Prompt texts.
  auto text = render_template(spec.template_text, doc, item->options, spec.labels, origin);
  if (!text.is_ok()) {
    const std::string& m = text.status().message();
    const size_t q = m.find("field '");
    std::string field = q == std::string::npos ? "" : m.substr(q + 7, m.find('\'', q + 7) - q - 7);
    return ItemError{field, m};
  }
  item->text = *text;
  if (!spec.description.empty()) {
    auto d = render_template(spec.description, doc, item->options, spec.labels, origin);
    // A preset's description names an optional column (MMLU's subject): leave it out when absent.
    if (d.is_ok()) {
      item->description = *d;
    } else if (spec.layout == Layout::kGeneric) {
      return ItemError{"description", d.status().message()};
    }
  }
  if (spec.type == TaskType::kGenerate) {
    auto t = render_template(spec.target_template, doc, item->options, spec.labels, origin);
    if (!t.is_ok()) {
      const std::string& m = t.status().message();
      const size_t q = m.find("field '");
      return ItemError{q == std::string::npos ? "target" : m.substr(q + 7, m.find('\'', q + 7) - q - 7), m};
    }
    item->target = *t;
  }
  if (!spec.category_field.empty() && doc.contains(spec.category_field) && doc[spec.category_field].is_string()) {
    item->category = doc[spec.category_field].get<std::string>();
  }
  if (!spec.lang_field.empty() && doc.contains(spec.lang_field) && doc[spec.lang_field].is_string()) {
    item->lang = doc[spec.lang_field].get<std::string>();
  } else {
    item->lang = shards::guess_language(item->text);
  }
  return std::nullopt;
}

}  // namespace

Result<TaskItems> load_task_items(const TaskSpec& spec, const fs::path& path, bool skip_bad_items, int64_t limit) {
  auto src = data::open_byte_source(path);
  if (!src.is_ok()) return src.status().with_context("reading task file");
  data::LineReader lines(std::move(*src), 64ull << 20);
  data::LineReader::Line line;
  TaskItems out;
  while (true) {
    KANANA_ASSIGN_OR_RETURN(bool more, lines.next(&line));
    if (!more) break;
    if (!line.too_long && trim(line.text).empty()) continue;
    ++out.lines;
    const std::string origin = path.string() + ":" + std::to_string(line.number);
    std::optional<ItemError> bad;
    TaskItem item;
    item.line = int64_t(line.number);
    if (line.too_long) {
      bad = ItemError{"", origin + ": line is longer than 64 MiB"};
    } else {
      item.doc = parse_json_or_discarded(line.text);
      if (item.doc.is_discarded()) {
        bad = ItemError{"", origin + ": invalid JSON"};
      } else if (!item.doc.is_object()) {
        bad = ItemError{"", origin + ": expected a JSON object, got " + item.doc.dump().substr(0, 60)};
      } else {
        bad = build_item(spec, origin, &item);
      }
    }
    if (bad) {
      if (!skip_bad_items) {
        return invalid_argument(bad->message + " (use --skip-bad-items to run the other items)");
      }
      out.skipped.push_back({item.line, bad->field, bad->message});
      continue;
    }
    item.doc_id = int64_t(out.items.size());
    out.items.push_back(std::move(item));
    if (limit > 0 && int64_t(out.items.size()) >= limit) break;
  }
  if (out.items.empty()) {
    return invalid_argument(path.string() + ": no usable item" +
                            (out.skipped.empty() ? std::string(" (empty file)")
                                                 : " (" + std::to_string(out.skipped.size()) +
                                                       " bad, first: " + out.skipped.front().message + ")"));
  }
  return out;
}

}  // namespace kanana::eval
