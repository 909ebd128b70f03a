// Chat messages (a TRL/OpenAI "messages" array) parsed and rendered in both chat formats.
#include "base/json.h"
#include "fuzz_target.h"
#include "tokenizer/chat_template.h"

KANANA_FUZZ_TARGET(chat_template) {
  auto json = kanana::parse_json(kanana::fuzz::as_text(data, size), "messages.json");
  if (!json.is_ok()) return 0;
  auto messages = kanana::tok::parse_chat_messages(*json, "messages.json");
  if (!messages.is_ok()) return 0;
  for (auto kind : {kanana::tok::ChatTemplateKind::kLlama3, kanana::tok::ChatTemplateKind::kChatMl}) {
    auto r = kanana::tok::render_with_spans(kind, *messages);
    if (!r.is_ok()) continue;
    for (const auto& [b, e] : r->assistant_spans) {
      if (b > e || e > r->text.size()) std::abort();  // spans must lie inside the text
    }
  }
  return 0;
}
