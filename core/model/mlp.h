// The SwiGLU feed-forward block of Llama: down_proj(silu(gate_proj(x)) * up_proj(x)).
#pragma once

#include <torch/torch.h>

#include "model/config.h"

namespace kanana::model {

class LlamaMLPImpl : public torch::nn::Module {
 public:
  explicit LlamaMLPImpl(const LlamaConfig& config);
  torch::Tensor forward(const torch::Tensor& x);  // (batch, seq, hidden) -> same

  torch::nn::Linear gate_proj{nullptr};  // (intermediate, hidden)
  torch::nn::Linear up_proj{nullptr};    // (intermediate, hidden)
  torch::nn::Linear down_proj{nullptr};  // (hidden, intermediate)
};
TORCH_MODULE(LlamaMLP);

}  // namespace kanana::model
