// The task-type registry and helpers shared by tasks; see task.h.
#include "train/task.h"

#include <map>
#include <mutex>

#include "model/checkpoint.h"
#include "model/presets.h"

namespace kanana::train {
namespace {

struct Registry {
  std::mutex mutex;
  std::map<std::string, TaskFactory> factories;
};

Registry& registry() {
  static Registry r;  // function-local: safe from static registrars in any library
  return r;
}

}  // namespace

bool register_task_factory(const std::string& type, TaskFactory create) {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.factories[type] = std::move(create);
  return true;
}

Result<std::unique_ptr<Task>> create_task(const Recipe& recipe) {
  TaskFactory create;
  {
    auto& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    auto it = r.factories.find(recipe.type);
    if (it != r.factories.end()) create = it->second;
  }
  if (!create) return invalid_argument("recipe type '" + recipe.type + "' is not available in this build");
  return create(recipe);
}

Result<model::LlamaForCausalLM> build_recipe_model(const Recipe& recipe, torch::ScalarType dtype, torch::Device device) {
  if (!recipe.model.init_from.empty()) {
    model::LoadOptions lo;
    lo.dtype = dtype;
    lo.device = device;
    KANANA_ASSIGN_OR_RETURN(auto loaded, model::load_model(recipe.model.init_from, lo));
    return loaded.model;
  }
  model::LlamaConfig config;
  if (!recipe.model.preset.empty()) {
    KANANA_ASSIGN_OR_RETURN(config, model::preset_config(recipe.model.preset));
  } else {
    KANANA_ASSIGN_OR_RETURN(config, model::read_llama_config(recipe.model.config));
  }
  return model::init_model(config, recipe.seed, dtype, device);
}

double causal_lm_flops_per_token(model::LlamaForCausalLM& model, int64_t seq_len) {
  const auto& cfg = model->config();
  int64_t matmul_params = 0;
  for (const auto& item : model->named_parameters(true))
    if (item.value().dim() == 2) matmul_params += item.value().numel();
  if (!cfg.tie_word_embeddings) matmul_params -= model->model->embed_tokens->weight.numel();
  return 6.0 * double(matmul_params) + 12.0 * double(cfg.num_hidden_layers * cfg.q_width() * seq_len);
}

}  // namespace kanana::train
