// Preference-learning losses on sequence log-probabilities (all in fp32).
//
// Sequence log-prob of a reply given its prompt: logπ(y|x) = Σ_t log softmax(logits_t)[y_t] over
// the reply's positions (labels != ignore_index; labels[t] is the token position t predicts).
//
// DPO (Rafailov et al. 2023), with h = (logπ(y_c) − logπ(y_r)) − (logπref(y_c) − logπref(y_r)):
//   sigmoid  L = −(1−ε)·log σ(β·h) − ε·log σ(−β·h)       ε = label_smoothing: conservative DPO
//                                                         (cDPO, labels flipped with prob. ε)
//   ipo      L = (h − 1/(2β))²                            (Azar et al. 2023; TRL feeds it
//                                                         length-averaged log-probs, see dpo_task)
// Reported like TRL: rewards r_c = β·(logπ(y_c) − logπref(y_c)), r_r likewise (no gradient),
// margin = r_c − r_r, accuracy = mean[r_c > r_r].
//
// Bradley–Terry reward model: L = −log σ(r_c − r_r), accuracy = mean[r_c > r_r].
#pragma once

#include <torch/torch.h>

#include "posttrain/posttrain_spec.h"

#include <string>

#include "base/status.h"

namespace kanana::posttrain {

// logits (B, T, V) any float dtype, labels (B, T) int64 -> (B,) fp32 sums; `counts` (when
// given) gets the number of counted positions per row (B,) fp32.
torch::Tensor sequence_logprobs(const torch::Tensor& logits, const torch::Tensor& labels,
                                torch::Tensor* counts = nullptr, int64_t ignore_index = -100);

struct DpoOutput {
  torch::Tensor loss;              // scalar: mean over pairs (differentiable)
  torch::Tensor losses;            // (B,)
  torch::Tensor chosen_rewards;    // (B,) detached
  torch::Tensor rejected_rewards;  // (B,) detached
  torch::Tensor margins;           // (B,) detached
  torch::Tensor accuracy;          // scalar fp32: mean[r_c > r_r]
};

// All inputs (B,) fp32; the reference log-probs carry no gradient.
DpoOutput dpo_loss(const torch::Tensor& policy_chosen, const torch::Tensor& policy_rejected,
                   const torch::Tensor& reference_chosen, const torch::Tensor& reference_rejected,
                   const DpoOptions& options);

struct RewardLossOutput {
  torch::Tensor loss;      // scalar: mean −log σ(r_c − r_r)
  torch::Tensor accuracy;  // scalar: mean[r_c > r_r]
  torch::Tensor margin;    // scalar: mean (r_c − r_r), detached
};
RewardLossOutput bradley_terry_loss(const torch::Tensor& chosen_rewards, const torch::Tensor& rejected_rewards);

}  // namespace kanana::posttrain
