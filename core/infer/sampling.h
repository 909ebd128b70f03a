// Next-token choice for the Torch-free engine, with the project's sampling semantics (those of
// model::Sampler, i.e. transformers' processors in HF's order): repetition penalty over the
// seen ids, then greedy argmax, or temperature -> top-k -> top-p -> min-p and a draw from a
// seeded std::mt19937_64. No LibTorch; all scratch is sized once (vocab), so choosing a token
// allocates nothing.
//
// TokenSamplingOptions is deliberately a plain copy of the sampling knobs and nothing else: the
// project is unifying its sampling option structs into one Torch-free struct, and this one is
// meant to be replaced by it (only sampling.cpp and the engine's callers read it).
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace kanana::infer {

struct TokenSamplingOptions {
  bool greedy = false;              // argmax; every other field except the penalty is ignored
  double temperature = 1.0;         // <= 0 behaves as greedy
  int64_t top_k = 0;                // 0 = off
  double top_p = 1.0;               // 1 = off
  double min_p = 0.0;               // 0 = off; keep tokens with p >= min_p * max p
  double repetition_penalty = 1.0;  // 1 = off; logit < 0 ? logit * p : logit / p over seen ids
};

class TokenSampler {
 public:
  TokenSampler(TokenSamplingOptions options, uint64_t seed, int64_t vocab);
  // logits (vocab floats, left unchanged) -> chosen id; `seen` = prompt + generated ids.
  int32_t sample(std::span<const float> logits, std::span<const int32_t> seen);
  // The processed logits of the last sample() call (-inf = removed), for tests.
  std::span<const float> processed() const { return work_; }
  const TokenSamplingOptions& options() const { return options_; }

 private:
  TokenSamplingOptions options_;
  std::mt19937_64 rng_;
  std::vector<float> work_;      // processed logits (vocab)
  std::vector<float> probs_;     // softmax scratch (vocab)
  std::vector<int32_t> order_;   // sort scratch (vocab)
};

}  // namespace kanana::infer
