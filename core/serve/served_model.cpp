#include "serve/served_model.h"

#include <algorithm>

namespace kanana::serve {

Result<std::unique_ptr<ServedModel>> ServedModel::load(const std::string& name, const std::filesystem::path& dir,
                                                       const ServeOptions& options) {
  std::unique_ptr<ServedModel> m(new ServedModel());
  m->name_ = name;
  m->dir_ = dir;
  KANANA_ASSIGN_OR_RETURN(m->tokenizer_, tok::load_tokenizer(dir));
  if (auto kind = tok::detect_chat_template(*m->tokenizer_); kind.is_ok()) m->template_ = *kind;
  infer::EngineOptions eo;
  auto format = infer::parse_weight_format(options.weights);
  if (!format.is_ok()) return format.status().with_context("--weights");
  eo.weights = *format;
  eo.threads = int(options.threads);
  eo.context = options.context;
  eo.slots = options.parallel;
  KANANA_ASSIGN_OR_RETURN(m->engine_, infer::LlamaEngine::load(dir, eo));
  m->scheduler_ = std::make_unique<BatchScheduler>(*m->engine_, m->tokenizer_, options.queue);
  return m;
}

ServedModel::~ServedModel() { scheduler_.reset(); }

std::vector<int32_t> ServedModel::eos_ids() const {
  std::vector<int32_t> ids;
  for (int64_t id : config().eos_token_ids) ids.push_back(int32_t(id));
  if (ids.empty())
    if (auto e = tokenizer_->eos_id()) ids.push_back(*e);
  return ids;
}

std::vector<int32_t> ServedModel::chat_stop_ids() const {
  std::vector<int32_t> ids;
  if (template_) ids = tok::chat_stop_ids(*template_, *tokenizer_);
  for (int32_t id : eos_ids())
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  return ids;
}

}  // namespace kanana::serve
