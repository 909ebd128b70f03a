// The post-training recipe types' own keys ("sft", "reward", "dpo" blocks), Torch-free: the
// options each type reads, with their defaults written once here, and their parsers. The
// tasks (sft_task.cpp, reward_task.cpp, dpo_task.cpp) read recipe.task_options as these
// structs. Compiled into kanana_train_spec (train/recipe.h lists the types).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/options.h"
#include "base/status.h"
#include "model/sampling_options.h"

namespace kanana::train {
struct Recipe;
}

namespace kanana::posttrain {

// Keys every post-training block accepts:
//   "train": "file.jsonl" | ["a.jsonl", ...]     training data (relative to the recipe)
//   "val": "file.jsonl"                          held-out data; or
//   "val_fraction": 0.05                         a seeded split of the training data
//   "tokenizer": "tokenizer.json | x.model | folder"   default: the model.init_from folder
//   "chat_template": "auto" | "chatml" | "llama3"      auto: from the tokenizer
//   "prompt_format": "chat" | "raw"              preference data only: raw = TRL standard
//                                                 text without a template (BOS prompt reply EOS)
//   "epochs": 1, "max_steps": 0                  length: max_steps if > 0, else epochs over train
//   "strict": false                              a malformed line is an error, not a skip
struct DataSpec {
  std::vector<std::filesystem::path> train;
  std::filesystem::path val;
  double val_fraction = 0.0;
  std::filesystem::path tokenizer;
  std::string chat_template = "auto";
  bool raw = false;
  double epochs = 1.0;
  int64_t max_steps = 0;
  bool strict = false;
};
const OptionTable<DataSpec>& data_spec_fields();

// Reads the keys above from `block` (train required unless train_optional).
Status parse_data_spec(const JsonReader& block, const std::filesystem::path& base, bool train_optional, DataSpec* spec);
// check_no_unknown for the data keys plus the type's own.
Status check_block_keys(const JsonReader& block, const std::vector<std::string>& own_keys);

enum class DpoLossType { kSigmoid, kIpo };
Result<DpoLossType> parse_dpo_loss_type(const std::string& name);  // "sigmoid" | "ipo"
const char* dpo_loss_type_name(DpoLossType type);

// The DPO loss: also what `kanana posttrain eval-prefs` and the annotation page use.
struct DpoOptions {
  double beta = 0.1;
  double label_smoothing = 0.0;  // sigmoid only; 0 ≤ ε < 0.5
  DpoLossType type = DpoLossType::kSigmoid;
};

struct SftOptions {
  DataSpec data;
  bool packing = true;
  bool document_attention = true;  // "attention": "document" | "row"
};

struct RewardOptions {
  DataSpec data;
};

// "online": sample replies, label them with a reward model, train (dpo_task.cpp). The
// sampling keys (max_new_tokens, temperature, top_p, top_k, min_p, repetition_penalty) are
// model/sampling_options.h's, with 64 new tokens by default and a temperature above 0; the
// seed comes from the recipe's.
struct OnlineSpec : model::SamplingOptions {
  bool enabled = false;
  std::filesystem::path reward_model;
  std::filesystem::path prompts;
  int64_t rounds = 1;
  int64_t prompts_per_round = 32;
  int64_t samples = 4;
  int64_t steps_per_round = 0;

  OnlineSpec() { max_new_tokens = 64; }
};
const OptionTable<OnlineSpec>& online_spec_fields();

struct DpoTaskOptions {
  DataSpec data;
  DpoOptions loss;
  int64_t max_prompt_len = 0;
  double rpo_alpha = 0.0;
  std::filesystem::path reference;
  OnlineSpec online;
};
const OptionTable<DpoTaskOptions>& dpo_task_fields();

Status parse_sft_recipe(const Json& json, const std::string& origin, const std::filesystem::path& base, train::Recipe& recipe);
Status parse_reward_recipe(const Json& json, const std::string& origin, const std::filesystem::path& base, train::Recipe& recipe);
Status parse_dpo_recipe(const Json& json, const std::string& origin, const std::filesystem::path& base, train::Recipe& recipe);
Json sft_recipe_json(const train::Recipe& recipe);
Json reward_recipe_json(const train::Recipe& recipe);
Json dpo_recipe_json(const train::Recipe& recipe);

}  // namespace kanana::posttrain
