// The multi-step function-calling loop (see tool_loop.h).
#include "tools/tool_loop.h"

#include "tools/tool_call_parser.h"

namespace kanana::tools {

const char* tool_event_kind_name(ToolEvent::Kind kind) {
  switch (kind) {
    case ToolEvent::Kind::kAssistant: return "assistant";
    case ToolEvent::Kind::kCall: return "call";
    case ToolEvent::Kind::kResult: return "result";
    case ToolEvent::Kind::kParseError: return "parse_error";
    case ToolEvent::Kind::kFinal: return "final";
  }
  return "?";
}

Result<ToolLoopResult> run_tool_loop(const ToolRegistry& registry, std::vector<tok::ChatMessage>& messages,
                                     const GenerateFunction& generate, const ToolLoopOptions& options,
                                     const ConfirmFunction& confirm, const ToolEventFunction& on_event,
                                     const CancelToken* cancel) {
  if (options.max_steps < 1) return invalid_argument("max_steps must be at least 1");
  if (!generate) return invalid_argument("run_tool_loop needs a generate function");
  ToolLoopResult result;
  const Json tools = registry.openai_tools();
  const auto emit = [&](ToolEvent e) {
    if (on_event) on_event(e);
    result.events.push_back(std::move(e));
  };
  // Ids stay unique over the whole conversation, including earlier loops.
  int next_id = 1;
  for (const auto& m : messages)
    if (m.tool_calls.is_array()) next_id += static_cast<int>(m.tool_calls.size());

  for (int step = 1; step <= options.max_steps; ++step) {
    if (cancel && cancel->is_cancelled()) {
      result.stop_reason = "cancelled";
      return result;
    }
    KANANA_ASSIGN_OR_RETURN(std::string output, generate(messages, tools));
    result.steps = step;
    emit({ToolEvent::Kind::kAssistant, step, output, {}, {}});
    if (cancel && cancel->is_cancelled()) {
      result.stop_reason = "cancelled";
      return result;
    }
    ParsedToolCalls parsed = parse_tool_calls(output, next_id);
    next_id += static_cast<int>(parsed.calls.size() + parsed.errors.size());
    if (!parsed.attempted()) {
      messages.push_back({"assistant", output});
      result.answer = output;
      result.stop_reason = "answer";
      emit({ToolEvent::Kind::kFinal, step, output, {}, {}});
      return result;
    }

    if (!parsed.errors.empty()) {
      // Nothing of a malformed output runs: the model sees what it wrote and why it failed,
      // and writes the calls again.
      messages.push_back({"assistant", output});
      std::string why;
      for (const auto& err : parsed.errors) {
        emit({ToolEvent::Kind::kParseError, step, err.message, {}, {}});
        why += (why.empty() ? "" : "; ") + err.message;
      }
      tok::ChatMessage m{"tool", Json{{"error", why + ". No tool was run. Reply with valid JSON tool calls, or answer "
                                                      "directly."}}.dump(-1, ' ', false, Json::error_handler_t::replace)};
      m.name = "error";
      messages.push_back(std::move(m));
      continue;
    }
    tok::ChatMessage assistant{"assistant", parsed.text};
    assistant.tool_calls = Json::array();
    for (const auto& c : parsed.calls) assistant.tool_calls.push_back(c.to_openai());
    messages.push_back(assistant);

    for (const auto& call : parsed.calls) {
      if (cancel && cancel->is_cancelled()) {
        result.stop_reason = "cancelled";
        return result;
      }
      emit({ToolEvent::Kind::kCall, step, {}, call, {}});
      ToolContext context;
      context.cancel = cancel;
      ToolOutcome outcome = registry.execute(call, confirm, context);
      ++result.tool_calls;
      tok::ChatMessage m{"tool", outcome.content()};
      m.name = call.name;
      m.tool_call_id = call.id;
      messages.push_back(std::move(m));
      emit({ToolEvent::Kind::kResult, step, {}, call, std::move(outcome)});
    }
  }
  result.stop_reason = "step_limit";
  return result;
}

}  // namespace kanana::tools
