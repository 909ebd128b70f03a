// Grouped-query self-attention of Llama (q heads share kv heads in groups), with rotary
// embeddings, an optional KV cache, and a boolean mask that carries causality and padding.
// Query heads of one group attend to their kv head without materialising repeated k/v.
#pragma once

#include <torch/torch.h>

#include "model/config.h"
#include "model/kv_cache.h"

namespace kanana::model {

class LlamaAttentionImpl : public torch::nn::Module {
 public:
  LlamaAttentionImpl(const LlamaConfig& config, int64_t layer_idx);
  // x (batch, seq, hidden); cos/sin (batch, seq, head_dim); allowed: bool (batch, 1, seq, kv_len)
  // with true where a query may attend, or undefined for "everything".
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const torch::Tensor& allowed, KVCache* cache);

  torch::nn::Linear q_proj{nullptr};  // (heads * head_dim, hidden)
  torch::nn::Linear k_proj{nullptr};  // (kv_heads * head_dim, hidden)
  torch::nn::Linear v_proj{nullptr};  // (kv_heads * head_dim, hidden)
  torch::nn::Linear o_proj{nullptr};  // (hidden, heads * head_dim)

 private:
  int64_t layer_idx_;
  int64_t heads_, kv_heads_, head_dim_;
  double scaling_;
};
TORCH_MODULE(LlamaAttention);

}  // namespace kanana::model
