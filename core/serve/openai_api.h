// The OpenAI HTTP API's JSON, without the HTTP: request bodies of /v1/chat/completions and
// /v1/completions read into one struct with errors that name the field, the prompt built with the
// model's chat template (and the tool prompt when tools are given), and the response pieces
// (error objects, choices, tool calls, response_format validation).
//
// Reading a request throws ApiError (only this module throws it; server.cpp catches it at the
// handler boundary and answers with error_json()).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"
#include "model/sampling_options.h"
#include "serve/generation.h"
#include "tokenizer/chat_template.h"

namespace kanana::serve {

class ServedModel;

// An error answer in OpenAI's shape: {"error": {"message", "type", "param", "code"}}.
struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;  // the offending field ("" = null)
  std::string code;   // "" = null
};
Json error_json(const ApiError& error);

// What a chat or completion request asks for.
struct CompletionRequest {
  bool chat = true;
  std::string model;
  bool stream = false;
  bool include_usage = false;                 // stream_options.include_usage
  int64_t n = 1;
  std::optional<int64_t> max_tokens;          // max_completion_tokens or max_tokens
  model::SamplingOptions sampling;            // temperature, top_p, seed (OpenAI's defaults: 1, 1)
  bool seed_given = false;
  std::vector<std::string> stop;              // at most 4, as OpenAI
  bool logprobs = false;
  int64_t top_logprobs = 0;                   // 0..20
  // Chat.
  std::vector<tok::ChatMessage> messages;
  Json tools = Json::array();                 // OpenAI tools (functions), as rendered into the prompt
  std::string tool_choice = "auto";           // none | auto | required | a function's name
  std::string response_format = "text";       // text | json_object | json_schema
  Json json_schema;                           // response_format.json_schema.schema
  // Completion: one prompt per entry (choices are numbered prompt-major).
  std::vector<std::string> prompts;
};

// Throws ApiError (400 naming the field) for a wrong type or value.
CompletionRequest parse_completion_request(const Json& body, bool chat);

// The prompt's ids for `request` (chat: the template, tools included; completion: prompt `index`).
// Throws ApiError 400 when the template refuses the messages.
std::vector<int32_t> build_prompt(const CompletionRequest& request, const ServedModel& model, size_t index = 0);

// The assistant message of a finished chat choice: {"role", "content", ["tool_calls"]}, with the
// finish reason turned into "tool_calls" when the text holds calls and tools were offered.
struct ChatReply {
  Json message;
  std::string finish_reason;
};
ChatReply chat_reply(const CompletionRequest& request, const std::string& text, const std::string& finish_reason,
                     int first_call_id);

// response_format json_object / json_schema: whether `text` is a JSON object (matching the
// schema); the errors otherwise. Empty object for "text".
Json validate_response_format(const CompletionRequest& request, const std::string& text);

// OpenAI's logprobs object for chat ({"content": [...]}) or completions ({"tokens", ...}).
Json logprobs_json(const std::vector<TokenLogprob>& logprobs, bool chat);

// JSON text that never throws on invalid UTF-8 (replaced by U+FFFD).
std::string dump(const Json& value);

}  // namespace kanana::serve
