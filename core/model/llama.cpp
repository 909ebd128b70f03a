// Llama decoder forward, masks/positions for padded batches, and HF-style initialisation.
#include "model/llama.h"
#include "model/linear.h"

#include "model/activation_checkpointing_impl.h"
#include "model/dtype_name.h"

namespace kanana::model {

LlamaDecoderLayerImpl::LlamaDecoderLayerImpl(const LlamaConfig& c, int64_t layer_idx) {
  self_attn = register_module("self_attn", LlamaAttention(c, layer_idx));
  mlp = register_module("mlp", LlamaMLP(c));
  input_layernorm = register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  post_attention_layernorm = register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

torch::Tensor LlamaDecoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& cos,
                                             const torch::Tensor& sin, const torch::Tensor& allowed,
                                             KVCache* cache) {
  auto h = x + self_attn->forward(input_layernorm->forward(x), cos, sin, allowed, cache);
  return h + mlp->forward(post_attention_layernorm->forward(h));
}

LlamaModelImpl::LlamaModelImpl(const LlamaConfig& c) : config_(c), rotary_(c) {
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(c.vocab_size, c.hidden_size));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(LlamaDecoderLayer(c, i));
  norm = register_module("norm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

torch::Tensor build_attention_mask(const torch::Tensor& attention_mask, int64_t batch, int64_t seq,
                                   int64_t past, bool causal, torch::Device device) {
  const int64_t kv_len = past + seq;
  const bool causal_needed = causal && seq > 1;
  if (!attention_mask.defined() && !causal_needed) return {};
  auto opts = torch::TensorOptions().device(device);
  torch::Tensor allowed;
  if (causal_needed) {
    auto q_pos = torch::arange(past, kv_len, opts.dtype(torch::kInt64)).unsqueeze(1);  // (seq, 1)
    auto k_pos = torch::arange(0, kv_len, opts.dtype(torch::kInt64)).unsqueeze(0);     // (1, kv_len)
    allowed = (k_pos <= q_pos).view({1, 1, seq, kv_len}).expand({batch, 1, seq, kv_len});
  }
  if (attention_mask.defined()) {
    auto keys = attention_mask.to(device).ne(0).view({batch, 1, 1, kv_len});
    allowed = allowed.defined() ? allowed.logical_and(keys) : keys.expand({batch, 1, seq, kv_len});
  }
  return allowed.contiguous();
}

torch::Tensor position_ids_from_mask(const torch::Tensor& attention_mask, int64_t seq) {
  auto m = attention_mask.to(torch::kInt64);
  auto pos = m.cumsum(1) - 1;                 // (batch, total)
  pos.masked_fill_(m.eq(0), 1);               // padding: any valid position (HF uses 1)
  return pos.narrow(1, pos.size(1) - seq, seq);
}

torch::Tensor LlamaModelImpl::forward(const torch::Tensor& input_ids, const ForwardOptions& o,
                                      std::vector<torch::Tensor>* hidden_states) {
  TORCH_CHECK(input_ids.dim() == 2, "input_ids must be (batch, seq), got ", input_ids.sizes());
  const int64_t batch = input_ids.size(0), seq = input_ids.size(1);
  const int64_t past = o.cache ? o.cache->length() : 0;
  if (o.attention_mask.defined()) {
    TORCH_CHECK(o.attention_mask.dim() == 2 && o.attention_mask.size(0) == batch &&
                    o.attention_mask.size(1) == past + seq,
                "attention_mask must be (batch, past + seq) = (", batch, ", ", past + seq, "), got ",
                o.attention_mask.sizes());
  }
  const auto device = embed_tokens->weight.device();
  auto ids = input_ids.to(device, torch::kInt64);
  torch::Tensor position_ids = o.position_ids;
  if (!position_ids.defined()) {
    if (o.attention_mask.defined()) {
      position_ids = position_ids_from_mask(o.attention_mask.to(device), seq);
    } else {
      position_ids = torch::arange(past, past + seq, torch::TensorOptions().dtype(torch::kInt64).device(device))
                         .unsqueeze(0)
                         .expand({batch, seq});
    }
  }
  auto allowed = build_attention_mask(o.attention_mask, batch, seq, past, !config_.bidirectional, device);

  auto h = embed_tokens->forward(ids);  // (batch, seq, hidden)
  auto [cos, sin] = rotary_.cos_sin(position_ids.to(device), h.scalar_type());
  if (hidden_states) hidden_states->push_back(h);
  for (const auto& layer : *layers) {
    auto* l = layer->as<LlamaDecoderLayer>();
    if (!o.cache && detail::should_checkpoint(h)) {
      h = detail::checkpointed([l, cos = cos, sin = sin, allowed](const torch::Tensor& x) {
        return l->forward(x, cos, sin, allowed, nullptr);
      }, h);
    } else {
      h = l->forward(h, cos, sin, allowed, o.cache);
    }
    if (hidden_states) hidden_states->push_back(h);
  }
  if (o.cache) o.cache->advance(seq);
  h = norm->forward(h);
  // HF's last entry of hidden_states is the normed output.
  if (hidden_states) hidden_states->back() = h;
  return h;
}

LlamaForCausalLMImpl::LlamaForCausalLMImpl(const LlamaConfig& c) {
  model = register_module("model", LlamaModel(c));
  if (!c.tie_word_embeddings) {
    lm_head = register_module("lm_head", torch::nn::Linear(torch::nn::LinearOptions(c.hidden_size, c.vocab_size).bias(false)));
  }
}

torch::Tensor LlamaForCausalLMImpl::output_embedding_weight() const {
  return lm_head ? lm_head->weight : model->embed_tokens->weight;
}

torch::ScalarType LlamaForCausalLMImpl::dtype() const { return model->embed_tokens->weight.scalar_type(); }
torch::Device LlamaForCausalLMImpl::device() const { return model->embed_tokens->weight.device(); }

ForwardOutput LlamaForCausalLMImpl::forward(const torch::Tensor& input_ids, const ForwardOptions& o) {
  ForwardOutput out;
  out.last_hidden_state = model->forward(input_ids, o, o.output_hidden_states ? &out.hidden_states : nullptr);
  if (o.compute_logits) {
    auto h = out.last_hidden_state;
    if (o.logits_to_keep > 0 && o.logits_to_keep < h.size(1)) {
      h = h.narrow(1, h.size(1) - o.logits_to_keep, o.logits_to_keep);
    }
    out.logits = project(h, output_embedding_weight());  // (b, kept, vocab)
  }
  return out;
}

Result<LlamaForCausalLM> init_model(const LlamaConfig& config, uint64_t seed, torch::ScalarType dtype,
                                    torch::Device device) {
  KANANA_RETURN_IF_ERROR(config.validate("model config"));
  try {
    LlamaForCausalLM m(config);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    torch::NoGradGuard no_grad;
    // Walk in registration order so the same seed gives the same weights every time.
    for (auto& item : m->named_parameters(/*recurse=*/true)) {
      auto& p = item.value();
      const std::string& name = item.key();
      const bool is_norm = name.find("norm.weight") != std::string::npos;
      if (is_norm) {
        p.fill_(1.0);
      } else if (name.size() >= 5 && name.compare(name.size() - 5, 5, ".bias") == 0) {
        p.zero_();
      } else {
        p.normal_(0.0, config.initializer_range, gen);
      }
    }
    if (config.pad_token_id) m->model->embed_tokens->weight[*config.pad_token_id].zero_();
    m->to(device, dtype);
    return m;
  } catch (const std::exception& e) {
    return internal_error(std::string("creating the model failed: ") + e.what());
  }
}

Result<torch::ScalarType> parse_dtype(const std::string& name) {
  KANANA_ASSIGN_OR_RETURN(const std::string canonical, parse_dtype_name(name));
  if (canonical == "bfloat16") return torch::kBFloat16;
  if (canonical == "float16") return torch::kFloat16;
  return torch::kFloat32;
}

std::string dtype_name(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kBFloat16: return "bfloat16";
    case torch::kFloat16: return "float16";
    default: return "float32";
  }
}

}  // namespace kanana::model
