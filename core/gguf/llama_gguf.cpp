// The HF Llama -> GGUF "llama" mapping (see llama_gguf.h).
#include "gguf/llama_gguf.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace kanana::gguf {

namespace {

LlamaTensorPlan matrix(std::string gguf, std::string hf, int64_t rows, int64_t cols, GgmlType type,
                       int64_t rope_heads = 0) {
  return {std::move(gguf), std::move(hf), {rows, cols}, type, rope_heads};
}
LlamaTensorPlan vector(std::string gguf, std::string hf, int64_t n) {
  return {std::move(gguf), std::move(hf), {n}, GgmlType::kF32, 0};
}

}  // namespace

std::vector<uint64_t> LlamaTensorPlan::ne() const {
  std::vector<uint64_t> ne(hf_shape.rbegin(), hf_shape.rend());
  return ne;
}

Status check_llama_exportable(const model::LlamaConfig& c, const std::string& origin) {
  auto refuse = [&](const std::string& field, const std::string& why) {
    return unimplemented(origin + ": field '" + field + "': " + why +
                         "; GGUF export supports Llama-architecture causal language models only");
  };
  if (c.model_type != "llama") return refuse("model_type", "'" + c.model_type + "' is not 'llama'");
  if (c.bidirectional) return refuse("model_type", "a bidirectional embedding model");
  if (!c.architectures.empty() &&
      std::find(c.architectures.begin(), c.architectures.end(), "LlamaForCausalLM") == c.architectures.end()) {
    return refuse("architectures", "'" + c.architectures.front() + "' is not LlamaForCausalLM");
  }
  if (c.attention_bias) return refuse("attention_bias", "attention biases are not exported");
  if (c.mlp_bias) return refuse("mlp_bias", "MLP biases are not exported");
  if (c.hidden_act != "silu") return refuse("hidden_act", "'" + c.hidden_act + "' is not silu");
  if (c.head_dim % 2 != 0) return refuse("head_dim", "an odd head_dim cannot be rotated");
  if (c.rope_scaling) {
    const std::string& t = c.rope_scaling->rope_type;
    if (t != "default" && t != "linear" && t != "llama3" && t != "yarn") {
      return refuse("rope_scaling.rope_type", "'" + t + "' has no GGUF equivalent");
    }
  }
  return c.validate(origin);
}

std::vector<LlamaTensorPlan> plan_llama_tensors(const model::LlamaConfig& c, GgmlType type) {
  std::vector<LlamaTensorPlan> t;
  if (!llama3_rope_factors(c).empty()) t.push_back(vector("rope_freqs.weight", "", c.head_dim / 2));
  t.push_back(matrix("token_embd.weight", "model.embed_tokens.weight", c.vocab_size, c.hidden_size, type));
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    const std::string p = "model.layers." + std::to_string(i) + ".";
    t.push_back(vector(b + "attn_norm.weight", p + "input_layernorm.weight", c.hidden_size));
    t.push_back(matrix(b + "attn_q.weight", p + "self_attn.q_proj.weight", c.q_width(), c.hidden_size, type,
                       c.num_attention_heads));
    t.push_back(matrix(b + "attn_k.weight", p + "self_attn.k_proj.weight", c.kv_width(), c.hidden_size, type,
                       c.num_key_value_heads));
    t.push_back(matrix(b + "attn_v.weight", p + "self_attn.v_proj.weight", c.kv_width(), c.hidden_size, type));
    t.push_back(matrix(b + "attn_output.weight", p + "self_attn.o_proj.weight", c.hidden_size, c.q_width(), type));
    t.push_back(vector(b + "ffn_norm.weight", p + "post_attention_layernorm.weight", c.hidden_size));
    t.push_back(matrix(b + "ffn_gate.weight", p + "mlp.gate_proj.weight", c.intermediate_size, c.hidden_size, type));
    t.push_back(matrix(b + "ffn_up.weight", p + "mlp.up_proj.weight", c.intermediate_size, c.hidden_size, type));
    t.push_back(matrix(b + "ffn_down.weight", p + "mlp.down_proj.weight", c.hidden_size, c.intermediate_size, type));
  }
  t.push_back(vector("output_norm.weight", "model.norm.weight", c.hidden_size));
  if (!c.tie_word_embeddings) t.push_back(matrix("output.weight", "lm_head.weight", c.vocab_size, c.hidden_size, type));
  return t;
}

uint32_t llama_file_type(GgmlType type) {
  switch (type) {
    case GgmlType::kF32: return 0;   // LLAMA_FTYPE_ALL_F32
    case GgmlType::kF16: return 1;   // LLAMA_FTYPE_MOSTLY_F16
    case GgmlType::kQ4_0: return 2;  // LLAMA_FTYPE_MOSTLY_Q4_0
    case GgmlType::kQ8_0: return 7;  // LLAMA_FTYPE_MOSTLY_Q8_0
    case GgmlType::kBF16: return 32; // LLAMA_FTYPE_MOSTLY_BF16
    default: return 0;
  }
}

std::vector<KeyValue> llama_architecture_metadata(const model::LlamaConfig& c, GgmlType type, const std::string& name) {
  auto u32 = [](int64_t v) { return Value::u32(static_cast<uint32_t>(v)); };
  std::vector<KeyValue> kv = {
      {"general.architecture", Value::str("llama")},
      {"general.type", Value::str("model")},
      {"general.name", Value::str(name)},
      {"general.alignment", Value::u32(kDefaultAlignment)},
      {"general.file_type", Value::u32(llama_file_type(type))},
      {"general.quantization_version", Value::u32(2)},  // GGML_QNT_VERSION
      {"llama.block_count", u32(c.num_hidden_layers)},
      {"llama.context_length", u32(c.max_position_embeddings)},
      {"llama.embedding_length", u32(c.hidden_size)},
      {"llama.feed_forward_length", u32(c.intermediate_size)},
      {"llama.attention.head_count", u32(c.num_attention_heads)},
      {"llama.attention.head_count_kv", u32(c.num_key_value_heads)},
      {"llama.rope.freq_base", Value::f32(static_cast<float>(c.rope_theta))},
      {"llama.attention.layer_norm_rms_epsilon", Value::f32(static_cast<float>(c.rms_norm_eps))},
      // Kanana sets head_dim explicitly (128 with hidden 1792 / 24 heads): llama.cpp would
      // otherwise derive hidden / heads.
      {"llama.attention.key_length", u32(c.head_dim)},
      {"llama.attention.value_length", u32(c.head_dim)},
      {"llama.vocab_size", u32(c.vocab_size)},
      {"llama.rope.dimension_count", u32(c.head_dim)},
  };
  if (c.rope_scaling) {
    const auto& r = *c.rope_scaling;
    if (r.rope_type == "linear") {
      kv.push_back({"llama.rope.scaling.type", Value::str("linear")});
      kv.push_back({"llama.rope.scaling.factor", Value::f32(static_cast<float>(r.factor))});
    } else if (r.rope_type == "yarn") {
      kv.push_back({"llama.rope.scaling.type", Value::str("yarn")});
      kv.push_back({"llama.rope.scaling.factor", Value::f32(static_cast<float>(r.factor))});
      if (r.original_max_position_embeddings) {
        kv.push_back({"llama.rope.scaling.original_context_length", u32(*r.original_max_position_embeddings)});
      }
      if (r.attention_factor) kv.push_back({"llama.rope.scaling.yarn_attn_factor", Value::f32(float(*r.attention_factor))});
      if (r.beta_fast) kv.push_back({"llama.rope.scaling.yarn_beta_fast", Value::f32(float(*r.beta_fast))});
      if (r.beta_slow) kv.push_back({"llama.rope.scaling.yarn_beta_slow", Value::f32(float(*r.beta_slow))});
    }
    // llama3: the factors travel as the rope_freqs.weight tensor (llama3_rope_factors).
  }
  return kv;
}

int64_t rope_permuted_source_row(int64_t row, int64_t rows, int64_t heads) {
  const int64_t head_dim = rows / heads, half = head_dim / 2;
  const int64_t h = row / head_dim, within = row % head_dim;
  const int64_t i = within / 2, j = within % 2;  // destination 2i + j
  return h * head_dim + j * half + i;
}

std::vector<float> llama3_rope_factors(const model::LlamaConfig& c) {
  if (!c.rope_scaling || c.rope_scaling->rope_type != "llama3") return {};
  const auto& r = *c.rope_scaling;
  const double base = c.rope_theta, dim = double(c.head_dim);
  const double old_context = double(r.original_max_position_embeddings.value_or(8192));
  const double low_wavelen = old_context / r.low_freq_factor;
  const double high_wavelen = old_context / r.high_freq_factor;
  std::vector<float> factors;
  for (int64_t k = 0; k < c.head_dim; k += 2) {
    // As the converter computes it: the frequency in fp32 (torch.arange(...) / dim, float32).
    const float freq = 1.0f / static_cast<float>(std::pow(base, double(float(k) / float(dim))));
    const double wavelen = 2 * std::numbers::pi / double(freq);
    if (wavelen < high_wavelen) {
      factors.push_back(1.0f);
    } else if (wavelen > low_wavelen) {
      factors.push_back(static_cast<float>(r.factor));
    } else {
      const double smooth = (old_context / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
      factors.push_back(static_cast<float>(1.0 / ((1 - smooth) / r.factor + smooth)));
    }
  }
  return factors;
}

}  // namespace kanana::gguf
