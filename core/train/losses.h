// Causal-LM losses: token cross-entropy with ignore_index and Kanana's z-loss, computed in
// fp32 even when the logits are bf16 (one logsumexp feeds both terms).
//   z_i   = logsumexp(logits_i)                      per target position i
//   ce    = mean_i (z_i − logits_i[target_i])        over positions with target != ignore_index
//   z_loss = coeff · mean_i z_i²                     (Kanana: coeff 5e-6, kanana-facts.md §3)
//   loss  = ce + z_loss
#pragma once

#include <torch/torch.h>

namespace kanana::train {

struct LossOutput {
  torch::Tensor loss;    // scalar fp32: ce + z_loss (what backward() is called on)
  torch::Tensor ce;      // scalar fp32
  torch::Tensor z_loss;  // scalar fp32 (already multiplied by the coefficient)
  int64_t tokens = 0;    // positions that counted
};

// logits (batch, seq, vocab) any float dtype; targets (batch, seq) int64.
LossOutput causal_lm_loss(const torch::Tensor& logits, const torch::Tensor& targets, double z_loss_coeff,
                          int64_t ignore_index = -100);

}  // namespace kanana::train
