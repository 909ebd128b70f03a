// Training recipes of every registered type (pretrain, sft, dpo, distill, contrastive, ...).
#include "base/json.h"
#include "fuzz_target.h"
#include "train/recipe.h"

KANANA_FUZZ_TARGET(recipe) {
  auto json = kanana::parse_json(kanana::fuzz::as_text(data, size), "recipe.json");
  if (!json.is_ok()) return 0;
  auto r = kanana::json_guard("recipe.json", [&] { return kanana::train::parse_recipe(*json, "recipe.json", "/nonexistent"); });
  if (r.is_ok()) (void)kanana::train::resolved_recipe_json(*r).dump();
  return 0;
}
