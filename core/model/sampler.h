// Next-token selection from logits: repetition penalty, temperature, top-k, top-p (nucleus),
// min-p, then greedy argmax or a draw from the row's own seeded RNG. Order and semantics follow
// transformers' logits processors/warpers so settings mean the same as in HF generate().
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <random>
#include <vector>

namespace kanana::model {

struct SamplingOptions {
  bool greedy = false;              // argmax; every other field except the penalty is ignored
  double temperature = 1.0;         // <= 0 behaves as greedy
  int64_t top_k = 0;                // 0 = off
  double top_p = 1.0;               // 1 = off
  double min_p = 0.0;               // 0 = off; keep tokens with p >= min_p * max p
  double repetition_penalty = 1.0;  // 1 = off; HF: logit < 0 ? logit * p : logit / p over seen ids
};

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
