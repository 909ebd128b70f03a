// The tool list rendered into a chat prompt, in the two formats of tokenizer/chat_template.h.
//
// Llama 3 (kLlama3) follows Meta's Llama 3.1 JSON tool-calling template
// (tools_in_user_message = true, the default):
//   <|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\n
//   Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n{system}<|eot_id|>
//   <|start_header_id|>user<|end_header_id|>\n\nGiven the following functions, please respond
//   with a JSON for a function call ... Do not use variables.\n\n{tool as JSON, indent 4}\n\n
//   ...{first user message}<|eot_id|>
// Calls come back as {"name": ..., "parameters": {...}}; results go in "ipython" turns (the
// chat template's "tool" role).
//
// ChatML (kChatMl, the project's tiny models) follows the Hermes/Qwen 2.5 layout: the system
// turn gets "# Tools" with one JSON signature per line inside <tools></tools> and asks for
// <tool_call>{"name": ..., "arguments": ...}</tool_call>.
//
// JSON keys come out sorted (nlohmann::json keeps objects ordered by key), where Python's
// json.dumps would keep the declaration order; models read both the same way.
#pragma once

#include <string>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "tokenizer/chat_template.h"

namespace kanana::tools {

struct ToolPromptOptions {
  std::string today;  // Llama 3.1 "Today Date" text ("26 Jul 2024"); empty = today's UTC date
};

// `tools` is an OpenAI "tools" array (ToolRegistry::openai_tools()); empty renders exactly like
// tok::render_with_spans. Assistant spans stay correct for SFT masking.
Result<tok::RenderedChat> render_chat_with_tools(tok::ChatTemplateKind kind, const std::vector<tok::ChatMessage>& messages,
                                                 const Json& tools, const tok::ChatRenderOptions& options = {},
                                                 const ToolPromptOptions& tool_options = {});

// The instruction block alone (for display and tests): what precedes the first user message
// (Llama 3) or follows the system text (ChatML).
std::string tool_instructions(tok::ChatTemplateKind kind, const Json& tools);

}  // namespace kanana::tools
