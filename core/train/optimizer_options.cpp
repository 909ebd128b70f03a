#include "train/optimizer_options.h"

namespace kanana::train {

Result<WeightDecayMode> parse_weight_decay_mode(const std::string& name) {
  if (name == "independent") return WeightDecayMode::kIndependent;
  if (name == "coupled") return WeightDecayMode::kCoupled;
  return invalid_argument("weight decay mode '" + name + "' is not one of: independent, coupled");
}

const char* weight_decay_mode_name(WeightDecayMode mode) {
  return mode == WeightDecayMode::kIndependent ? "independent" : "coupled";
}

const OptionTable<AdamWOptions>& adamw_option_fields() {
  using O = AdamWOptions;
  static const OptionTable<O> fields = {
      {.key = "beta1", .member = &O::beta1, .help = "first-moment decay", .min = 0, .max = 1, .max_open = true},
      {.key = "beta2", .member = &O::beta2, .help = "second-moment decay", .min = 0, .max = 1, .max_open = true},
      {.key = "eps", .member = &O::eps, .help = "denominator epsilon", .min = 0, .min_open = true},
      {.key = "weight_decay", .member = &O::weight_decay, .help = "weight decay per step", .min = 0, .max = 1,
       .max_open = true},
      {.key = "weight_decay_mode",
       .member = CustomMember<O>{.set = [](O& o, const Json& v) -> std::string {
                                   if (!v.is_string()) return "must be a string, got " + v.dump();
                                   auto mode = parse_weight_decay_mode(v.get<std::string>());
                                   if (!mode) return "is '" + v.get<std::string>() + "'; expected independent or coupled";
                                   o.decay_mode = *mode;
                                   return {};
                                 },
                                 .get = [](const O& o) -> Json { return weight_decay_mode_name(o.decay_mode); }},
       .help = "independent (Kanana: p -= wd*p) or coupled (PyTorch AdamW: p -= lr*wd*p)",
       .choices = {"independent", "coupled"}},
      {.key = "skip_1d_decay", .member = &O::skip_1d_decay, .help = "no decay on norm weights and biases"},
  };
  return fields;
}

}  // namespace kanana::train
