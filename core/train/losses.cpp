// Cross-entropy + z-loss in fp32; see losses.h.
#include "train/losses.h"

namespace kanana::train {

LossOutput causal_lm_loss(const torch::Tensor& logits, const torch::Tensor& targets, double z_loss_coeff,
                          int64_t ignore_index) {
  const int64_t vocab = logits.size(-1);
  torch::Tensor flat = logits.reshape({-1, vocab}).to(torch::kFloat32);  // (n, vocab)
  torch::Tensor t = targets.reshape({-1});                                // (n)
  torch::Tensor valid = t != ignore_index;                                // (n)
  torch::Tensor safe_t = torch::where(valid, t, torch::zeros_like(t));
  torch::Tensor z = torch::logsumexp(flat, -1);                           // (n)
  torch::Tensor picked = flat.gather(1, safe_t.unsqueeze(1)).squeeze(1);  // (n)
  torch::Tensor mask = valid.to(torch::kFloat32);
  LossOutput out;
  out.tokens = valid.sum().item<int64_t>();
  const double denom = double(std::max<int64_t>(out.tokens, 1));
  out.ce = ((z - picked) * mask).sum() / denom;
  out.z_loss = (z.square() * mask).sum() * (z_loss_coeff / denom);
  out.loss = out.ce + out.z_loss;
  return out;
}

}  // namespace kanana::train
