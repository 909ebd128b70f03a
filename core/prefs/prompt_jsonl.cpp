// Prompt JSONL import (see prompt_jsonl.h).
#include "prefs/prompt_jsonl.h"

#include "base/jsonl.h"
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
  PromptImportReport report;
  KANANA_ASSIGN_OR_RETURN(auto index, store.prompt_index(prompt_set_id));
  KANANA_ASSIGN_OR_RETURN(auto scope, WriteScope::begin(store.workspace().db()));
  KANANA_ASSIGN_OR_RETURN(
      JsonlReport lines,
      read_jsonl(
          file,
          [&](JsonlLine& line) -> Status {
            KANANA_ASSIGN_OR_RETURN(PromptInput parsed, parse_prompt_line(line.value, line.origin));
            const std::string key = canonical_json(parsed.messages);
            if (auto it = index.find(key); it != index.end()) {
              ++report.duplicates;
              report.prompt_ids.push_back(it->second);
              return Status::ok();
            }
            auto id = store.add_prompt(prompt_set_id, parsed);
            if (!id.is_ok()) return id.status();
            index.emplace(key, *id);
            ++report.added;
            report.prompt_ids.push_back(*id);
            return Status::ok();
          },
          {.skip_bad_lines = !strict, .name = file.filename().string()}));
  report.lines = lines.lines;
  report.problems = lines.messages();
  KANANA_RETURN_IF_ERROR(scope->commit());
  return report;
}

}  // namespace kanana::prefs
