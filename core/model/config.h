// LlamaConfig: the Hugging Face `config.json` of a Llama-family checkpoint (Kanana, Llama 3),
// read and written field for field so released checkpoints load unchanged and ours load in
// transformers. Torch-free: other modules (data, jobs, GUI) read configs without LibTorch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/status.h"

namespace kanana::model {

// `rope_scaling` of config.json. HF writes the kind under "rope_type" (newer) or "type" (older).
struct RopeScaling {
  std::string rope_type = "default";  // default | linear | dynamic | llama3 | yarn
  double factor = 1.0;
  // llama3
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  // llama3 and yarn (yarn: optional; when given, HF derives factor = max_pos / original)
  std::optional<int64_t> original_max_position_embeddings;
  // yarn
  std::optional<double> beta_fast;         // HF default 32
  std::optional<double> beta_slow;         // HF default 1
  std::optional<double> mscale;
  std::optional<double> mscale_all_dim;
  std::optional<double> attention_factor;  // overrides the mscale formula
  bool truncate = true;                    // yarn: floor/ceil the correction range
};

struct LlamaConfig {
  std::string model_type = "llama";  // "llama" or "kanana2vec" (bidirectional embedding model)
  std::vector<std::string> architectures = {"LlamaForCausalLM"};
  int64_t hidden_size = 64;
  int64_t intermediate_size = 172;
  int64_t num_hidden_layers = 2;
  int64_t num_attention_heads = 4;
  int64_t num_key_value_heads = 4;
  int64_t head_dim = 16;             // explicit in Kanana (128 with hidden 1792 / 24 heads)
  int64_t vocab_size = 512;
  int64_t max_position_embeddings = 2048;
  double rope_theta = 10000.0;
  std::optional<RopeScaling> rope_scaling;  // null in config.json = none
  double rms_norm_eps = 1e-5;
  double initializer_range = 0.02;
  bool tie_word_embeddings = false;
  bool attention_bias = false;
  bool mlp_bias = false;
  std::string hidden_act = "silu";
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;     // config.json: an int or a list
  std::optional<int64_t> pad_token_id;
  std::string torch_dtype = "float32";    // "float32" | "bfloat16" | "float16"
  bool use_cache = true;
  // Not a config.json field: attention over all positions (kanana2vec sets is_causal=False).
  bool bidirectional = false;

  int64_t q_width() const { return num_attention_heads * head_dim; }
  int64_t kv_width() const { return num_key_value_heads * head_dim; }
  int64_t kv_groups() const { return num_attention_heads / num_key_value_heads; }

  // Every inconsistency as an error naming `origin` (a file) and the field.
  Status validate(const std::string& origin = "config.json") const;
};

// Parse config.json text / an object; `origin` goes into every error message.
Result<LlamaConfig> parse_llama_config(const Json& json, const std::string& origin = "config.json");
Result<LlamaConfig> parse_llama_config_text(const std::string& text, const std::string& origin = "config.json");
// Reads `<dir>/config.json` when `path` is a folder.
Result<LlamaConfig> read_llama_config(const std::filesystem::path& path);

Json llama_config_to_json(const LlamaConfig& config);
Status write_llama_config(const std::filesystem::path& path, const LlamaConfig& config);
// generation_config.json next to it (bos/eos/pad).
Json generation_config_json(const LlamaConfig& config);

// Sizes. Counts follow the modules exactly (biases, untied lm_head, norms included).
int64_t parameter_count(const LlamaConfig& config);
int64_t embedding_parameter_count(const LlamaConfig& config);  // embed_tokens (+ lm_head if untied)
int64_t non_embedding_parameter_count(const LlamaConfig& config);
// Forward FLOPs per token for a context of `context_length` tokens: 2 per multiply-add of
// every matmul with a weight (lm_head included, embedding lookup not) plus attention scores
// and weighted values (2 * 2 * layers * q_width * context_length).
double forward_flops_per_token(const LlamaConfig& config, int64_t context_length);

}  // namespace kanana::model
