// Rotary position embeddings with Hugging Face's conventions: rotate_half over the two halves
// of head_dim (not interleaved pairs), inv_freq from rope_theta with the rope_scaling variants
// of transformers' modeling_rope_utils (linear, dynamic NTK, llama3, yarn incl. its
// attention_factor that scales cos/sin).
#pragma once

#include <torch/torch.h>

#include <utility>

#include "model/config.h"

namespace kanana::model {

// inv_freq (head_dim / 2) in fp32 on CPU, and the factor cos/sin are multiplied with.
// `seq_len` only matters for "dynamic" (HF recomputes the base once positions pass
// max_position_embeddings).
struct RopeFrequencies {
  torch::Tensor inv_freq;         // (head_dim / 2) float32
  double attention_scaling = 1.0;
};
RopeFrequencies compute_rope_frequencies(const LlamaConfig& config, int64_t seq_len = 0);

class RotaryEmbedding {
 public:
  explicit RotaryEmbedding(const LlamaConfig& config);
  // position_ids (batch, seq) int64 -> cos, sin (batch, seq, head_dim) in `dtype`.
  std::pair<torch::Tensor, torch::Tensor> cos_sin(const torch::Tensor& position_ids,
                                                  torch::ScalarType dtype);
  const RopeFrequencies& frequencies() const { return freq_; }

 private:
  LlamaConfig config_;
  RopeFrequencies freq_;
  torch::Tensor inv_freq_on_device_;  // cached copy on the last device used
};

torch::Tensor rotate_half(const torch::Tensor& x);
// x (batch, heads, seq, head_dim); cos/sin (batch, seq, head_dim).
torch::Tensor apply_rotary(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);

}  // namespace kanana::model
