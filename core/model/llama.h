// The Llama decoder (Kanana's architecture) as LibTorch modules whose registered names equal
// the Hugging Face checkpoint names: named_parameters() yields "model.embed_tokens.weight",
// "model.layers.0.self_attn.q_proj.weight", ..., "model.norm.weight", and "lm_head.weight"
// only when embeddings are untied.
#pragma once

#include <torch/torch.h>

#include <optional>
#include <vector>

#include "base/status.h"
#include "model/attention.h"
#include "model/config.h"
#include "model/kv_cache.h"
#include "model/mlp.h"
#include "model/rms_norm.h"
#include "model/rope.h"

namespace kanana::model {

struct ForwardOptions {
  // (batch, past + seq) of 0/1 over every position including cached ones; undefined = no padding.
  torch::Tensor attention_mask;
  // (batch, seq) int64; undefined = derived from the mask (left padding) or past .. past + seq.
  torch::Tensor position_ids;
  KVCache* cache = nullptr;              // read and appended to; advanced by seq
  int64_t logits_to_keep = 0;            // 0 = logits for every position, n = only the last n
  bool compute_logits = true;            // false: only hidden states (embedding model, pruning)
  bool output_hidden_states = false;     // also return the input of every layer + final output
};

struct ForwardOutput {
  torch::Tensor logits;                      // (batch, kept positions, vocab) in the model dtype
  torch::Tensor last_hidden_state;           // (batch, seq, hidden) after the final norm
  std::vector<torch::Tensor> hidden_states;  // embeddings, then each layer's output (HF order)
};

class LlamaDecoderLayerImpl : public torch::nn::Module {
 public:
  LlamaDecoderLayerImpl(const LlamaConfig& config, int64_t layer_idx);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const torch::Tensor& allowed, KVCache* cache);

  LlamaAttention self_attn{nullptr};
  LlamaMLP mlp{nullptr};
  RMSNorm input_layernorm{nullptr};
  RMSNorm post_attention_layernorm{nullptr};
};
TORCH_MODULE(LlamaDecoderLayer);

// "model." in checkpoint names.
class LlamaModelImpl : public torch::nn::Module {
 public:
  explicit LlamaModelImpl(const LlamaConfig& config);
  // input_ids (batch, seq) int64 -> hidden (batch, seq, hidden) after the final norm.
  torch::Tensor forward(const torch::Tensor& input_ids, const ForwardOptions& options,
                        std::vector<torch::Tensor>* hidden_states = nullptr);

  torch::nn::Embedding embed_tokens{nullptr};  // (vocab, hidden)
  torch::nn::ModuleList layers{nullptr};
  RMSNorm norm{nullptr};

  const LlamaConfig& config() const { return config_; }
  RotaryEmbedding& rotary() { return rotary_; }

 private:
  LlamaConfig config_;
  RotaryEmbedding rotary_;
};
TORCH_MODULE(LlamaModel);

class LlamaForCausalLMImpl : public torch::nn::Module {
 public:
  explicit LlamaForCausalLMImpl(const LlamaConfig& config);
  ForwardOutput forward(const torch::Tensor& input_ids, const ForwardOptions& options = {});

  LlamaModel model{nullptr};
  torch::nn::Linear lm_head{nullptr};  // null when tie_word_embeddings (embed_tokens is used)

  const LlamaConfig& config() const { return model->config(); }
  // The first parameter's dtype / device (what the caches and inputs must match).
  torch::ScalarType dtype() const;
  torch::Device device() const;
  // (vocab, hidden): lm_head.weight or the tied embedding.
  torch::Tensor output_embedding_weight() const;
};
TORCH_MODULE(LlamaForCausalLM);

// A freshly initialised model like transformers' _init_weights: every Linear and the
// embedding ~ N(0, initializer_range) (pad row zeroed), biases 0, norms 1. Deterministic in
// `seed` regardless of the global RNG. Created in fp32 on CPU, then moved to dtype/device.
Result<LlamaForCausalLM> init_model(const LlamaConfig& config, uint64_t seed,
                                    torch::ScalarType dtype = torch::kFloat32,
                                    torch::Device device = torch::kCPU);

// Boolean attention mask (batch, 1, seq, past + seq): true where query i may see key j.
// Undefined when nothing needs masking (no padding and a single query or bidirectional).
torch::Tensor build_attention_mask(const torch::Tensor& attention_mask, int64_t batch, int64_t seq,
                                   int64_t past, bool causal, torch::Device device);
// Position ids (batch, seq) for the last `seq` of the mask's columns: count of real tokens
// before each one, so left padding does not shift positions.
torch::Tensor position_ids_from_mask(const torch::Tensor& attention_mask, int64_t seq);

// "float32"/"f32"/"fp32", "bfloat16"/"bf16", "float16"/"f16"/"fp16" (model/dtype_name.h: the
// names and the error without LibTorch).
Result<torch::ScalarType> parse_dtype(const std::string& name);
std::string dtype_name(torch::ScalarType dtype);  // HF spelling: "float32", "bfloat16", "float16"

}  // namespace kanana::model
