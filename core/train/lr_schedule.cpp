// LR schedules (pure functions) and their recipe JSON; see lr_schedule.h.
#include "train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace kanana::train {

double lr_at(const LrSchedule& s, int64_t step, int64_t total_steps) {
  total_steps = std::max<int64_t>(total_steps, 1);
  step = std::clamp<int64_t>(step, 0, total_steps - 1);
  if (step < s.warmup_steps) return s.peak_lr * double(step + 1) / double(s.warmup_steps);
  const double min_lr = s.peak_lr * s.min_lr_ratio;
  // Progress after warmup in [0, 1]: 0 at the first post-warmup step, 1 at the last step.
  const int64_t span = std::max<int64_t>(total_steps - 1 - s.warmup_steps, 1);
  const double progress = std::clamp(double(step - s.warmup_steps) / double(span), 0.0, 1.0);
  if (s.kind == "constant") return s.peak_lr;
  if (s.kind == "cosine") return min_lr + 0.5 * (s.peak_lr - min_lr) * (1.0 + std::cos(std::numbers::pi * progress));
  if (s.kind == "linear") return s.peak_lr + (min_lr - s.peak_lr) * progress;
  if (s.kind == "wsd") {
    // Decay covers the last decay_fraction of all steps of the stage.
    const double decay_start = double(total_steps) * (1.0 - s.decay_fraction);
    if (double(step) < decay_start) return s.peak_lr;
    const double d = std::max(double(total_steps - 1) - decay_start, 1.0);
    return s.peak_lr + (min_lr - s.peak_lr) * std::clamp((double(step) - decay_start) / d, 0.0, 1.0);
  }
  if (s.kind == "multistep") {
    // Milestones are fractions of all steps (tokens) of the stage, as DeepSeek states them.
    double factor = 1.0;
    for (size_t i = 0; i < s.milestones.size(); ++i)
      if (double(step) >= s.milestones[i] * double(total_steps)) factor = s.factors[i];
    return s.peak_lr * factor;
  }
  return s.peak_lr;  // unknown kinds are rejected by the parser
}

Result<LrSchedule> parse_lr_schedule(const Json& json, const std::string& origin, const std::string& path) {
  if (!json.is_object()) return invalid_argument(origin + ": field '" + path + "' must be an object");
  JsonReader r(json, origin, path);
  KANANA_RETURN_IF_ERROR(r.check_no_unknown(
      {"kind", "peak_lr", "warmup_steps", "min_lr_ratio", "decay_fraction", "milestones", "factors"}));
  LrSchedule s;
  Status err;
  s.kind = r.get_string_or("kind", s.kind, &err);
  s.peak_lr = r.get_number_or("peak_lr", s.peak_lr, &err);
  s.warmup_steps = r.get_int_or("warmup_steps", s.warmup_steps, &err);
  s.min_lr_ratio = r.get_number_or("min_lr_ratio", s.min_lr_ratio, &err);
  s.decay_fraction = r.get_number_or("decay_fraction", s.decay_fraction, &err);
  KANANA_RETURN_IF_ERROR(err);
  for (const char* key : {"milestones", "factors"}) {
    if (!r.has(key)) continue;
    const Json& a = json[key];
    std::vector<double> values;
    if (!a.is_array()) return r.field_error(key, "must be an array of numbers");
    for (const auto& v : a) {
      if (!v.is_number()) return r.field_error(key, "must be an array of numbers");
      values.push_back(v.get<double>());
    }
    (std::string(key) == "milestones" ? s.milestones : s.factors) = values;
  }
  static const char* kinds[] = {"constant", "cosine", "linear", "wsd", "multistep"};
  if (std::find_if(std::begin(kinds), std::end(kinds), [&](const char* k) { return s.kind == k; }) == std::end(kinds))
    return r.field_error("kind", "is '" + s.kind + "'; expected constant, cosine, linear, wsd or multistep");
  if (!(s.peak_lr > 0) || !std::isfinite(s.peak_lr)) return r.field_error("peak_lr", "must be a positive number");
  if (s.warmup_steps < 0) return r.field_error("warmup_steps", "must be >= 0");
  if (s.min_lr_ratio < 0 || s.min_lr_ratio > 1) return r.field_error("min_lr_ratio", "must be in [0, 1]");
  if (s.decay_fraction <= 0 || s.decay_fraction > 1) return r.field_error("decay_fraction", "must be in (0, 1]");
  if (s.milestones.size() != s.factors.size())
    return r.field_error("factors", "must have as many entries as 'milestones'");
  for (size_t i = 0; i < s.milestones.size(); ++i)
    if (s.milestones[i] <= 0 || s.milestones[i] > 1 || (i > 0 && s.milestones[i] <= s.milestones[i - 1]))
      return r.field_error("milestones", "must be increasing fractions in (0, 1]");
  return s;
}

Json lr_schedule_to_json(const LrSchedule& s) {
  return Json{{"kind", s.kind}, {"peak_lr", s.peak_lr}, {"warmup_steps", s.warmup_steps},
              {"min_lr_ratio", s.min_lr_ratio}, {"decay_fraction", s.decay_fraction},
              {"milestones", s.milestones}, {"factors", s.factors}};
}

}  // namespace kanana::train
