// y = x·Wᵀ (+ b) for the model's projections, with a fast path for decoding: a single row on
// the CPU in fp32 without autograd goes through a matrix-vector product. OpenBLAS's sgemm
// packs the whole weight matrix when M = 1 (measured here: 4-6x slower than sgemv on
// 768×2048, 3x on the 32000×768 head), while sgemv streams it once — decoding is bound by
// reading the weights, so this is what brings it near the memory-bandwidth roof.
#pragma once

#include <torch/torch.h>

namespace kanana::model {

inline torch::Tensor project(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias = {}) {
  const bool one_row = x.numel() == weight.size(1);
  const bool recording = torch::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad());
  if (one_row && !recording && x.device().is_cpu() && x.scalar_type() == torch::kFloat32 &&
      weight.scalar_type() == torch::kFloat32) {
    auto y = torch::mv(weight, x.reshape({-1}));
    if (bias.defined()) y.add_(bias);
    auto sizes = x.sizes().vec();
    sizes.back() = weight.size(0);
    return y.view(sizes);
  }
  return torch::nn::functional::linear(x, weight, bias);
}

inline torch::Tensor project(torch::nn::Linear& layer, const torch::Tensor& x) {
  return project(x, layer->weight, layer->bias);
}

}  // namespace kanana::model
