// Log-likelihood of continuations given a context (lm-evaluation-harness "loglikelihood"
// requests): Σ log p(continuation token | everything before it) and whether every token was
// the argmax ("is_greedy").
//
// Two ways to compute the same numbers:
//  - separate: every (context + continuation) is its own row; rows are left-padded into
//    batches, and only the continuation positions' logits are computed.
//  - shared prefix: the context of a request is encoded once (a prefill that fills the KV
//    cache), the cache is copied to one row per continuation, and only the continuation
//    tokens are run. The first continuation token is scored from the prefill's last logits.
//    Several requests are prefilled together (left-padded, masked). A request whose
//    context + continuation does not fit max_length is left-truncated like lm-eval and
//    scored separately.
// Both agree to float rounding (tests check it); shared prefix does (choices − 1) × context
// less work per item.
#pragma once

#include <cstdint>
#include <vector>

#include "base/progress.h"
#include "base/status.h"

namespace kanana::model {
class LlamaForCausalLM;
}

namespace kanana::eval {

struct LoglikRequest {
  std::vector<int32_t> context;                     // non-empty (use the prefix token for none)
  std::vector<std::vector<int32_t>> continuations;  // each non-empty
};

struct ContinuationScore {
  double logprob = 0;     // Σ log p over the continuation tokens (float64 sum of fp32 log-softmax)
  bool is_greedy = false;
  int64_t tokens = 0;
};

struct ScorerOptions {
  bool shared_prefix = true;
  int64_t max_length = 2048;    // context window; longer requests are left-truncated
  int64_t batch_rows = 16;      // rows per forward (continuation rows; separate-mode rows)
};

// Scores every request; results are [request][continuation]. Runs without autograd.
Result<std::vector<std::vector<ContinuationScore>>> score_requests(model::LlamaForCausalLM& model,
                                                                   const std::vector<LoglikRequest>& requests,
                                                                   const ScorerOptions& options,
                                                                   Progress* progress = nullptr,
                                                                   const CancelToken* cancel = nullptr);

// Σ −log p of target tokens for rolling-window perplexity: each window's tokens are predicted
// from the previous ones in the window (input = window[:-1], targets = window[1:]). Returns the
// per-window (nll sum, target count).
struct TokenWindow {
  std::vector<int32_t> tokens;  // >= 2 tokens: the first is context only
};
Result<std::vector<std::pair<double, int64_t>>> score_windows(model::LlamaForCausalLM& model,
                                                              const std::vector<TokenWindow>& windows,
                                                              int64_t batch_rows, const CancelToken* cancel = nullptr);

}  // namespace kanana::eval
