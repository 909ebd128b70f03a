// Chat templates: turn role/content messages into the text a chat model was trained on.
//
// Two formats:
//  - kLlama3: Meta's Llama 3 header format, used by Kanana instruct models:
//      <|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n{content}<|eot_id|>
//      <|start_header_id|>user<|end_header_id|>\n\n{content}<|eot_id|>
//      <|start_header_id|>assistant<|end_header_id|>\n\n            (generation prompt)
//    Content is trimmed like the reference Jinja template (`| trim`). A "tool" message is
//    rendered with the Llama 3.1 role name "ipython"; assistant tool_calls are appended as
//    one {"name": ..., "parameters": ...} JSON object per line.
//  - kChatMl: the project's own format for its tiny SentencePiece models (ChatML style):
//      <|im_start|>system\n{content}<|im_end|>\n<|im_start|>user\n{content}<|im_end|>\n
//      <|im_start|>assistant\n                                       (generation prompt)
//    A tool message's header line is "tool" plus " {tool_call_id}" when set; assistant
//    tool_calls are appended as <tool_call>\n{"name": ..., "arguments": ...}\n</tool_call>.
//    Train such models with chat_special_tokens(kChatMl) as user-defined symbols, so each
//    marker is one piece (SentencePieceTokenizer treats "<|...|>" symbols as special).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "tokenizer/tokenizer.h"

namespace kanana::tok {

struct ChatMessage {
  std::string role;                        // "system" | "user" | "assistant" | "tool"
  std::string content;
  std::optional<std::string> name;         // optional speaker/tool name
  std::optional<std::string> tool_call_id; // for role "tool": the call this answers
  Json tool_calls;                         // assistant: OpenAI-style [{"function": {"name", "arguments"}}]
};

enum class ChatTemplateKind { kLlama3, kChatMl };

const char* chat_template_name(ChatTemplateKind kind);  // "llama3" | "chatml"
Result<ChatTemplateKind> parse_chat_template_name(const std::string& name);

struct ChatRenderOptions {
  bool add_generation_prompt = true;  // end with the assistant header, ready to generate
  bool add_bos = true;                // Llama 3: start with <|begin_of_text|>
};

struct RenderedChat {
  std::string text;
  // [begin, end) byte ranges of each assistant turn's content plus its end marker
  // (<|eot_id|> / <|im_end|>): the tokens an SFT loss should be computed on.
  std::vector<std::pair<size_t, size_t>> assistant_spans;
};

Result<RenderedChat> render_with_spans(ChatTemplateKind kind, const std::vector<ChatMessage>& messages,
                                       const ChatRenderOptions& options = {});
Result<std::string> render_chat(ChatTemplateKind kind, const std::vector<ChatMessage>& messages,
                                const ChatRenderOptions& options = {});

// Texts that end an assistant turn, and their ids in `tokenizer` (those it has).
std::vector<std::string> chat_stop_strings(ChatTemplateKind kind);
std::vector<int32_t> chat_stop_ids(ChatTemplateKind kind, const Tokenizer& tokenizer);
// Special tokens the format needs in the vocabulary.
std::vector<std::string> chat_special_tokens(ChatTemplateKind kind);

// Pick the format for a tokenizer file or model folder: tokenizer_config.json's chat_template
// containing "start_header_id" means Llama 3, "<|im_start|>" means ChatML; without one the
// tokenizer's own special tokens decide.
Result<ChatTemplateKind> detect_chat_template(const std::filesystem::path& tokenizer_or_model_dir);
Result<ChatTemplateKind> detect_chat_template(const Tokenizer& tokenizer);

// Parse {"role", "content", "name", "tool_call_id", "tool_calls"} objects (messages arrays of
// TRL/OpenAI JSON); errors name `origin` and the index.
Result<std::vector<ChatMessage>> parse_chat_messages(const Json& messages, const std::string& origin);

}  // namespace kanana::tok
