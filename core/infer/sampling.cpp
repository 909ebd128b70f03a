// Token choice without LibTorch (see sampling.h); mirrors model::Sampler step for step.
#include "infer/sampling.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace kanana::infer {

namespace {
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// softmax of `x` into `out` (fp32 like torch's softmax; the sum in double).
void softmax(std::span<const float> x, float* out) {
  float m = kNegInf;
  for (float v : x) m = std::max(m, v);
  double sum = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    out[i] = x[i] == kNegInf ? 0.f : std::exp(x[i] - m);
    sum += out[i];
  }
  const float inv = float(1.0 / sum);
  for (size_t i = 0; i < x.size(); ++i) out[i] *= inv;
}

int32_t argmax(std::span<const float> x) {
  return int32_t(std::max_element(x.begin(), x.end()) - x.begin());  // first of equal maxima
}
}  // namespace

TokenSampler::TokenSampler(const model::SamplingOptions& options, uint64_t seed, int64_t vocab)
    : options_(options), rng_(seed), work_(size_t(vocab)), probs_(size_t(vocab)), order_(size_t(vocab)) {}

int32_t TokenSampler::sample(std::span<const float> logits, std::span<const int32_t> seen) {
  const auto& o = options_;
  const int64_t vocab = int64_t(work_.size());
  std::copy_n(logits.begin(), std::min<size_t>(logits.size(), work_.size()), work_.begin());
  float* w = work_.data();
  if (o.repetition_penalty != 1.0) {
    // Each distinct id once, from the original logit (repeats write the same value in HF).
    for (int32_t id : seen) {
      if (id < 0 || id >= vocab) continue;
      const float orig = logits[size_t(id)];
      w[id] = orig < 0 ? float(orig * o.repetition_penalty) : float(orig / o.repetition_penalty);
    }
  }
  if (o.greedy || o.temperature <= 0.0) return argmax(work_);
  if (o.temperature != 1.0)
    for (int64_t i = 0; i < vocab; ++i) w[i] = float(w[i] / o.temperature);
  if (o.top_k > 0 && o.top_k < vocab) {
    std::copy(work_.begin(), work_.end(), probs_.begin());
    std::nth_element(probs_.begin(), probs_.begin() + (o.top_k - 1), probs_.end(), std::greater<float>());
    const float kth = probs_[size_t(o.top_k - 1)];
    for (int64_t i = 0; i < vocab; ++i)
      if (w[i] < kth) w[i] = kNegInf;
  }
  if (o.top_p < 1.0) {
    softmax(work_, probs_.data());
    std::iota(order_.begin(), order_.end(), 0);
    std::stable_sort(order_.begin(), order_.end(), [&](int32_t a, int32_t b) { return w[a] > w[b]; });
    // Remove a token when the tokens ranked above it already reach top_p; keep at least one.
    float cumulative = 0.f;
    for (int64_t r = 0; r < vocab; ++r) {
      const int32_t id = order_[size_t(r)];
      const float p = probs_[size_t(id)];
      if (r > 0 && cumulative >= o.top_p) w[id] = kNegInf;
      cumulative += p;
    }
  }
  if (o.min_p > 0.0) {
    softmax(work_, probs_.data());
    const float threshold = float(*std::max_element(probs_.begin(), probs_.end()) * o.min_p);
    for (int64_t i = 0; i < vocab; ++i)
      if (probs_[size_t(i)] < threshold) w[i] = kNegInf;
  }
  softmax(work_, probs_.data());
  double total = 0.0;
  for (float p : probs_) total += p;
  std::uniform_real_distribution<double> uniform(0.0, total);
  const double r = uniform(rng_);
  double acc = 0.0;
  int64_t last_nonzero = 0;
  for (int64_t i = 0; i < vocab; ++i) {
    const float p = probs_[size_t(i)];
    if (p <= 0.0f) continue;
    acc += p;
    last_nonzero = i;
    if (r < acc) return int32_t(i);
  }
  return int32_t(last_nonzero);  // rounding at the very end of the distribution
}

}  // namespace kanana::infer
