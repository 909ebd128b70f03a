// A checkpoint ready to chat: model + tokenizer + chat template behind a Torch-free header, so
// the `kanana chat` command and the Playground (Qt) share one path from messages to streamed
// reply. Renders the conversation (with a tool list when given, tools/tool_prompt.h), encodes
// it, keeps it inside the model's context (oldest turns after the system message are dropped
// first), generates with the chat format's stop tokens, and streams text as it comes.
//
// A tokenizer without chat tokens (e.g. a base model trained on plain text) still chats: the
// ChatML markers are then encoded as ordinary text and caught as stop strings; warnings() says so.
//
// Threading: one ChatModel is used from one thread at a time (load it on the worker that uses
// it); cancel() / CancelToken::cancel() may come from any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/progress.h"
#include "base/status.h"
#include "model/sampling_options.h"
#include "tokenizer/chat_template.h"
#include "tools/tool_loop.h"

namespace kanana::chat {

// The sampling controls shared by `kanana chat` and the Playground: the common settings
// (model/sampling_options.h) with chat's own defaults, and extra stop strings.
struct ChatSampling : model::SamplingOptions {
  std::vector<std::string> stop;  // extra stop strings

  ChatSampling() {
    max_new_tokens = 256;
    temperature = model::kChatTemperature;
    top_p = model::kChatTopP;
  }

  Json to_json() const;  // for conversation metadata and candidates.sampling_json
  // The object to_json() writes; unknown keys and values outside the table's ranges are errors
  // naming `origin` and the field ("conv.json: field 'sampling.top_p' must be in (0, 1], got 0").
  static Result<ChatSampling> from_json(const Json& j, const std::string& origin);
};
// The sampling table plus "stop".
const OptionTable<ChatSampling>& chat_sampling_fields();

struct ChatModelOptions {
  std::filesystem::path tokenizer;  // empty: the model folder, then <run>/tokenizer for <run>/checkpoints/step-N
  std::string dtype = "f32";        // LibTorch's compute dtype: f32 | bf16
  // "" = LibTorch in `dtype`; f32 | bf16 | int8 | q4 = the Torch-free CPU engine
  // (infer/llama_engine.h) with every weight in that format. A folder written by
  // `kanana model quantize` always runs on the engine, in its stored format.
  std::string weights;
  std::string chat_template;        // "" = detect; "llama3" | "chatml"
  int threads = 0;                  // compute threads (LibTorch intra-op or the engine's); 0 = all / leave as is
};

// What the model will see: the rendered text and its token ids (the Playground's raw view).
struct RenderedPrompt {
  std::string text;
  std::vector<int32_t> ids;
  int dropped_messages = 0;  // oldest turns left out to fit the context
};

struct ChatReply {
  std::string text;              // cut before the stop string
  std::vector<int32_t> ids;      // generated ids (without the stop token)
  std::string stop_reason;       // stop_token | stop_string | length | callback | cancelled
  int64_t prompt_tokens = 0;
  int64_t generated_tokens = 0;
  int dropped_messages = 0;
  double prefill_seconds = 0, decode_seconds = 0;
  double tokens_per_second() const;  // decode speed (first token excluded: it comes from prefill)
};

// Called with each new piece of text; return false to stop.
using TextCallback = std::function<bool(const std::string& text)>;

class ChatModel {
 public:
  static Result<std::unique_ptr<ChatModel>> load(const std::filesystem::path& dir, const ChatModelOptions& options = {});
  ~ChatModel();
  ChatModel(const ChatModel&) = delete;
  ChatModel& operator=(const ChatModel&) = delete;

  const std::filesystem::path& dir() const;
  tok::ChatTemplateKind template_kind() const;
  bool has_chat_tokens() const;
  int64_t context_length() const;
  int64_t parameter_count() const;
  // How the model runs, for the status line: "LibTorch f32", "CPU engine q4 (2 threads)".
  std::string backend() const;
  // Bytes of weights in memory (the engine's converted weights, or LibTorch's parameters).
  uint64_t weight_bytes() const;
  const std::vector<std::string>& warnings() const;

  // Messages (+ an OpenAI tools array, possibly empty) → the prompt text and ids, fitted to
  // the context with room for `reserve` new tokens.
  Result<RenderedPrompt> render(const std::vector<tok::ChatMessage>& messages, const Json& tools = Json::array(),
                                int64_t reserve = 0) const;
  std::string piece(int32_t id) const;  // the token's vocabulary piece, for the raw view

  Result<ChatReply> reply(const std::vector<tok::ChatMessage>& messages, const Json& tools, const ChatSampling& sampling,
                          const TextCallback& on_text = {}, const CancelToken* cancel = nullptr);

  // The tool loop's model: each step streams through `on_text`; `last_reply` (optional) gets
  // the statistics of the latest step.
  tools::GenerateFunction tool_generator(ChatSampling sampling, TextCallback on_text, const CancelToken* cancel,
                                         ChatReply* last_reply = nullptr);

 private:
  struct Impl;
  explicit ChatModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Model folders to offer in pickers: folders under `dir` (recursively, depth 4) holding a
// config.json and *.safetensors, sorted by path. Training runs' checkpoints/step-N included.
std::vector<std::filesystem::path> find_model_folders(const std::filesystem::path& dir, int max_depth = 4);

}  // namespace kanana::chat
