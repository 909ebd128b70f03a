// Sequence log-probs, DPO/IPO and Bradley–Terry losses (see losses.h for the equations).
#include "posttrain/losses.h"

namespace kanana::posttrain {

torch::Tensor sequence_logprobs(const torch::Tensor& logits, const torch::Tensor& labels, torch::Tensor* counts,
                                int64_t ignore_index) {
  TORCH_CHECK(logits.dim() == 3 && labels.dim() == 2 && logits.size(0) == labels.size(0) &&
                  logits.size(1) == labels.size(1),
              "sequence_logprobs: logits (B, T, V) and labels (B, T) expected, got ", logits.sizes(), " and ",
              labels.sizes());
  const auto valid = labels != ignore_index;                            // (B, T)
  const auto safe = torch::where(valid, labels, torch::zeros_like(labels));
  const auto lg = logits.to(torch::kFloat32);
  // log p(y) = logits[y] − logsumexp(logits): no (B, T, V) log-softmax tensor is kept.
  const auto picked = lg.gather(-1, safe.unsqueeze(-1)).squeeze(-1);  // (B, T)
  const auto lse = lg.logsumexp(-1);                                   // (B, T)
  const auto per_token = (picked - lse) * valid.to(torch::kFloat32);
  if (counts) *counts = valid.to(torch::kFloat32).sum(-1);
  return per_token.sum(-1);
}

DpoOutput dpo_loss(const torch::Tensor& policy_chosen, const torch::Tensor& policy_rejected,
                   const torch::Tensor& reference_chosen, const torch::Tensor& reference_rejected,
                   const DpoOptions& o) {
  const auto pc = policy_chosen.to(torch::kFloat32), pr = policy_rejected.to(torch::kFloat32);
  const auto rc = reference_chosen.to(torch::kFloat32).detach(), rr = reference_rejected.to(torch::kFloat32).detach();
  const auto h = (pc - pr) - (rc - rr);
  DpoOutput out;
  if (o.type == DpoLossType::kIpo) {
    out.losses = (h - 1.0 / (2.0 * o.beta)).square();
  } else {
    const auto z = h * o.beta;
    out.losses = -torch::log_sigmoid(z) * (1.0 - o.label_smoothing) - torch::log_sigmoid(-z) * o.label_smoothing;
  }
  out.loss = out.losses.mean();
  out.chosen_rewards = ((pc - rc) * o.beta).detach();
  out.rejected_rewards = ((pr - rr) * o.beta).detach();
  out.margins = out.chosen_rewards - out.rejected_rewards;
  out.accuracy = (out.chosen_rewards > out.rejected_rewards).to(torch::kFloat32).mean();
  return out;
}

RewardLossOutput bradley_terry_loss(const torch::Tensor& chosen_rewards, const torch::Tensor& rejected_rewards) {
  const auto d = chosen_rewards.to(torch::kFloat32) - rejected_rewards.to(torch::kFloat32);
  RewardLossOutput out;
  out.loss = -torch::log_sigmoid(d).mean();
  out.accuracy = (d > 0).to(torch::kFloat32).mean().detach();
  out.margin = d.mean().detach();
  return out;
}

}  // namespace kanana::posttrain
