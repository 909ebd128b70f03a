// The model under evaluation: a Hugging Face folder's weights and its tokenizer (the folder's
// own, else the run folder's tokenizer/ two levels up, as trainers leave it), with the
// encoding rules every evaluation shares (BOS, the prefix token of an empty context).
// Torch-free header: LlamaForCausalLM is only named.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "model/config.h"
#include "tokenizer/tokenizer.h"

namespace kanana::model {
class LlamaForCausalLM;
}

namespace kanana::eval {

struct ModelOptions {
  std::filesystem::path dir;
  std::filesystem::path tokenizer;  // empty: the folder's, else <run>/tokenizer for <run>/checkpoints/step-N
  std::string dtype = "f32";        // f32 | bf16 | f16 (CPU matmuls are fastest in f32)
  std::string add_bos = "auto";     // auto (when both config.json and the tokenizer have BOS) | yes | no
  int threads = 0;                  // intra-op threads; 0 = leave LibTorch's setting
};

class EvalModel {
 public:
  static Result<std::unique_ptr<EvalModel>> load(const ModelOptions& options);
  // A model already in memory (tests, benchmarks); `path` is what results record.
  static std::unique_ptr<EvalModel> wrap(const model::LlamaForCausalLM& model,
                                         std::shared_ptr<const tok::Tokenizer> tokenizer, std::string path,
                                         const std::string& add_bos = "auto");
  ~EvalModel();
  EvalModel(const EvalModel&) = delete;
  EvalModel& operator=(const EvalModel&) = delete;

  model::LlamaForCausalLM& model();
  const model::LlamaConfig& config() const;
  const tok::Tokenizer& tokenizer() const;
  std::shared_ptr<const tok::Tokenizer> shared_tokenizer() const;
  const std::string& path() const;
  const std::string& tokenizer_path() const;
  bool add_bos() const;
  // What a text with no context is conditioned on: BOS, else EOS (lm-eval's prefix token).
  std::optional<int32_t> prefix_token() const;
  std::vector<int32_t> encode(std::string_view text, bool with_bos) const;  // specials not parsed
  int64_t max_length() const;  // config.json's max_position_embeddings
  std::string dtype_name() const;
  // model, model_args-like description for results' "config".
  Json describe() const;

 private:
  EvalModel();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kanana::eval
