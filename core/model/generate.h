// Autoregressive generation: a batch of prompts (left-padded), N samples per prompt in one
// batch, a KV cache (prefill once, then one token per step), per-row stopping on stop ids or
// stop strings, streaming through a callback, cancellation, and seeded sampling.
//
// Threading: generate() runs on the caller's thread; the callback is called on that thread
// once per new token of each row; CancelToken::cancel() may come from any thread.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/progress.h"
#include "base/status.h"
#include "model/llama.h"
#include "model/sampler.h"

namespace kanana::tok {
class Tokenizer;
}

namespace kanana::model {

// The sampling settings (model/sampling_options.h: max_new_tokens, greedy, temperature, top_k,
// top_p, min_p, repetition_penalty, seed) and how rows stop.
struct GenerationOptions : SamplingOptions {
  std::vector<int32_t> stop_token_ids;     // in addition to config.json's eos ids
  bool stop_at_eos = true;                 // add the model's eos_token_id(s) to the stop ids
  std::vector<std::string> stop_strings;   // need a tokenizer; the text is cut before them
  int64_t num_samples = 1;                 // rows per prompt
  bool use_cache = true;                   // false: recompute the whole prefix every step (tests)

  GenerationOptions() = default;
  explicit GenerationOptions(const SamplingOptions& sampling) : SamplingOptions(sampling) {}
  const SamplingOptions& sampling() const { return *this; }
};

// One new token of one row, as streamed.
struct GeneratedToken {
  int64_t row = 0;           // prompt_index * num_samples + sample_index
  int64_t prompt_index = 0;
  int64_t sample_index = 0;
  int32_t id = 0;           // -1: text held back until the end (partial UTF-8, stop-string prefix)
  std::string text;          // newly printable text (complete UTF-8; may be empty); needs a tokenizer
};
// Return false to stop generating (all rows).
using TokenCallback = std::function<bool(const GeneratedToken&)>;

struct GeneratedSequence {
  int64_t prompt_index = 0;
  int64_t sample_index = 0;
  std::vector<int32_t> tokens;  // new tokens, without the stop token
  std::string text;             // decoded new text, cut before a stop string (with a tokenizer)
  std::string stop_reason;      // "stop_token", "stop_string", "length", "callback", "cancelled"
};

struct GenerationResult {
  std::vector<GeneratedSequence> sequences;  // prompt-major: prompt 0 samples, prompt 1 samples ...
  int64_t prompt_tokens = 0;                 // sum over rows of real prompt tokens
  int64_t generated_tokens = 0;
  double prefill_seconds = 0.0;
  double decode_seconds = 0.0;
};

Result<GenerationResult> generate(LlamaForCausalLM& model, const std::vector<std::vector<int32_t>>& prompts,
                                  const GenerationOptions& options,
                                  std::shared_ptr<const tok::Tokenizer> tokenizer = nullptr,
                                  const TokenCallback& on_token = {}, const CancelToken* cancel = nullptr);

}  // namespace kanana::model
