// Tool calls out of free model text. Models write calls in many shapes; all of these are read:
//   {"name": "calculator", "parameters": {"expression": "2+2"}}          (Llama 3.1 JSON calling)
//   <|python_tag|>{"name": ..., "arguments": {...}}                        (Llama 3.1 ipython tag)
//   <tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>           (ChatML / Hermes)
//   ```json\n{"name": ...}\n```                                            (code fences)
//   [{"name": ...}, {"name": ...}]   or several objects separated by newlines / ';'
//   {"function": {"name": ..., "arguments": "{\"x\": 1}"}}, {"tool_calls": [...]}  (OpenAI)
// with text before or after. Arguments given as a JSON string are parsed.
//
// A call that cannot be read (unbalanced braces, invalid JSON, no "name", arguments that are
// not an object) becomes a ParseError whose message says what is wrong and where, to be fed
// back to the model as a tool result; parsing never throws.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tools/tool.h"

namespace kanana::tools {

struct ToolCallParseError {
  std::string message;  // "tool call at byte 12 is not valid JSON: ..."
  std::string snippet;  // the offending text (shortened)
};

struct ParsedToolCalls {
  std::vector<ToolCall> calls;             // ids "call_<first_id>", "call_<first_id+1>" ...
  std::vector<ToolCallParseError> errors;
  std::string text;                        // the output without the call markup, trimmed
  bool attempted() const { return !calls.empty() || !errors.empty(); }
};

// `first_id` numbers the calls so ids stay unique across the steps of one conversation.
ParsedToolCalls parse_tool_calls(std::string_view output, int first_id = 1);

}  // namespace kanana::tools
