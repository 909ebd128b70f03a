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
#include "model/sampling_options.h"
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

// Called with each new piece of text; return false to stop (stop_reason "callback").
using TextSink = std::function<bool(const std::string& text)>;

// Starts from an empty cache (engine.reset()), runs the prompt, then samples until a stop id,
// a stop string, max_new_tokens, the end of the engine's context, `on_text` returning false or
// `cancel`. Errors: an empty prompt, a prompt that fills the context, an id out of the vocabulary.
Result<TextResult> generate_text(LlamaEngine& engine, std::span<const int32_t> prompt, const TextRequest& request,
                                 std::shared_ptr<const tok::Tokenizer> tokenizer, const TextSink& on_text = {},
                                 const CancelToken* cancel = nullptr);

}  // namespace kanana::infer
