// Activation checkpointing: a custom autograd function whose forward runs the layer without
// recording and whose backward re-runs it with recording, then back-propagates through the
// recomputed graph (PyTorch's reentrant torch.utils.checkpoint, which LibTorch lacks).
#include "model/activation_checkpointing.h"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <functional>

#include "model/activation_checkpointing_impl.h"

namespace kanana::model {
namespace {

thread_local bool t_enabled = false;

struct Recompute : torch::CustomClassHolder {
  std::function<torch::Tensor(const torch::Tensor&)> fn;
  bool autocast_cpu = false, autocast_gpu = false;
  at::ScalarType cpu_dtype = at::kBFloat16, gpu_dtype = at::kBFloat16;
};

struct CheckpointFunction : public torch::autograd::Function<CheckpointFunction> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor x, c10::IValue recompute) {
    ctx->save_for_backward({x});
    ctx->saved_data["recompute"] = recompute;
    auto holder = c10::static_intrusive_pointer_cast<Recompute>(recompute.toCapsule());
    return holder->fn(x);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    torch::Tensor x = ctx->get_saved_variables()[0];
    auto holder = c10::static_intrusive_pointer_cast<Recompute>(ctx->saved_data["recompute"].toCapsule());
    torch::Tensor xd = x.detach().requires_grad_(true);
    torch::Tensor y;
    {
      torch::AutoGradMode grad(true);
      // The recomputation sees the autocast state the forward saw.
      const bool cpu_before = at::autocast::is_cpu_enabled(), gpu_before = at::autocast::is_enabled();
      const auto cpu_dtype_before = at::autocast::get_autocast_cpu_dtype();
      const auto gpu_dtype_before = at::autocast::get_autocast_gpu_dtype();
      at::autocast::set_cpu_enabled(holder->autocast_cpu);
      at::autocast::set_enabled(holder->autocast_gpu);
      at::autocast::set_autocast_cpu_dtype(holder->cpu_dtype);
      at::autocast::set_autocast_gpu_dtype(holder->gpu_dtype);
      y = holder->fn(xd);
      at::autocast::set_cpu_enabled(cpu_before);
      at::autocast::set_enabled(gpu_before);
      at::autocast::set_autocast_cpu_dtype(cpu_dtype_before);
      at::autocast::set_autocast_gpu_dtype(gpu_dtype_before);
    }
    torch::autograd::backward({y}, {grad_out[0]});
    return {xd.grad(), torch::Tensor()};
  }
};

}  // namespace

ActivationCheckpointing::ActivationCheckpointing(bool enabled) : previous_(t_enabled) { t_enabled = enabled; }
ActivationCheckpointing::~ActivationCheckpointing() { t_enabled = previous_; }
bool ActivationCheckpointing::enabled() { return t_enabled; }

namespace detail {

bool should_checkpoint(const torch::Tensor& x) {
  // Only while recording and when the input carries a gradient path (otherwise the layer's
  // parameters would get no gradient through the custom function).
  return t_enabled && torch::GradMode::is_enabled() && x.requires_grad();
}

torch::Tensor checkpointed(std::function<torch::Tensor(const torch::Tensor&)> fn, const torch::Tensor& x) {
  auto holder = c10::make_intrusive<Recompute>();
  holder->fn = std::move(fn);
  holder->autocast_cpu = at::autocast::is_cpu_enabled();
  holder->autocast_gpu = at::autocast::is_enabled();
  holder->cpu_dtype = at::autocast::get_autocast_cpu_dtype();
  holder->gpu_dtype = at::autocast::get_autocast_gpu_dtype();
  return CheckpointFunction::apply(x, c10::IValue::make_capsule(std::move(holder)));
}

}  // namespace detail
}  // namespace kanana::model
