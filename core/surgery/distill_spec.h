// The "distill" recipe type's own keys, Torch-free (compiled into kanana_train_spec; the task
// is distill_task.cpp):
//   "teacher": "models/teacher",            // Hugging Face folder (relative to the recipe)
//   "distill": {"temperature": 1.0,         // T; the KL term is scaled by T²
//               "alpha": 0.0,               // weight of the LM (next-token CE) loss: (1 − α)·T²·KL + α·CE
//               "top_k": 0}                 // keep only the teacher's top-k logits per position (0 = all)
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "base/json.h"
#include "base/options.h"
#include "base/status.h"

namespace kanana::train {
struct Recipe;
}

namespace kanana::surgery {

struct DistillOptions {
  std::filesystem::path teacher;
  double temperature = 1.0;
  double alpha = 0.0;
  int64_t top_k = 0;
};

// The "distill" block (temperature, alpha, top_k); "teacher" is a top-level key.
const OptionTable<DistillOptions>& distill_option_fields();

Status parse_distill_recipe(const Json& json, const std::string& origin, const std::filesystem::path& base,
                            train::Recipe& recipe);
Json distill_recipe_json(const train::Recipe& recipe);

}  // namespace kanana::surgery
