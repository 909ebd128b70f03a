// Learning-rate schedules as pure functions of (step, total steps), one per training stage.
// Steps are optimizer steps inside the stage (0-based); with a fixed global batch, step
// fractions equal token fractions, so "80% of tokens" is 80% of the stage's steps.
//   constant   warmup, then peak
//   cosine     linear warmup to peak, then cosine from peak to min_lr_ratio·peak at the end
//   linear     linear warmup, then linear from peak to min_lr_ratio·peak (annealing stages)
//   wsd        warmup-stable-decay: warmup, peak until the last decay_fraction of steps, then
//              linear decay to min_lr_ratio·peak
//   multistep  DeepSeek LLM: warmup, then 100% of peak until 80% of the steps, 31.6% until
//              90%, then 10% (milestones/factors configurable)
// Warmup: lr = peak · (step + 1) / warmup_steps for step < warmup_steps.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/status.h"

namespace kanana::train {

struct LrSchedule {
  std::string kind = "cosine";
  double peak_lr = 3e-4;
  int64_t warmup_steps = 0;
  double min_lr_ratio = 0.1;                       // cosine, linear, wsd end
  double decay_fraction = 0.2;                     // wsd: share of steps spent decaying
  std::vector<double> milestones = {0.8, 0.9};     // multistep: fractions of the steps
  std::vector<double> factors = {0.316, 0.1};      // multistep: multiplier from each milestone on
};

// lr at 0-based `step` of `total_steps` (step ≥ total_steps is treated as the last step).
double lr_at(const LrSchedule& schedule, int64_t step, int64_t total_steps);

// Parses {"kind": ..., "peak_lr": ..., ...}; errors name `<origin>: field '<path>.<key>'`.
Result<LrSchedule> parse_lr_schedule(const Json& json, const std::string& origin, const std::string& path);
Json lr_schedule_to_json(const LrSchedule& schedule);

}  // namespace kanana::train
