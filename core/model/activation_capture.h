// Activation capture for analysis passes (importance estimation for pruning): while an
// ActivationCapture scope is active on this thread, every decoder layer run on this thread
// hands its attention and MLP internals to an observer — the per-head attention output
// before o_proj, the SwiGLU intermediate act(gate)·up before down_proj, and the RMSNorm
// outputs that feed them. Nothing is copied or kept by the model; the observer reduces
// what it needs and must not modify the tensors. Without a scope the model pays one
// thread-local read per layer.
//
//   struct Stats : model::ActivationObserver { ... };
//   Stats stats;
//   { model::ActivationCapture capture(&stats); model->forward(ids); }
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace kanana::model {

class ActivationObserver {
 public:
  virtual ~ActivationObserver() = default;
  // normed_input: input_layernorm output (batch, seq, hidden);
  // heads: attention output per query head before o_proj (batch, seq, heads, head_dim).
  virtual void attention(int64_t layer, const torch::Tensor& normed_input, const torch::Tensor& heads) = 0;
  // normed_input: post_attention_layernorm output (batch, seq, hidden);
  // intermediate: act(gate_proj(x)) · up_proj(x) (batch, seq, intermediate).
  virtual void mlp(int64_t layer, const torch::Tensor& normed_input, const torch::Tensor& intermediate) = 0;
};

// Installs `observer` for forward passes on this thread until destruction (nests: the
// previous observer is restored).
class ActivationCapture {
 public:
  explicit ActivationCapture(ActivationObserver* observer);
  ~ActivationCapture();
  ActivationCapture(const ActivationCapture&) = delete;
  ActivationCapture& operator=(const ActivationCapture&) = delete;

  static ActivationObserver* active();  // this thread's observer or nullptr
  // The layer whose attention ran last on this thread (the MLP that follows belongs to it).
  static int64_t current_layer();
  static void set_current_layer(int64_t layer);

 private:
  ActivationObserver* previous_;
  int64_t previous_layer_;
};

}  // namespace kanana::model
