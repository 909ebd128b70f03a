// RMSNorm as Hugging Face Llama computes it: statistics in fp32, the weight applied after
// casting back to the input dtype (so bf16 results match transformers bit for bit in spirit).
#pragma once

#include <torch/torch.h>

namespace kanana::model {

class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);  // (..., dim)

  torch::Tensor weight;  // (dim)
  double eps;
};
TORCH_MODULE(RMSNorm);

}  // namespace kanana::model
