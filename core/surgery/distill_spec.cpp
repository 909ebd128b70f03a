#include "surgery/distill_spec.h"

#include "train/recipe.h"

namespace kanana::surgery {

namespace fs = std::filesystem;

const OptionTable<DistillOptions>& distill_option_fields() {
  using D = DistillOptions;
  static const OptionTable<D> fields = {
      {.key = "temperature", .member = &D::temperature, .help = "softmax temperature T (the KL is scaled by T^2)",
       .min = 0, .min_open = true},
      {.key = "alpha", .member = &D::alpha, .help = "weight of the LM loss: (1-a)*T^2*KL + a*CE", .min = 0, .max = 1},
      {.key = "top_k", .member = &D::top_k, .help = "teacher logits kept per position", .min = 0,
       .note = "0 = every logit"},
  };
  return fields;
}

Status parse_distill_recipe(const Json& json, const std::string& origin, const fs::path& base, train::Recipe& recipe) {
  JsonReader rd(json, origin);
  DistillOptions o;
  if (!rd.has("teacher")) return rd.field_error("teacher", "is required (the teacher model's Hugging Face folder)");
  KANANA_ASSIGN_OR_RETURN(std::string teacher, rd.get_string("teacher"));
  if (teacher.empty()) return rd.field_error("teacher", "is empty");
  o.teacher = fs::path(teacher).is_absolute() || base.empty() ? fs::path(teacher) : base / teacher;
  std::error_code ec;
  if (!fs::exists(o.teacher / "config.json", ec))
    return rd.field_error("teacher", "names " + o.teacher.string() + ", which has no config.json");
  if (rd.has("distill")) {
    KANANA_ASSIGN_OR_RETURN(JsonReader d, rd.child("distill"));
    KANANA_RETURN_IF_ERROR(read_options(d, distill_option_fields(), o, base));
  }
  recipe.task_options = o;
  return Status::ok();
}

Json distill_recipe_json(const train::Recipe& recipe) {
  const auto& o = std::any_cast<const DistillOptions&>(recipe.task_options);
  return {{"teacher", o.teacher.string()}, {"distill", options_to_json(o, distill_option_fields())}};
}

}  // namespace kanana::surgery
