// Loading the evaluated model and its tokenizer (see eval_model.h).
#include "eval/eval_model.h"

#include <torch/torch.h>

#include "model/checkpoint.h"
#include "model/llama.h"

namespace kanana::eval {

namespace fs = std::filesystem;

struct EvalModel::Impl {
  model::LlamaForCausalLM model{nullptr};
  model::LlamaConfig config;
  std::shared_ptr<const tok::Tokenizer> tokenizer;
  std::string path;
  std::string tokenizer_path;
  bool add_bos = false;
};

EvalModel::EvalModel() : impl_(std::make_unique<Impl>()) {}
EvalModel::~EvalModel() = default;

namespace {

Result<bool> resolve_add_bos(const std::string& mode, const model::LlamaConfig& config, const tok::Tokenizer& t) {
  if (mode == "yes" || mode == "true") {
    if (!t.bos_id()) return invalid_argument("--add-bos yes: the tokenizer has no BOS token");
    return true;
  }
  if (mode == "no" || mode == "false") return false;
  if (mode == "auto") return config.bos_token_id.has_value() && t.bos_id().has_value();
  return invalid_argument("add-bos must be auto, yes or no, got '" + mode + "'");
}

}  // namespace

Result<std::unique_ptr<EvalModel>> EvalModel::load(const ModelOptions& o) {
  if (o.threads > 0) torch::set_num_threads(o.threads);
  std::unique_ptr<EvalModel> m(new EvalModel());
  if (!o.tokenizer.empty()) {
    KANANA_ASSIGN_OR_RETURN(m->impl_->tokenizer, tok::load_tokenizer(o.tokenizer));
    m->impl_->tokenizer_path = o.tokenizer.string();
  } else {
    KANANA_ASSIGN_OR_RETURN(const fs::path found, tok::model_tokenizer_path(o.dir));
    KANANA_ASSIGN_OR_RETURN(m->impl_->tokenizer, tok::load_tokenizer(found));
    m->impl_->tokenizer_path = found.string();
  }
  model::LoadOptions lo;
  KANANA_ASSIGN_OR_RETURN(lo.dtype, model::parse_dtype(o.dtype));
  KANANA_ASSIGN_OR_RETURN(auto loaded, model::load_model(o.dir, lo));
  if (loaded.config.vocab_size < m->impl_->tokenizer->vocab_size()) {
    return invalid_argument(o.dir.string() + ": the model's vocab_size " + std::to_string(loaded.config.vocab_size) +
                            " is smaller than the tokenizer's " + std::to_string(m->impl_->tokenizer->vocab_size()) +
                            " (" + m->impl_->tokenizer_path + ")");
  }
  loaded.model->eval();
  m->impl_->model = loaded.model;
  m->impl_->config = loaded.config;
  std::error_code ec;
  const fs::path abs = fs::weakly_canonical(fs::absolute(o.dir), ec);
  m->impl_->path = ec ? o.dir.string() : abs.string();
  KANANA_ASSIGN_OR_RETURN(m->impl_->add_bos, resolve_add_bos(o.add_bos, loaded.config, *m->impl_->tokenizer));
  return m;
}

std::unique_ptr<EvalModel> EvalModel::wrap(const model::LlamaForCausalLM& model,
                                           std::shared_ptr<const tok::Tokenizer> tokenizer, std::string path,
                                           const std::string& add_bos) {
  std::unique_ptr<EvalModel> m(new EvalModel());
  m->impl_->model = model;
  m->impl_->config = model->config();
  m->impl_->tokenizer = std::move(tokenizer);
  m->impl_->path = std::move(path);
  auto b = resolve_add_bos(add_bos, m->impl_->config, *m->impl_->tokenizer);
  m->impl_->add_bos = b.is_ok() && *b;
  return m;
}

model::LlamaForCausalLM& EvalModel::model() { return impl_->model; }
const model::LlamaConfig& EvalModel::config() const { return impl_->config; }
const tok::Tokenizer& EvalModel::tokenizer() const { return *impl_->tokenizer; }
std::shared_ptr<const tok::Tokenizer> EvalModel::shared_tokenizer() const { return impl_->tokenizer; }
const std::string& EvalModel::path() const { return impl_->path; }
const std::string& EvalModel::tokenizer_path() const { return impl_->tokenizer_path; }
bool EvalModel::add_bos() const { return impl_->add_bos; }

std::optional<int32_t> EvalModel::prefix_token() const {
  if (auto b = impl_->tokenizer->bos_id()) return b;
  if (impl_->config.bos_token_id) return int32_t(*impl_->config.bos_token_id);
  if (auto e = impl_->tokenizer->eos_id()) return e;
  if (!impl_->config.eos_token_ids.empty()) return int32_t(impl_->config.eos_token_ids.front());
  return std::nullopt;
}

std::vector<int32_t> EvalModel::encode(std::string_view text, bool with_bos) const {
  tok::EncodeOptions eo;
  eo.add_bos = with_bos;
  eo.parse_special = false;
  return impl_->tokenizer->encode(text, eo);
}

int64_t EvalModel::max_length() const { return impl_->config.max_position_embeddings; }

std::string EvalModel::dtype_name() const { return model::dtype_name(impl_->model->dtype()); }

Json EvalModel::describe() const {
  return {{"model", "kanana"},
          {"model_path", impl_->path},
          {"model_args", "pretrained=" + impl_->path + ",dtype=" + dtype_name()},
          {"tokenizer", impl_->tokenizer_path},
          {"tokenizer_fingerprint", impl_->tokenizer->fingerprint()},
          {"add_bos", impl_->add_bos},
          {"max_length", max_length()},
          {"parameters", model::parameter_count(impl_->config)}};
}

}  // namespace kanana::eval
