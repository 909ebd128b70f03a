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
  std::map<std::string, TaskType> types;
};

Registry& registry() {
  static Registry r;  // function-local: safe from static registrars in any library
  return r;
}

}  // namespace

bool register_task_type(TaskType type) {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::string name = type.name;
  r.types[name] = std::move(type);
  return true;
}

const TaskType* find_task_type(const std::string& name) {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.types.find(name);
  return it == r.types.end() ? nullptr : &it->second;
}

std::vector<const TaskType*> task_types() {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::vector<const TaskType*> out;
  for (const auto& [name, type] : r.types) out.push_back(&type);
  return out;
}

Result<std::unique_ptr<Task>> create_task(const Recipe& recipe) {
  const TaskType* type = find_task_type(recipe.type);
  if (!type || !type->create)
    return invalid_argument("recipe type '" + recipe.type + "' is not available in this build");
  return type->create(recipe);
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
