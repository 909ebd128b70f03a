// config.json <-> LlamaConfig, with the validation that turns a wrong field into an error
// naming the file and the field instead of a shape mismatch deep inside a matmul.
#include "model/config.h"

#include <cmath>
#include <set>

#include "base/log.h"
#include "model/dtype_name.h"

namespace kanana::model {
namespace {

// Fields HF writes into config.json that do not change the maths of inference/training here.
const std::set<std::string>& harmless_fields() {
  static const std::set<std::string> fields = {
      "_name_or_path", "transformers_version", "pretraining_tp", "use_cache", "attention_dropout",
      "auto_map", "output_attentions", "output_hidden_states", "return_dict", "is_decoder",
      "is_encoder_decoder", "add_cross_attention", "id2label", "label2id", "problem_type",
      "tokenizer_class", "prefix", "sep_token_id", "decoder_start_token_id", "task_specific_params",
      "torchscript", "chunk_size_feed_forward", "pruned_heads", "finetuning_task", "bad_words_ids",
      "num_beams", "num_beam_groups", "max_length", "min_length", "do_sample", "early_stopping",
      "temperature", "top_k", "top_p", "typical_p", "repetition_penalty", "length_penalty",
      "no_repeat_ngram_size", "encoder_no_repeat_ngram_size", "num_return_sequences",
      "output_scores", "return_dict_in_generate", "forced_bos_token_id", "forced_eos_token_id",
      "remove_invalid_values", "exponential_decay_length_penalty", "suppress_tokens",
      "begin_suppress_tokens", "diversity_penalty", "tf_legacy_loss", "use_bfloat16",
      "cross_attention_hidden_size", "tie_encoder_decoder", "architectures", "dtype",
      "quantization_config", "layer_types", "use_sliding_window", "sliding_window",
      "max_window_layers", "partial_rotary_factor", "embedding_dropout", "hidden_dropout",
      "model_type"};
  return fields;
}

bool present(const Json& j, const char* key) { return j.contains(key) && !j[key].is_null(); }

// Every size a config.json declares is checked against a ceiling far above any real model
// before anything is allocated from it: num_hidden_layers near 2^63 would otherwise allocate
// until the process dies. The ceilings are 8-64x the largest published Llama-family shapes.
Status positive(const std::string& origin, const char* field, int64_t v, int64_t max = int64_t{1} << 24) {
  if (v <= 0 || v > max) {
    return invalid_argument(origin + ": field '" + field + "' must be a positive integer of at most " +
                            std::to_string(max) + ", got " + std::to_string(v));
  }
  return Status::ok();
}

Result<RopeScaling> parse_rope_scaling(const JsonReader& r, int64_t max_pos) {
  RopeScaling s;
  Status err;
  if (r.has("rope_type")) {
    KANANA_ASSIGN_OR_RETURN(s.rope_type, r.get_string("rope_type"));
  } else if (r.has("type")) {
    KANANA_ASSIGN_OR_RETURN(s.rope_type, r.get_string("type"));
  }
  static const std::set<std::string> known_types = {"default", "linear", "dynamic", "llama3", "yarn"};
  if (!known_types.count(s.rope_type)) {
    return r.field_error(r.has("rope_type") ? "rope_type" : "type",
                         "is '" + s.rope_type +
                             "', which is not supported (supported: default, linear, dynamic, llama3, yarn)");
  }
  s.factor = r.get_number_or("factor", 1.0, &err);
  s.low_freq_factor = r.get_number_or("low_freq_factor", 1.0, &err);
  s.high_freq_factor = r.get_number_or("high_freq_factor", 4.0, &err);
  if (r.has("original_max_position_embeddings")) {
    s.original_max_position_embeddings = r.get_int_or("original_max_position_embeddings", 0, &err);
  }
  auto opt_number = [&](const char* key, std::optional<double>& out) {
    if (r.has(key)) out = r.get_number_or(key, 0.0, &err);
  };
  opt_number("beta_fast", s.beta_fast);
  opt_number("beta_slow", s.beta_slow);
  opt_number("mscale", s.mscale);
  opt_number("mscale_all_dim", s.mscale_all_dim);
  opt_number("attention_factor", s.attention_factor);
  s.truncate = r.get_bool_or("truncate", true, &err);
  KANANA_RETURN_IF_ERROR(err);
  if (s.rope_type != "default" && !(s.factor > 0.0)) return r.field_error("factor", "must be positive");
  if (s.rope_type == "llama3") {
    if (!r.has("factor")) return r.field_error("factor", "is required for rope_type llama3");
    if (!s.original_max_position_embeddings) {
      return r.field_error("original_max_position_embeddings", "is required for rope_type llama3");
    }
    if (!(s.high_freq_factor > s.low_freq_factor)) {
      return r.field_error("high_freq_factor", "must be greater than low_freq_factor");
    }
  }
  if (s.original_max_position_embeddings && *s.original_max_position_embeddings <= 0) {
    return r.field_error("original_max_position_embeddings", "must be positive");
  }
  (void)max_pos;
  return s;
}

}  // namespace

Status LlamaConfig::validate(const std::string& origin) const {
  KANANA_RETURN_IF_ERROR(positive(origin, "hidden_size", hidden_size, int64_t{1} << 20));
  KANANA_RETURN_IF_ERROR(positive(origin, "intermediate_size", intermediate_size, int64_t{1} << 22));
  KANANA_RETURN_IF_ERROR(positive(origin, "num_hidden_layers", num_hidden_layers, 4096));
  KANANA_RETURN_IF_ERROR(positive(origin, "num_attention_heads", num_attention_heads, 4096));
  KANANA_RETURN_IF_ERROR(positive(origin, "num_key_value_heads", num_key_value_heads, 4096));
  KANANA_RETURN_IF_ERROR(positive(origin, "head_dim", head_dim, 4096));
  KANANA_RETURN_IF_ERROR(positive(origin, "vocab_size", vocab_size, int64_t{1} << 24));
  KANANA_RETURN_IF_ERROR(positive(origin, "max_position_embeddings", max_position_embeddings, int64_t{1} << 24));
  if (num_attention_heads % num_key_value_heads != 0) {
    return invalid_argument(origin + ": field 'num_attention_heads' (" + std::to_string(num_attention_heads) +
                            ") must be divisible by 'num_key_value_heads' (" +
                            std::to_string(num_key_value_heads) + ")");
  }
  if (head_dim % 2 != 0) {
    return invalid_argument(origin + ": field 'head_dim' must be even for rotary embeddings, got " +
                            std::to_string(head_dim));
  }
  if (!(rope_theta > 0.0)) return invalid_argument(origin + ": field 'rope_theta' must be positive");
  if (!(rms_norm_eps > 0.0)) return invalid_argument(origin + ": field 'rms_norm_eps' must be positive");
  if (hidden_act != "silu") {
    return invalid_argument(origin + ": field 'hidden_act' is '" + hidden_act +
                            "'; only 'silu' (SwiGLU) is supported");
  }
  if (!canonical_dtype_name(torch_dtype)) {
    return invalid_argument(origin + ": field 'torch_dtype': " + unknown_dtype_message(torch_dtype));
  }
  if (model_type != "llama" && model_type != "kanana2vec") {
    return invalid_argument(origin + ": field 'model_type' is '" + model_type +
                            "'; supported: llama, kanana2vec");
  }
  auto id_ok = [&](const char* field, int64_t id) -> Status {
    if (id < 0 || id >= vocab_size) {
      return invalid_argument(origin + ": field '" + field + "' is " + std::to_string(id) +
                              ", outside the vocabulary [0, " + std::to_string(vocab_size) + ")");
    }
    return Status::ok();
  };
  if (bos_token_id) KANANA_RETURN_IF_ERROR(id_ok("bos_token_id", *bos_token_id));
  if (pad_token_id) KANANA_RETURN_IF_ERROR(id_ok("pad_token_id", *pad_token_id));
  for (int64_t id : eos_token_ids) KANANA_RETURN_IF_ERROR(id_ok("eos_token_id", id));
  return Status::ok();
}

Result<LlamaConfig> parse_llama_config(const Json& json, const std::string& origin) {
  if (!json.is_object()) return invalid_argument(origin + ": expected a JSON object");
  JsonReader r(json, origin);
  LlamaConfig c;
  Status err;
  c.model_type = r.get_string_or("model_type", "llama", &err);
  c.bidirectional = c.model_type == "kanana2vec";
  if (present(json, "architectures")) {
    if (!json["architectures"].is_array()) return r.field_error("architectures", "must be a list of strings");
    c.architectures.clear();
    for (const auto& a : json["architectures"]) {
      if (!a.is_string()) return r.field_error("architectures", "must be a list of strings");
      c.architectures.push_back(a.get<std::string>());
    }
  }
  auto required_int = [&](const char* key, int64_t& out) -> Status {
    auto v = r.get_int(key);
    if (!v.is_ok()) return r.has(key) ? v.status() : r.field_error(key, "is missing");
    out = *v;
    return Status::ok();
  };
  KANANA_RETURN_IF_ERROR(required_int("hidden_size", c.hidden_size));
  KANANA_RETURN_IF_ERROR(required_int("intermediate_size", c.intermediate_size));
  KANANA_RETURN_IF_ERROR(required_int("num_hidden_layers", c.num_hidden_layers));
  KANANA_RETURN_IF_ERROR(required_int("num_attention_heads", c.num_attention_heads));
  KANANA_RETURN_IF_ERROR(required_int("vocab_size", c.vocab_size));
  c.num_key_value_heads = r.get_int_or("num_key_value_heads", c.num_attention_heads, &err);
  KANANA_RETURN_IF_ERROR(positive(origin, "num_attention_heads", c.num_attention_heads));
  c.head_dim = r.get_int_or("head_dim", c.hidden_size / c.num_attention_heads, &err);
  c.max_position_embeddings = r.get_int_or("max_position_embeddings", 2048, &err);
  c.rope_theta = r.get_number_or("rope_theta", 10000.0, &err);
  c.rms_norm_eps = r.get_number_or("rms_norm_eps", 1e-6, &err);
  c.initializer_range = r.get_number_or("initializer_range", 0.02, &err);
  c.tie_word_embeddings = r.get_bool_or("tie_word_embeddings", false, &err);
  c.attention_bias = r.get_bool_or("attention_bias", false, &err);
  c.mlp_bias = r.get_bool_or("mlp_bias", false, &err);
  c.hidden_act = r.get_string_or("hidden_act", "silu", &err);
  c.use_cache = r.get_bool_or("use_cache", true, &err);
  // Newer transformers write "dtype", older "torch_dtype".
  c.torch_dtype = r.get_string_or("torch_dtype", r.get_string_or("dtype", "float32", &err), &err);
  KANANA_RETURN_IF_ERROR(err);
  if (auto canonical = canonical_dtype_name(c.torch_dtype)) c.torch_dtype = *canonical;  // "bf16" -> "bfloat16"
  if (r.has("bos_token_id")) { KANANA_ASSIGN_OR_RETURN(c.bos_token_id, r.get_int("bos_token_id")); }
  if (r.has("pad_token_id")) { KANANA_ASSIGN_OR_RETURN(c.pad_token_id, r.get_int("pad_token_id")); }
  if (present(json, "eos_token_id")) {
    const Json& e = json["eos_token_id"];
    if (e.is_array()) {
      for (const auto& x : e) {
        if (!x.is_number_integer()) return r.field_error("eos_token_id", "must be an integer or a list of integers");
        c.eos_token_ids.push_back(x.get<int64_t>());
      }
    } else if (e.is_number_integer()) {
      c.eos_token_ids.push_back(e.get<int64_t>());
    } else {
      return r.field_error("eos_token_id", "must be an integer or a list of integers, got " + e.dump());
    }
  }
  if (present(json, "rope_scaling")) {
    KANANA_ASSIGN_OR_RETURN(auto rs_reader, r.child("rope_scaling"));
    KANANA_ASSIGN_OR_RETURN(auto rs, parse_rope_scaling(rs_reader, c.max_position_embeddings));
    if (rs.rope_type != "default") c.rope_scaling = rs;
  }
  static const std::set<std::string> read_fields = {
      "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
      "num_key_value_heads", "head_dim", "vocab_size", "max_position_embeddings", "rope_theta",
      "rope_scaling", "rms_norm_eps", "initializer_range", "tie_word_embeddings", "attention_bias",
      "mlp_bias", "hidden_act", "bos_token_id", "eos_token_id", "pad_token_id", "torch_dtype"};
  for (const auto& [key, value] : json.items()) {
    if (read_fields.count(key) || harmless_fields().count(key)) continue;
    // Unknown fields usually belong to another architecture (e.g. "num_experts"): say so once.
    log::warning(origin + ": ignoring unknown field '" + key + "'");
  }
  if (present(json, "partial_rotary_factor") && json["partial_rotary_factor"].is_number() &&
      json["partial_rotary_factor"].get<double>() != 1.0) {
    return r.field_error("partial_rotary_factor", "must be 1.0 (partial rotary embeddings are not supported)");
  }
  if (present(json, "sliding_window") && r.get_bool_or("use_sliding_window", false, &err)) {
    return r.field_error("use_sliding_window", "is true; sliding-window attention is not supported");
  }
  KANANA_RETURN_IF_ERROR(c.validate(origin));
  return c;
}

Result<LlamaConfig> parse_llama_config_text(const std::string& text, const std::string& origin) {
  KANANA_ASSIGN_OR_RETURN(Json j, parse_json(text, origin));
  return json_guard(origin, [&] { return parse_llama_config(j, origin); });
}

Result<LlamaConfig> read_llama_config(const std::filesystem::path& path) {
  std::filesystem::path file = path;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) file = path / "config.json";
  KANANA_ASSIGN_OR_RETURN(Json j, read_json_file(file));
  return json_guard(file.string(), [&] { return parse_llama_config(j, file.string()); });
}

Json llama_config_to_json(const LlamaConfig& c) {
  Json j;
  j["architectures"] = c.architectures;
  j["model_type"] = c.model_type;
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_key_value_heads"] = c.num_key_value_heads;
  j["head_dim"] = c.head_dim;
  j["vocab_size"] = c.vocab_size;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["rope_theta"] = c.rope_theta;
  if (c.rope_scaling) {
    const RopeScaling& s = *c.rope_scaling;
    Json rs;
    rs["rope_type"] = s.rope_type;
    rs["factor"] = s.factor;
    if (s.rope_type == "llama3") {
      rs["low_freq_factor"] = s.low_freq_factor;
      rs["high_freq_factor"] = s.high_freq_factor;
    }
    if (s.original_max_position_embeddings) rs["original_max_position_embeddings"] = *s.original_max_position_embeddings;
    if (s.beta_fast) rs["beta_fast"] = *s.beta_fast;
    if (s.beta_slow) rs["beta_slow"] = *s.beta_slow;
    if (s.mscale) rs["mscale"] = *s.mscale;
    if (s.mscale_all_dim) rs["mscale_all_dim"] = *s.mscale_all_dim;
    if (s.attention_factor) rs["attention_factor"] = *s.attention_factor;
    if (s.rope_type == "yarn" && !s.truncate) rs["truncate"] = false;
    j["rope_scaling"] = rs;
  } else {
    j["rope_scaling"] = nullptr;
  }
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["initializer_range"] = c.initializer_range;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["attention_bias"] = c.attention_bias;
  j["attention_dropout"] = 0.0;
  j["mlp_bias"] = c.mlp_bias;
  j["hidden_act"] = c.hidden_act;
  j["bos_token_id"] = c.bos_token_id ? Json(*c.bos_token_id) : Json(nullptr);
  if (c.eos_token_ids.size() == 1) {
    j["eos_token_id"] = c.eos_token_ids[0];
  } else if (c.eos_token_ids.empty()) {
    j["eos_token_id"] = nullptr;
  } else {
    j["eos_token_id"] = c.eos_token_ids;
  }
  if (c.pad_token_id) j["pad_token_id"] = *c.pad_token_id;
  j["torch_dtype"] = c.torch_dtype;
  j["use_cache"] = c.use_cache;
  j["pretraining_tp"] = 1;
  return j;
}

Status write_llama_config(const std::filesystem::path& path, const LlamaConfig& config) {
  return write_json_file(path, llama_config_to_json(config));
}

Json generation_config_json(const LlamaConfig& c) {
  Json j;
  if (c.bos_token_id) j["bos_token_id"] = *c.bos_token_id;
  if (c.eos_token_ids.size() == 1) j["eos_token_id"] = c.eos_token_ids[0];
  else if (!c.eos_token_ids.empty()) j["eos_token_id"] = c.eos_token_ids;
  if (c.pad_token_id) j["pad_token_id"] = *c.pad_token_id;
  return j;
}

int64_t embedding_parameter_count(const LlamaConfig& c) {
  return c.vocab_size * c.hidden_size * (c.tie_word_embeddings ? 1 : 2);
}

int64_t non_embedding_parameter_count(const LlamaConfig& c) {
  const int64_t h = c.hidden_size, q = c.q_width(), kv = c.kv_width(), f = c.intermediate_size;
  int64_t attn = h * q + 2 * h * kv + q * h;
  if (c.attention_bias) attn += q + 2 * kv + h;
  int64_t mlp = 3 * h * f;
  if (c.mlp_bias) mlp += 2 * f + h;
  const int64_t norms = 2 * h;
  return c.num_hidden_layers * (attn + mlp + norms) + h /* final norm */;
}

int64_t parameter_count(const LlamaConfig& c) {
  return embedding_parameter_count(c) + non_embedding_parameter_count(c);
}

double forward_flops_per_token(const LlamaConfig& c, int64_t context_length) {
  const double h = c.hidden_size, q = c.q_width(), kv = c.kv_width(), f = c.intermediate_size;
  const double per_layer = 2.0 * (h * q + 2 * h * kv + q * h + 3 * h * f) +
                           2.0 * 2.0 * q * static_cast<double>(context_length);
  return c.num_hidden_layers * per_layer + 2.0 * h * c.vocab_size;
}

}  // namespace kanana::model
