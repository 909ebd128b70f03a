// Next-token choice for the Torch-free engine, with the project's sampling semantics (those of
// model::Sampler, i.e. transformers' processors in HF's order): repetition penalty over the
// seen ids, then greedy argmax, or temperature -> top-k -> top-p -> min-p and a draw from a
// seeded std::mt19937_64. No LibTorch; all scratch is sized once (vocab), so choosing a token
// allocates nothing.
// The settings are the project's one sampling struct (model/sampling_options.h, Torch-free);
// max_new_tokens and seed are the caller's business (the seed is passed on its own, so a batch
// can seed each row).
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "model/sampling_options.h"

namespace kanana::infer {

class TokenSampler {
 public:
  TokenSampler(const model::SamplingOptions& options, uint64_t seed, int64_t vocab);
  // logits (vocab floats, left unchanged) -> chosen id; `seen` = prompt + generated ids.
  int32_t sample(std::span<const float> logits, std::span<const int32_t> seen);
  // The processed logits of the last sample() call (-inf = removed), for tests.
  std::span<const float> processed() const { return work_; }
  const model::SamplingOptions& options() const { return options_; }

 private:
  model::SamplingOptions options_;
  std::mt19937_64 rng_;
  std::vector<float> work_;      // processed logits (vocab)
  std::vector<float> probs_;     // softmax scratch (vocab)
  std::vector<int32_t> order_;   // sort scratch (vocab)
};

}  // namespace kanana::infer
