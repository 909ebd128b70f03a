// One sequence generated on the CPU engine, from prompt ids to streamed text, with the project's
// sampling (TokenSampler), stop ids and stop strings (held back until they cannot be the start
// of one). The loop shared by `kanana generate --weights`, `kanana chat --weights` and the
// Playground (through chat::ChatModel); like model::generate for LibTorch, it reports the same
// stop reasons and timings. Nothing is allocated per token by the engine or the sampler.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/progress.h"
#include "base/status.h"
#include "infer/llama_engine.h"
#include "infer/sampling.h"
#include "model/sampling_options.h"
#include "tokenizer/stop_strings.h"
#include "tokenizer/tokenizer.h"

namespace kanana::infer {

struct TextRequest {
  model::SamplingOptions sampling;         // max_new_tokens (clipped to the context) and seed included
  std::vector<int32_t> stop_ids;           // besides config.json's eos ids
  std::vector<std::string> stop_strings;
};

struct TextResult {
  std::string text;            // cut before a stop string
  std::vector<int32_t> ids;    // generated ids, without the stop token
  std::string stop_reason;     // stop_token | stop_string | length | callback | cancelled
  int64_t prompt_tokens = 0;
  int64_t generated_tokens = 0;  // including a stop token
  double prefill_seconds = 0, decode_seconds = 0;
  // Decode speed: the first token comes from the prefill's logits, so decode made n - 1 steps.
  double decode_tokens_per_second() const;
};

// One sequence's decoding state after its prompt: samples each token with the project's
// sampling (TokenSampler, which sees the whole sequence for repetition penalties), ends at a
// stop id, a stop string or max_new tokens, and turns ids into text with stop strings held
// back until they cannot be the start of one. generate_text drives one over a single
// sequence; the server's batch scheduler (serve/batch_scheduler.h) drives one per slot.
class TokenStream {
 public:
  // `stop_strings` (nullptr: none) must outlive the stream.
  TokenStream(const model::SamplingOptions& sampling, std::vector<int32_t> stop_ids,
              const std::vector<std::string>* stop_strings, int64_t vocab_size,
              std::shared_ptr<const tok::Tokenizer> tokenizer, std::span<const int32_t> prompt, int64_t max_new);

  struct Token {
    int32_t id = 0;
    std::string text;    // the text now safe to show (when the sequence ended: all that was held back)
    bool ended = false;
    std::string reason;  // when ended: stop_token | stop_string | length
  };
  // The next token from the logits of the sequence so far. Logits with a NaN or +Inf (weights
  // or activations that overflowed) are an error, not a token sampled from garbage.
  Result<Token> next(std::span<const float> logits);
  // Ends the sequence early (cancelled): the text still held back.
  std::string finish();

  const std::vector<int32_t>& sequence() const { return sequence_; }  // prompt + generated; feed back()
  const std::vector<int32_t>& generated_ids() const { return generated_ids_; }  // without a stop token
  int64_t generated() const { return generated_; }  // tokens sampled, a stop token included

 private:
  std::string tail(bool* hit);

  std::vector<int32_t> stop_ids_;
  int64_t max_new_;
  TokenSampler sampler_;
  tok::StreamDecoder decoder_;
  tok::StopStringFilter filter_;
  std::vector<int32_t> sequence_, generated_ids_;
  int64_t generated_ = 0;
};

// Called with each new piece of text; return false to stop (stop_reason "callback").
using TextSink = std::function<bool(const std::string& text)>;

// Starts from an empty cache (engine.reset()), runs the prompt, then samples until a stop id,
// a stop string, max_new_tokens, the end of the engine's context, `on_text` returning false or
// `cancel`. Errors: an empty prompt, a prompt that fills the context, an id out of the vocabulary.
Result<TextResult> generate_text(LlamaEngine& engine, std::span<const int32_t> prompt, const TextRequest& request,
                                 std::shared_ptr<const tok::Tokenizer> tokenizer, const TextSink& on_text = {},
                                 const CancelToken* cancel = nullptr);

}  // namespace kanana::infer
