// AdamW written out over the parameter tensors with explicit state tensors (exp_avg,
// exp_avg_sq per parameter), so the trainer can save/restore them bit-exactly as safetensors
// and allreduce-free ranks stay in lockstep.
//
// Update for parameter p with gradient g at step t (1-based), for both decay modes:
//   m ← β1·m + (1−β1)·g                 (m.lerp_(g, 1−β1))
//   v ← β2·v + (1−β2)·g²                (v.mul_(β2).addcmul_(g, g, 1−β2))
//   adam_update = (m / (1−β1^t)) / (sqrt(v / (1−β2^t)) + ε)
// Weight decay, applied to p before the Adam step (like torch.optim.AdamW):
//   kIndependent (Kanana, default):  p ← p − wd·p − lr·adam_update   (decay NOT scaled by lr)
//   kCoupled (PyTorch AdamW):        p ← p − lr·wd·p − lr·adam_update
// Kanana uses independent weight decay 1e-4 (reference/kanana-facts.md §3). Parameters with
// fewer than two dimensions (norm weights, biases) are not decayed when skip_1d_decay is set.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "train/optimizer_options.h"

namespace kanana::train {

// One AdamW update of `p` (in place) from gradient g with moments m, v (in place), at 1-based
// step `step` — the formula above, in one home for AdamW and ZeRO-1's ShardedAdamW
// (zero_optimizer.h), which applies it to slices of flattened parameters. `decay`: whether
// this parameter is decayed (skip_1d_decay looks at the whole parameter's rank).
void adamw_update(torch::Tensor& p, const torch::Tensor& g, torch::Tensor& m, torch::Tensor& v,
                  const AdamWOptions& options, double lr, int64_t step, bool decay);
// Whether a parameter of `dim` dimensions is decayed under `options`.
bool adamw_decays(const AdamWOptions& options, int64_t dim);

class AdamW {
 public:
  // (name, parameter) pairs, e.g. from module.named_parameters(); names key the saved state.
  AdamW(std::vector<std::pair<std::string, torch::Tensor>> params, AdamWOptions options);

  // One update with learning rate `lr` from the parameters' .grad(); parameters without a
  // gradient are left alone (their state does not advance either).
  void step(double lr);
  void zero_grad();

  int64_t step_count() const { return step_; }
  const AdamWOptions& options() const { return options_; }
  const std::vector<std::pair<std::string, torch::Tensor>>& params() const { return params_; }

  // "exp_avg.<param>" and "exp_avg_sq.<param>" tensors (live references; save copies them).
  std::vector<std::pair<std::string, torch::Tensor>> state_tensors() const;
  // Restores moments from a name → tensor lookup and the step count. Errors name a missing
  // tensor or a shape mismatch.
  Status load_state(const std::function<Result<torch::Tensor>(const std::string&)>& lookup, int64_t step);

 private:
  std::vector<std::pair<std::string, torch::Tensor>> params_;
  std::vector<torch::Tensor> exp_avg_, exp_avg_sq_;
  AdamWOptions options_;
  int64_t step_ = 0;
};

}  // namespace kanana::train
