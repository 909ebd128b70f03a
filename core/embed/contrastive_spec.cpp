#include "embed/contrastive_spec.h"

#include "train/recipe.h"

namespace kanana::embed {

namespace fs = std::filesystem;

const OptionTable<ContrastiveOptions>& contrastive_option_fields() {
  using C = ContrastiveOptions;
  static const OptionTable<C> fields = {
      {.key = "train", .member = &C::train, .help = "query/positive pairs: a JSONL file or a list of them",
       .required = true},
      {.key = "val", .member = &C::val, .help = "held-out pairs (JSONL)"},
      {.key = "val_fraction", .member = &C::val_fraction, .help = "seeded held-out share of the training pairs",
       .min = 0, .max = 1, .max_open = true},
      {.key = "tokenizer", .member = &C::tokenizer, .help = "tokenizer file or folder (default: the model's)"},
      {.key = "epochs", .member = &C::epochs, .help = "passes over the training pairs", .min = 0, .min_open = true},
      {.key = "max_steps", .member = &C::max_steps, .help = "optimizer steps (0 = from epochs)", .min = 0},
      {.key = "temperature", .member = &C::temperature, .help = "InfoNCE temperature", .min = 0, .min_open = true},
      {.key = "symmetric", .member = &C::symmetric, .help = "also the positive-to-query loss"},
      {.key = "query_task", .member = &C::query_task, .help = "instruction prefixed to queries"},
      {.key = "max_val_pairs", .member = &C::max_val_pairs, .help = "validation pairs scored at most", .min = 2},
      {.key = "strict", .member = &C::strict, .help = "a malformed line is an error, not a skip"},
  };
  return fields;
}

Status parse_contrastive_recipe(const Json& json, const std::string& origin, const fs::path& base,
                                train::Recipe& recipe) {
  JsonReader rd(json, origin);
  if (!rd.has("contrastive")) return rd.field_error("contrastive", "is required for type 'contrastive'");
  KANANA_ASSIGN_OR_RETURN(JsonReader b, rd.child("contrastive"));
  const Json& t = b.json().contains("train") ? b.json()["train"] : Json();
  if (b.has("train") && !(t.is_string() || (t.is_array() && !t.empty())))
    return b.field_error("train", "must be a file name or a non-empty list of file names");
  ContrastiveOptions o;
  KANANA_RETURN_IF_ERROR(read_options(b, contrastive_option_fields(), o, base));
  if (!o.val.empty() && o.val_fraction > 0) return b.field_error("val_fraction", "cannot be combined with 'val'");
  recipe.task_options = o;
  return Status::ok();
}

Json contrastive_recipe_json(const train::Recipe& recipe) {
  const auto& o = std::any_cast<const ContrastiveOptions&>(recipe.task_options);
  Json block = options_to_json(o, contrastive_option_fields());
  if (o.val.empty()) block.erase("val");
  if (o.tokenizer.empty()) block.erase("tokenizer");
  return {{"contrastive", block}};
}

}  // namespace kanana::embed
