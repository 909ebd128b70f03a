// SwiGLU MLP (see mlp.h).
#include "model/mlp.h"
#include "model/linear.h"

#include "model/activation_capture.h"

namespace kanana::model {

LlamaMLPImpl::LlamaMLPImpl(const LlamaConfig& c) {
  namespace nn = torch::nn;
  gate_proj = register_module("gate_proj", nn::Linear(nn::LinearOptions(c.hidden_size, c.intermediate_size).bias(c.mlp_bias)));
  up_proj = register_module("up_proj", nn::Linear(nn::LinearOptions(c.hidden_size, c.intermediate_size).bias(c.mlp_bias)));
  down_proj = register_module("down_proj", nn::Linear(nn::LinearOptions(c.intermediate_size, c.hidden_size).bias(c.mlp_bias)));
}

torch::Tensor LlamaMLPImpl::forward(const torch::Tensor& x) {
  auto gate = project(gate_proj, x);  // (batch, seq, intermediate)
  auto up = project(up_proj, x);      // (batch, seq, intermediate)
  // Inference: reuse the gate buffer instead of allocating two more intermediates.
  auto inter = torch::GradMode::is_enabled() ? torch::silu(gate) * up : torch::silu_(gate).mul_(up);
  if (auto* observer = ActivationCapture::active()) observer->mlp(ActivationCapture::current_layer(), x, inter);
  return project(down_proj, inter);
}

}  // namespace kanana::model
