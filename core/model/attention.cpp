// GQA attention forward (see attention.h). Softmax runs in fp32 as in transformers' eager path.
#include "model/attention.h"
#include "model/linear.h"

#include <cmath>
#include <limits>

#include "model/activation_capture.h"
#include "model/rope.h"

namespace kanana::model {

LlamaAttentionImpl::LlamaAttentionImpl(const LlamaConfig& c, int64_t layer_idx)
    : layer_idx_(layer_idx),
      heads_(c.num_attention_heads),
      kv_heads_(c.num_key_value_heads),
      head_dim_(c.head_dim),
      scaling_(1.0 / std::sqrt(static_cast<double>(c.head_dim))) {
  namespace nn = torch::nn;
  q_proj = register_module("q_proj", nn::Linear(nn::LinearOptions(c.hidden_size, c.q_width()).bias(c.attention_bias)));
  k_proj = register_module("k_proj", nn::Linear(nn::LinearOptions(c.hidden_size, c.kv_width()).bias(c.attention_bias)));
  v_proj = register_module("v_proj", nn::Linear(nn::LinearOptions(c.hidden_size, c.kv_width()).bias(c.attention_bias)));
  o_proj = register_module("o_proj", nn::Linear(nn::LinearOptions(c.q_width(), c.hidden_size).bias(c.attention_bias)));
}

torch::Tensor LlamaAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& cos,
                                          const torch::Tensor& sin, const torch::Tensor& allowed,
                                          KVCache* cache) {
  const int64_t batch = x.size(0), seq = x.size(1);
  const int64_t groups = heads_ / kv_heads_;
  auto q = project(q_proj, x).view({batch, seq, heads_, head_dim_}).transpose(1, 2);     // (b, heads, s, d)
  auto k = project(k_proj, x).view({batch, seq, kv_heads_, head_dim_}).transpose(1, 2);  // (b, kv, s, d)
  auto v = project(v_proj, x).view({batch, seq, kv_heads_, head_dim_}).transpose(1, 2);  // (b, kv, s, d)
  q = apply_rotary(q, cos, sin);  // contiguous (b, heads, s, d)
  k = apply_rotary(k, cos, sin);
  if (cache != nullptr) {
    std::tie(k, v) = cache->update(layer_idx_, k, v);  // (b, kv, past + s, d)
  }
  const int64_t kv_len = k.size(2);
  // Heads of one kv group are adjacent, so (heads, s) folds into (kv, groups * s) as a view.
  auto qg = q.reshape({batch, kv_heads_, groups * seq, head_dim_});
  auto scores = torch::matmul(qg, k.transpose(-1, -2));  // (b, kv, groups * s, kv_len)
  scores.mul_(scaling_);
  if (allowed.defined()) {
    // (b, 1, s, kv_len) -> (b, 1, 1, s, kv_len) against (b, kv, groups, s, kv_len).
    // A finite minimum (not -inf) keeps fully masked padding rows finite, as HF's eager path.
    auto view = scores.view({batch, kv_heads_, groups, seq, kv_len});
    view.masked_fill_(allowed.unsqueeze(1).logical_not(),
                      scores.scalar_type() == torch::kFloat32 ? std::numeric_limits<float>::lowest()
                      : scores.scalar_type() == torch::kBFloat16 ? -3.3895313892515355e38
                                                                 : -65504.0);
  }
  torch::Tensor probs;
  if (scores.scalar_type() == torch::kFloat32) {
    probs = torch::softmax(scores, -1);
  } else {
    probs = torch::softmax(scores, -1, torch::kFloat32).to(scores.scalar_type());
  }
  auto out = torch::matmul(probs, v);  // (b, kv, groups * s, d)
  out = out.view({batch, heads_, seq, head_dim_}).transpose(1, 2).reshape({batch, seq, heads_ * head_dim_});
  if (auto* observer = ActivationCapture::active()) {
    ActivationCapture::set_current_layer(layer_idx_);
    observer->attention(layer_idx_, x, out.view({batch, seq, heads_, head_dim_}));
  }
  return project(o_proj, out);  // (b, s, hidden)
}

}  // namespace kanana::model
