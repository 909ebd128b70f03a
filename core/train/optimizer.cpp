// AdamW with independent (Kanana) or coupled (PyTorch) weight decay; see optimizer.h.
#include "train/optimizer.h"

#include <cmath>

namespace kanana::train {

AdamW::AdamW(std::vector<std::pair<std::string, torch::Tensor>> params, AdamWOptions options)
    : params_(std::move(params)), options_(options) {
  torch::NoGradGuard no_grad;
  for (const auto& [name, p] : params_) {
    exp_avg_.push_back(torch::zeros_like(p, torch::MemoryFormat::Contiguous));
    exp_avg_sq_.push_back(torch::zeros_like(p, torch::MemoryFormat::Contiguous));
  }
}

bool adamw_decays(const AdamWOptions& options, int64_t dim) {
  return options.weight_decay != 0 && !(options.skip_1d_decay && dim < 2);
}

void adamw_update(torch::Tensor& p, const torch::Tensor& g, torch::Tensor& m, torch::Tensor& v,
                  const AdamWOptions& options, double lr, int64_t step, bool decay) {
  const double bias1 = 1.0 - std::pow(options.beta1, double(step));
  const double bias2 = 1.0 - std::pow(options.beta2, double(step));
  const double step_size = lr / bias1;
  const double bias2_sqrt = std::sqrt(bias2);
  if (decay) {
    const double factor = options.decay_mode == WeightDecayMode::kIndependent ? options.weight_decay
                                                                              : lr * options.weight_decay;
    p.mul_(1.0 - factor);
  }
  m.lerp_(g, 1.0 - options.beta1);
  v.mul_(options.beta2).addcmul_(g, g, 1.0 - options.beta2);
  torch::Tensor denom = (v.sqrt() / bias2_sqrt).add_(options.eps);
  p.addcdiv_(m, denom, -step_size);
}

void AdamW::step(double lr) {
  torch::NoGradGuard no_grad;
  ++step_;
  for (size_t i = 0; i < params_.size(); ++i) {
    torch::Tensor p = params_[i].second;
    const torch::Tensor& g = p.grad();
    if (!g.defined()) continue;
    adamw_update(p, g, exp_avg_[i], exp_avg_sq_[i], options_, lr, step_, adamw_decays(options_, p.dim()));
  }
}

void AdamW::zero_grad() {
  for (auto& [name, p] : params_) {
    if (p.grad().defined()) p.mutable_grad() = torch::Tensor();
  }
}

std::vector<std::pair<std::string, torch::Tensor>> AdamW::state_tensors() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (size_t i = 0; i < params_.size(); ++i) {
    out.emplace_back("exp_avg." + params_[i].first, exp_avg_[i]);
    out.emplace_back("exp_avg_sq." + params_[i].first, exp_avg_sq_[i]);
  }
  return out;
}

Status AdamW::load_state(const std::function<Result<torch::Tensor>(const std::string&)>& lookup, int64_t step) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    for (auto* pair : {&exp_avg_, &exp_avg_sq_}) {
      const std::string name = (pair == &exp_avg_ ? "exp_avg." : "exp_avg_sq.") + params_[i].first;
      KANANA_ASSIGN_OR_RETURN(torch::Tensor t, lookup(name));
      torch::Tensor& dst = (*pair)[i];
      if (t.sizes() != dst.sizes())
        return data_loss("optimizer state '" + name + "' has shape " + c10::str(t.sizes()) + ", parameter has " +
                         c10::str(dst.sizes()));
      dst.copy_(t);
    }
  }
  step_ = step;
  return Status::ok();
}

}  // namespace kanana::train
