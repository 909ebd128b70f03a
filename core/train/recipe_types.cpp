// Every recipe type the project trains, in one list (recipe.h). A new type adds its spec
// (options struct, field table, parser, to_json; Torch-free) and one line here, and registers
// its Torch task with register_task_factory (task.h).
#include "embed/contrastive_spec.h"
#include "posttrain/posttrain_spec.h"
#include "surgery/distill_spec.h"
#include "train/recipe.h"

namespace kanana::train {

const std::vector<RecipeType>& recipe_type_table() {
  static const std::vector<RecipeType> types = {
      {.name = "contrastive",
       .summary = "embedding model (Kanana2Vec: bidirectional, mean pooled) with InfoNCE on query/positive pairs",
       .keys = {"contrastive"},
       .parse = embed::parse_contrastive_recipe,
       .to_json = embed::contrastive_recipe_json},
      {.name = "distill",
       .summary = "logit distillation (forward KL, temperature, optional top-k and LM loss) from a teacher",
       .uses_stages = true,
       .keys = {"teacher", "distill"},
       .parse = surgery::parse_distill_recipe,
       .to_json = surgery::distill_recipe_json},
      {.name = "dpo",
       .summary = "DPO/IPO against a frozen reference (offline pairs, or online: sample, reward-model label, train)",
       .keys = {"dpo"},
       .parse = posttrain::parse_dpo_recipe,
       .to_json = posttrain::dpo_recipe_json},
      {.name = "pretrain",
       .summary = "causal-LM pre-training on packed token shards, staged mixtures",
       .uses_stages = true},
      {.name = "reward",
       .summary = "Bradley-Terry reward model (Llama + scalar head) on preference pairs",
       .keys = {"reward"},
       .parse = posttrain::parse_reward_recipe,
       .to_json = posttrain::reward_recipe_json},
      {.name = "sft",
       .summary = "supervised fine-tuning on chat JSONL (loss on assistant tokens, packed rows)",
       .keys = {"sft"},
       .parse = posttrain::parse_sft_recipe,
       .to_json = posttrain::sft_recipe_json},
  };
  return types;
}

}  // namespace kanana::train
