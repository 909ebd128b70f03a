// Next-token selection from logits: repetition penalty, temperature, top-k, top-p (nucleus),
// min-p, then greedy argmax or a draw from the row's own seeded RNG. Order and semantics follow
// transformers' logits processors/warpers so settings mean the same as in HF generate().
// The settings themselves (SamplingOptions) are Torch-free: model/sampling_options.h.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <random>
#include <vector>

#include "model/sampling_options.h"

namespace kanana::model {

// Apply the penalty and warpers to one row of logits (vocab) -> float32 logits where removed
// tokens are -inf. Exposed for tests; `seen` are the ids of the prompt and of the generated text.
torch::Tensor process_logits(const torch::Tensor& logits, const SamplingOptions& options,
                             const std::vector<int32_t>& seen);

class Sampler {
 public:
  Sampler(SamplingOptions options, uint64_t seed) : options_(options), rng_(seed) {}
  // logits (vocab) of one row -> chosen id.
  int32_t sample(const torch::Tensor& logits, const std::vector<int32_t>& seen);
  const SamplingOptions& options() const { return options_; }

 private:
  SamplingOptions options_;
  std::mt19937_64 rng_;
};

}  // namespace kanana::model
