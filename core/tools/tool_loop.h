// The function-calling loop: generate → parse tool calls → validate, confirm, execute → feed
// the results back as "tool" messages → generate again, until the model answers without a
// call or the step limit is reached. The model is a callback, so the loop runs the same with a
// real checkpoint (chat/chat_model.h), a remote API or a scripted fake in tests.
//
// Threading: run_tool_loop() runs on the caller's thread (a worker, never the GUI thread); the
// generate, confirm and event callbacks are called on that thread.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/progress.h"
#include "base/status.h"
#include "tokenizer/chat_template.h"
#include "tools/tool.h"

namespace kanana::tools {

// Produce the next assistant output for `messages` (the conversation so far, tool results
// included) given the declared `tools` (an OpenAI tools array). Returns the raw output text.
using GenerateFunction = std::function<Result<std::string>(const std::vector<tok::ChatMessage>& messages, const Json& tools)>;

struct ToolLoopOptions {
  int max_steps = 5;  // model calls at most; the last one may still call tools (stop_reason "step_limit")
};

// One thing that happened, for transcripts and progress.
struct ToolEvent {
  enum class Kind { kAssistant, kCall, kResult, kParseError, kFinal };
  Kind kind = Kind::kAssistant;
  int step = 0;           // 1-based model call this belongs to
  std::string text;       // kAssistant: raw output; kFinal: the answer; kParseError: the message
  ToolCall call;          // kCall / kResult
  ToolOutcome outcome;    // kResult
};
using ToolEventFunction = std::function<void(const ToolEvent&)>;

struct ToolLoopResult {
  std::string answer;         // the final assistant text ("" when stopped early)
  std::string stop_reason;    // "answer" | "step_limit" | "cancelled"
  int steps = 0;              // model calls made
  int tool_calls = 0;         // calls executed (successful or not)
  std::vector<ToolEvent> events;
};

// Appends the assistant, tool and final messages to `messages` as it goes (OpenAI shapes:
// assistant messages carry tool_calls, tool messages carry tool_call_id and name). A
// generation failure is returned as the Status (the messages so far stay appended).
Result<ToolLoopResult> run_tool_loop(const ToolRegistry& registry, std::vector<tok::ChatMessage>& messages,
                                     const GenerateFunction& generate, const ToolLoopOptions& options = {},
                                     const ConfirmFunction& confirm = {}, const ToolEventFunction& on_event = {},
                                     const CancelToken* cancel = nullptr);

const char* tool_event_kind_name(ToolEvent::Kind kind);  // "assistant", "call", "result", "parse_error", "final"

}  // namespace kanana::tools
