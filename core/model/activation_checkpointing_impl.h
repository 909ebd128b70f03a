// Internal to the model library: how llama.cpp runs a checkpointed layer.
#pragma once

#include <torch/torch.h>

#include <functional>

namespace kanana::model::detail {

// True when the current forward should checkpoint a layer whose input is x.
bool should_checkpoint(const torch::Tensor& x);
// fn(x) whose activations are recomputed in backward instead of kept.
torch::Tensor checkpointed(std::function<torch::Tensor(const torch::Tensor&)> fn, const torch::Tensor& x);

}  // namespace kanana::model::detail
