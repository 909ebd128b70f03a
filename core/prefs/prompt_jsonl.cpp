// Prompt JSONL import (see prompt_jsonl.h).
#include "prefs/prompt_jsonl.h"

#include <fstream>

#include "base/files.h"
#include "prefs/conversation.h"

namespace kanana::prefs {

namespace {

Result<PromptInput> parse_prompt_line(const Json& line, const std::string& origin) {
  if (!line.is_object()) return invalid_argument(origin + ": a line must be a JSON object");
  PromptInput in;
  if (line.contains("prompt") && !line["prompt"].is_null()) {
    const Json& p = line["prompt"];
    if (p.is_string()) {
      if (p.get_ref<const std::string&>().empty()) return invalid_argument(origin + ": field 'prompt' is empty");
      in.messages = Json::array();
      if (line.contains("system")) {
        if (!line["system"].is_string()) return invalid_argument(origin + ": field 'system' must be a string");
        if (!line["system"].get_ref<const std::string&>().empty())
          in.messages.push_back({{"role", "system"}, {"content", line["system"]}});
      }
      in.messages.push_back({{"role", "user"}, {"content", p}});
    } else if (p.is_array()) {
      in.messages = p;
    } else {
      return invalid_argument(origin + ": field 'prompt' must be a string or a list of messages");
    }
  } else if (line.contains("messages")) {
    in.messages = line["messages"];
    if (!in.messages.is_array()) return invalid_argument(origin + ": field 'messages' must be a list of messages");
    while (!in.messages.empty() && in.messages.back().is_object() &&
           in.messages.back().value("role", std::string()) == "assistant")
      in.messages.erase(in.messages.size() - 1);
  } else {
    return invalid_argument(origin + ": field 'prompt' (or 'messages') is required");
  }
  if (in.messages.empty()) return invalid_argument(origin + ": the prompt has no messages");
  KANANA_RETURN_IF_ERROR(check_messages(in.messages, origin));
  if (line.contains("lang")) {
    if (!line["lang"].is_string()) return invalid_argument(origin + ": field 'lang' must be a string");
    in.lang = line["lang"].get<std::string>();
  }
  in.meta = Json::object();
  for (auto it = line.begin(); it != line.end(); ++it)
    if (it.key() != "prompt" && it.key() != "messages" && it.key() != "system" && it.key() != "lang")
      in.meta[it.key()] = it.value();
  return in;
}

}  // namespace

Result<PromptImportReport> import_prompts(PrefStore& store, int64_t prompt_set_id, const std::filesystem::path& file,
                                          bool strict) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return errno_status(file, "opening");
  PromptImportReport report;
  KANANA_ASSIGN_OR_RETURN(auto index, store.prompt_index(prompt_set_id));
  KANANA_ASSIGN_OR_RETURN(auto scope, WriteScope::begin(store.workspace().db()));
  const std::string name = file.filename().string();
  std::string text;
  uint64_t line_no = 0;
  while (std::getline(in, text)) {
    ++line_no;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    ++report.lines;
    const std::string origin = name + ":" + std::to_string(line_no);
    Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    Result<PromptInput> parsed = j.is_discarded() ? Result<PromptInput>(invalid_argument(origin + ": not valid JSON"))
                                                  : parse_prompt_line(j, origin);
    if (!parsed.is_ok()) {
      if (strict) return parsed.status();
      report.problems.push_back(parsed.status().message());
      continue;
    }
    const std::string key = canonical_json(parsed->messages);
    if (auto it = index.find(key); it != index.end()) {
      ++report.duplicates;
      report.prompt_ids.push_back(it->second);
      continue;
    }
    KANANA_ASSIGN_OR_RETURN(const int64_t id, store.add_prompt(prompt_set_id, *parsed));
    index.emplace(key, id);
    ++report.added;
    report.prompt_ids.push_back(id);
  }
  if (in.bad()) return errno_status(file, "reading");
  KANANA_RETURN_IF_ERROR(scope->commit());
  return report;
}

}  // namespace kanana::prefs
