// Loading and saving HF Llama checkpoints (see checkpoint.h).
#include "model/checkpoint.h"

#include <set>
#include <sstream>

#include "base/files.h"
#include "base/json.h"
#include "base/log.h"
#include "safetensors/safetensors.h"

namespace kanana::model {
namespace {

std::string shape_str(at::IntArrayRef s) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << "]";
  return os.str();
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Restores the default dtype on scope exit, so the model's parameters are created directly in
// the target dtype (a 2.1B model never exists in fp32 while loading bf16).
class DefaultDtypeGuard {
 public:
  explicit DefaultDtypeGuard(torch::ScalarType dtype) : saved_(torch::get_default_dtype()) {
    torch::set_default_dtype(caffe2::TypeMeta::fromScalarType(dtype));
  }
  ~DefaultDtypeGuard() { torch::set_default_dtype(saved_); }

 private:
  caffe2::TypeMeta saved_;
};

}  // namespace

std::vector<std::pair<std::string, std::vector<int64_t>>> expected_tensors(const LlamaConfig& c) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> t;
  t.push_back({"model.embed_tokens.weight", {c.vocab_size, c.hidden_size}});
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    t.push_back({p + "self_attn.q_proj.weight", {c.q_width(), c.hidden_size}});
    t.push_back({p + "self_attn.k_proj.weight", {c.kv_width(), c.hidden_size}});
    t.push_back({p + "self_attn.v_proj.weight", {c.kv_width(), c.hidden_size}});
    t.push_back({p + "self_attn.o_proj.weight", {c.hidden_size, c.q_width()}});
    if (c.attention_bias) {
      t.push_back({p + "self_attn.q_proj.bias", {c.q_width()}});
      t.push_back({p + "self_attn.k_proj.bias", {c.kv_width()}});
      t.push_back({p + "self_attn.v_proj.bias", {c.kv_width()}});
      t.push_back({p + "self_attn.o_proj.bias", {c.hidden_size}});
    }
    t.push_back({p + "mlp.gate_proj.weight", {c.intermediate_size, c.hidden_size}});
    t.push_back({p + "mlp.up_proj.weight", {c.intermediate_size, c.hidden_size}});
    t.push_back({p + "mlp.down_proj.weight", {c.hidden_size, c.intermediate_size}});
    if (c.mlp_bias) {
      t.push_back({p + "mlp.gate_proj.bias", {c.intermediate_size}});
      t.push_back({p + "mlp.up_proj.bias", {c.intermediate_size}});
      t.push_back({p + "mlp.down_proj.bias", {c.hidden_size}});
    }
    t.push_back({p + "input_layernorm.weight", {c.hidden_size}});
    t.push_back({p + "post_attention_layernorm.weight", {c.hidden_size}});
  }
  t.push_back({"model.norm.weight", {c.hidden_size}});
  if (!c.tie_word_embeddings) t.push_back({"lm_head.weight", {c.vocab_size, c.hidden_size}});
  return t;
}

Status load_weights(LlamaForCausalLM& model, const st::CheckpointReader& reader, const std::string& origin,
                    bool allow_unexpected, std::vector<std::string>* warnings) {
  const LlamaConfig& config = model->config();
  auto warn = [&](const std::string& m) {
    log::warning(m);
    if (warnings) warnings->push_back(m);
  };
  // Check every name and shape first: a wrong checkpoint fails before anything is copied.
  auto params = model->named_parameters(/*recurse=*/true);
  for (const auto& item : params) {
    const std::string& name = item.key();
    if (!reader.has(name)) {
      if (name == "lm_head.weight" && config.bidirectional) {
        warn(origin + ": no 'lm_head.weight' (embedding model); the LM head stays random");
        continue;
      }
      std::string hint = name == "lm_head.weight" ? " (config.json has tie_word_embeddings=false)" : "";
      return not_found(origin + ": tensor '" + name + "' is missing" + hint);
    }
    KANANA_ASSIGN_OR_RETURN(auto info, reader.info(name));
    if (at::IntArrayRef(info.shape) != item.value().sizes()) {
      return invalid_argument(origin + ": tensor '" + name + "' has shape " + shape_str(info.shape) +
                              ", expected " + shape_str(item.value().sizes()) + " from config.json");
    }
    if (info.dtype != st::DType::F32 && info.dtype != st::DType::BF16 && info.dtype != st::DType::F16 &&
        info.dtype != st::DType::F64) {
      return invalid_argument(origin + ": tensor '" + name + "' has dtype " + st::dtype_name(info.dtype) +
                              ", expected a floating-point type");
    }
  }
  for (const auto& name : reader.names()) {
    if (params.contains(name)) continue;
    if (ends_with(name, "rotary_emb.inv_freq")) continue;  // buffers older transformers saved
    if (name == "lm_head.weight" && config.tie_word_embeddings) {
      warn(origin + ": ignoring 'lm_head.weight' because config.json ties it to the embeddings");
      continue;
    }
    std::string m = origin + ": unexpected tensor '" + name + "' (not part of a Llama model with this config.json)";
    if (!allow_unexpected) return invalid_argument(m);
    warn(m);
  }
  torch::NoGradGuard no_grad;
  for (auto& item : params) {
    if (!reader.has(item.key())) continue;
    // A zero-copy view of the mapping; copy_ converts dtype and device without a second copy.
    KANANA_ASSIGN_OR_RETURN(auto src, reader.tensor(item.key()));
    item.value().copy_(src);
  }
  return Status::ok();
}

Result<LoadedModel> load_model(const std::filesystem::path& dir, const LoadOptions& options) {
  KANANA_ASSIGN_OR_RETURN(auto config, read_llama_config(dir));
  KANANA_ASSIGN_OR_RETURN(auto reader, st::CheckpointReader::open(dir));
  if (auto it = reader->metadata().find(st::kEngineWeightsKey); it != reader->metadata().end())
    return failed_precondition(dir.string() + " holds weights quantized to " + it->second +
                               " for the CPU engine; load it with --weights " + it->second +
                               " (LibTorch reads f32/bf16/f16 checkpoints)");
  torch::ScalarType dtype = torch::kFloat32;
  if (options.dtype) {
    dtype = *options.dtype;
  } else {
    KANANA_ASSIGN_OR_RETURN(dtype, parse_dtype(config.torch_dtype));
  }
  LoadedModel out;
  out.config = config;
  try {
    {
      DefaultDtypeGuard guard(dtype);
      torch::NoGradGuard no_grad;
      out.model = LlamaForCausalLM(config);
    }
    KANANA_RETURN_IF_ERROR(load_weights(out.model, *reader, dir.string(), options.allow_unexpected, &out.warnings));
    // NaN/Inf weights (a diverged run, a broken conversion) would generate, evaluate or train
    // on garbage with exit 0; they are an error naming the first such tensor.
    for (const auto& item : out.model->named_parameters(/*recurse=*/true)) {
      if (!torch::isfinite(item.value()).all().item<bool>())
        return data_loss(dir.string() + ": tensor '" + item.key() + "' has NaN or infinite values");
    }
    if (options.device != torch::kCPU) out.model->to(options.device);
  } catch (const std::exception& e) {
    return internal_error("loading " + dir.string() + ": " + e.what());
  }
  return out;
}

Status save_model(const std::filesystem::path& dir, LlamaForCausalLM& model, const SaveModelOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return errno_status(dir, "creating the folder");
  LlamaConfig config = model->config();
  const torch::ScalarType dtype = options.dtype ? *options.dtype : model->dtype();
  config.torch_dtype = dtype_name(dtype);
  try {
    std::vector<st::TensorInfo> layout;
    std::map<std::string, torch::Tensor> by_name;
    for (const auto& item : model->named_parameters(/*recurse=*/true)) {
      st::TensorInfo info;
      info.name = item.key();
      KANANA_ASSIGN_OR_RETURN(info.dtype, st::from_scalar_type(dtype));
      info.shape = item.value().sizes().vec();
      layout.push_back(info);
      by_name[item.key()] = item.value();
    }
    st::sort_like_reference(layout);
    st::SaveOptions so;
    for (const auto& [k, v] : options.metadata) so.metadata[k] = v;
    so.max_shard_bytes = options.max_shard_bytes;
    // One converted tensor at a time: saving a bf16 copy of an fp32 model needs no second model.
    KANANA_RETURN_IF_ERROR(st::save_checkpoint(
        dir, layout,
        [&](const st::TensorInfo& info) -> Result<at::Tensor> {
          return by_name.at(info.name).detach().to(torch::kCPU, dtype).contiguous();
        },
        so));
  } catch (const std::exception& e) {
    return internal_error("saving " + dir.string() + ": " + e.what());
  }
  KANANA_RETURN_IF_ERROR(write_llama_config(dir / "config.json", config));
  return write_json_file(dir / "generation_config.json", generation_config_json(config));
}

}  // namespace kanana::model
