// AdamW's options, Torch-free (recipes are parsed and checked without LibTorch; optimizer.h
// has the optimizer itself and the update rule).
#pragma once

#include <string>

#include "base/options.h"
#include "base/status.h"

namespace kanana::train {

enum class WeightDecayMode { kIndependent, kCoupled };

// "independent" | "coupled"
Result<WeightDecayMode> parse_weight_decay_mode(const std::string& name);
const char* weight_decay_mode_name(WeightDecayMode mode);

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 1e-4;   // Kanana: independent weight decay 1e-4 (kanana-facts.md §3)
  WeightDecayMode decay_mode = WeightDecayMode::kIndependent;
  bool skip_1d_decay = true;    // no decay on norm weights and biases
};

// The recipe's "optimizer" block.
const OptionTable<AdamWOptions>& adamw_option_fields();

}  // namespace kanana::train
