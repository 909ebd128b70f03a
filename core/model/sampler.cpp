// Logits processing and sampling (see sampler.h). Sampling draws with std::mt19937_64 on CPU
// so a seed gives the same text on every machine and device.
#include "model/sampler.h"

#include <limits>

namespace kanana::model {

torch::Tensor process_logits(const torch::Tensor& logits_in, const SamplingOptions& o,
                             const std::vector<int32_t>& seen) {
  torch::NoGradGuard no_grad;
  auto logits = logits_in.detach().to(torch::kCPU, torch::kFloat32).flatten().clone();  // (vocab)
  const int64_t vocab = logits.size(0);
  const float neg_inf = -std::numeric_limits<float>::infinity();
  if (o.repetition_penalty != 1.0 && !seen.empty()) {
    std::vector<int64_t> ids;
    ids.reserve(seen.size());
    for (int32_t id : seen) {
      if (id >= 0 && id < vocab) ids.push_back(id);
    }
    auto index = torch::tensor(ids, torch::kInt64);
    auto score = logits.index_select(0, index);
    score = torch::where(score < 0, score * o.repetition_penalty, score / o.repetition_penalty);
    logits.index_put_({index}, score);  // repeated ids write the same value
  }
  if (o.greedy || o.temperature <= 0.0) return logits;
  if (o.temperature != 1.0) logits.div_(o.temperature);
  if (o.top_k > 0 && o.top_k < vocab) {
    auto kth = std::get<0>(logits.topk(o.top_k)).min();
    logits.masked_fill_(logits < kth, neg_inf);
  }
  if (o.top_p < 1.0) {
    auto [sorted, order] = logits.sort(/*dim=*/-1, /*descending=*/true);
    auto cumulative = sorted.softmax(-1).cumsum(-1);
    // Remove a token when the tokens ranked above it already reach top_p; keep at least one.
    auto probs_sorted = sorted.softmax(-1);
    auto remove_sorted = (cumulative - probs_sorted) >= o.top_p;
    remove_sorted[0] = false;
    auto remove = torch::zeros_like(remove_sorted).scatter(0, order, remove_sorted);
    logits.masked_fill_(remove, neg_inf);
  }
  if (o.min_p > 0.0) {
    auto probs = logits.softmax(-1);
    auto threshold = probs.max() * o.min_p;
    logits.masked_fill_(probs < threshold, neg_inf);
  }
  return logits;
}

int32_t Sampler::sample(const torch::Tensor& logits, const std::vector<int32_t>& seen) {
  auto processed = process_logits(logits, options_, seen);
  if (options_.greedy || options_.temperature <= 0.0) return static_cast<int32_t>(processed.argmax().item<int64_t>());
  auto probs = processed.softmax(-1).contiguous();
  const float* p = probs.data_ptr<float>();
  const int64_t n = probs.size(0);
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) total += p[i];
  std::uniform_real_distribution<double> uniform(0.0, total);
  const double r = uniform(rng_);
  double acc = 0.0;
  int64_t last_nonzero = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (p[i] <= 0.0f) continue;
    acc += p[i];
    last_nonzero = i;
    if (r < acc) return static_cast<int32_t>(i);
  }
  return static_cast<int32_t>(last_nonzero);  // rounding at the very end of the distribution
}

}  // namespace kanana::model
