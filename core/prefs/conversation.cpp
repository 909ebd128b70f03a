// Prompt and reply conversations <-> prompts/candidates rows.
#include "prefs/conversation.h"

#include "base/json.h"
#include "tokenizer/chat_template.h"

namespace kanana::prefs {

Status check_messages(const Json& messages, const std::string& origin) {
  auto parsed = tok::parse_chat_messages(messages, origin);
  return parsed.status();
}

Json prompt_messages(const store::PromptRecord& prompt) {
  Json meta = parse_json_or_discarded(prompt.meta_json.empty() ? "{}" : prompt.meta_json);
  if (meta.is_object() && meta.contains("messages") && meta["messages"].is_array()) {
    Json messages = meta["messages"];
    const bool ends_with_user = !messages.empty() && messages.back().is_object() &&
                                messages.back().value("role", std::string()) == "user";
    if (!ends_with_user && !prompt.text.empty()) messages.push_back({{"role", "user"}, {"content", prompt.text}});
    return messages;
  }
  Json messages = Json::array();
  if (!prompt.system.empty()) messages.push_back({{"role", "system"}, {"content", prompt.system}});
  messages.push_back({{"role", "user"}, {"content", prompt.text}});
  return messages;
}

namespace {

bool is_plain_message(const Json& m, const char* role) {
  return m.is_object() && m.size() == 2 && m.contains("role") && m.contains("content") && m["role"].is_string() &&
         m["role"].get_ref<const std::string&>() == role && m["content"].is_string();
}

}  // namespace

Status set_prompt_messages(store::PromptRecord* row, const Json& messages, const Json& meta) {
  if (!messages.is_array() || messages.empty()) return invalid_argument("a prompt needs at least one message");
  Json merged = meta.is_object() ? meta : Json::object();
  merged.erase("messages");
  const size_t n = messages.size();
  const bool simple = is_plain_message(messages[n - 1], "user") &&
                      (n == 1 || (n == 2 && is_plain_message(messages[0], "system") &&
                                  !messages[0]["content"].get_ref<const std::string&>().empty()));
  row->system.clear();
  row->text.clear();
  if (simple) {
    row->text = messages[n - 1]["content"].get<std::string>();
    if (n == 2) row->system = messages[0]["content"].get<std::string>();
  } else {
    merged["messages"] = messages;
    // The columns still say what the prompt is about for readers that only look at them.
    for (size_t i = n; i-- > 0;) {
      if (messages[i].is_object() && messages[i].value("role", std::string()) == "user" &&
          messages[i].contains("content") && messages[i]["content"].is_string()) {
        row->text = messages[i]["content"].get<std::string>();
        break;
      }
    }
    // prompt_messages() appends `text` to a conversation that does not end with a user
    // turn; keep text empty then, so reading gives back exactly `messages`.
    if (!messages[n - 1].is_object() || messages[n - 1].value("role", std::string()) != "user") row->text.clear();
    if (messages[0].is_object() && messages[0].value("role", std::string()) == "system" &&
        messages[0].contains("content") && messages[0]["content"].is_string())
      row->system = messages[0]["content"].get<std::string>();
  }
  row->meta_json = merged.dump();
  return Status::ok();
}

Json candidate_reply(const store::CandidateRecord& candidate, const Json& candidate_meta) {
  if (candidate_meta.is_object() && candidate_meta.contains("messages") && candidate_meta["messages"].is_array())
    return candidate_meta["messages"];
  return plain_reply(candidate.text);
}

std::string reply_text(const Json& reply) {
  if (reply.is_string()) return reply.get<std::string>();
  if (!reply.is_array()) return {};
  for (size_t i = reply.size(); i-- > 0;) {
    const Json& m = reply[i];
    if (m.is_object() && m.value("role", std::string()) == "assistant" && m.contains("content") &&
        m["content"].is_string())
      return m["content"].get<std::string>();
  }
  return {};
}

bool is_plain_reply(const Json& reply) {
  return reply.is_array() && reply.size() == 1 && is_plain_message(reply[0], "assistant");
}

Json plain_reply(const std::string& text) {
  return Json::array({Json{{"role", "assistant"}, {"content", text}}});
}

std::string canonical_json(const Json& value) {
  // nlohmann::json keeps object keys in a std::map, so dump() is already key-sorted.
  return value.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

Result<Json> parse_object_column(const std::string& text, const std::string& what) {
  if (text.empty()) return Json::object();
  Json j = parse_json_or_discarded(text);
  if (j.is_discarded() || !j.is_object()) return data_loss(what + " is not a JSON object: " + text.substr(0, 80));
  return j;
}

}  // namespace kanana::prefs
