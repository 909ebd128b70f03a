// Conversations as the annotation store keeps them: JSON arrays of OpenAI/TRL messages
// ({"role", "content", "name", "tool_call_id", "tool_calls"}), kept as JSON so fields the
// store does not interpret survive every round trip. A prompt is the conversation before the
// reply (normally ending with a user turn); a reply is one or more messages starting with an
// assistant turn.
//
// How a prompts row maps to a conversation (the Playground writes rows the same way):
//   meta_json.messages present: that array is the conversation; when it does not end with a
//     user turn and `text` is not empty, {"role": "user", "content": text} is appended.
//   otherwise: [{"role": "system", "content": system}] (when system is not empty) followed by
//     [{"role": "user", "content": text}].
// Writing goes the other way: a [system?, user] conversation is stored in the text/system
// columns alone; anything else also keeps the whole array in meta_json.messages.
#pragma once

#include <string>

#include "base/json.h"
#include "base/status.h"
#include "store/workspace.h"

namespace kanana::prefs {

// Checks a messages array (roles, string content); errors name `origin` and the index.
Status check_messages(const Json& messages, const std::string& origin);

// The prompt row's conversation (see above).
Json prompt_messages(const store::PromptRecord& prompt);

// Fills text, system and meta_json (merging `meta`) of `row` from a prompt conversation.
// The conversation must not be empty.
Status set_prompt_messages(store::PromptRecord* row, const Json& messages, const Json& meta = Json::object());

// A candidate's reply: meta_json.messages when present, else one assistant message with the
// candidate's text.
Json candidate_reply(const store::CandidateRecord& candidate, const Json& candidate_meta);
// The text a candidate row stores for a reply: the content of its last assistant message.
std::string reply_text(const Json& reply);
// True when the reply is exactly [{"role": "assistant", "content": <string>}].
bool is_plain_reply(const Json& reply);
Json plain_reply(const std::string& text);

// Stable text of a JSON value (object keys sorted, no spaces): equal values, equal text.
std::string canonical_json(const Json& value);

// Parses a JSON object column ("{}" when empty); a malformed value is an error naming `what`.
Result<Json> parse_object_column(const std::string& text, const std::string& what);

}  // namespace kanana::prefs
