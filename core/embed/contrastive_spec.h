// The "contrastive" recipe type's own keys, Torch-free (compiled into kanana_train_spec; the
// task is contrastive_task.cpp):
//   "contrastive": {"train": "pairs.jsonl" | [...], "val": ..., "val_fraction": 0, "tokenizer": ...,
//                   "epochs": 1, "max_steps": 0, "temperature": 0.05, "symmetric": true,
//                   "query_task": "<instruction>", "max_val_pairs": 1000, "strict": false}
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/options.h"
#include "base/status.h"
#include "embed/embedder.h"

namespace kanana::train {
struct Recipe;
}

namespace kanana::embed {

struct ContrastiveOptions {
  std::vector<std::filesystem::path> train;
  std::filesystem::path val;
  double val_fraction = 0.0;
  std::filesystem::path tokenizer;
  double epochs = 1.0;
  int64_t max_steps = 0;
  double temperature = 0.05;
  bool symmetric = true;
  std::string query_task = kRetrievalInstruction;
  int64_t max_val_pairs = 1000;
  bool strict = false;
};
const OptionTable<ContrastiveOptions>& contrastive_option_fields();

Status parse_contrastive_recipe(const Json& json, const std::string& origin, const std::filesystem::path& base,
                                train::Recipe& recipe);
Json contrastive_recipe_json(const train::Recipe& recipe);

}  // namespace kanana::embed
