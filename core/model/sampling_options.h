// The sampling settings of every path that draws text from a model (generation, chat and the
// Playground, annotation candidates, online DPO, the CLI's --temperature ...): one plain struct
// with its defaults written once, and its field table (base/options.h) from which come the JSON
// reading with unknown-key errors, the saved settings, the CLI flags with their --help defaults
// (cli/option_flags.h) and the checks. Torch-free and Qt-free (library kanana_model_spec), so
// the CLI, the GUI and a decode engine without LibTorch include it as they are.
//
// A component that wants other defaults (chat's temperature 0.7) derives from the struct and
// sets them in its constructor, once; its table is sampling_fields_for<Derived>() plus its own
// fields, and --help shows the derived defaults.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/options.h"
#include "base/status.h"

namespace kanana::model {

// Order and meaning follow transformers' logits processors/warpers (repetition penalty,
// temperature, top-k, top-p, min-p), so the numbers mean what they mean in HF generate().
struct SamplingOptions {
  int64_t max_new_tokens = 128;
  bool greedy = false;              // argmax; every other field except the penalty is ignored
  double temperature = 1.0;         // 0 behaves as greedy
  int64_t top_k = 0;                // 0 = off
  double top_p = 1.0;               // 1 = off
  double min_p = 0.0;               // 0 = off; keep tokens with p >= min_p * max p
  double repetition_penalty = 1.0;  // 1 = off; HF: logit < 0 ? logit * p : logit / p over seen ids
  int64_t seed = 0;                 // row r draws from its own RNG seeded from (seed, r)
};

// The settings `kanana chat`, `kanana generate` and the Playground start from: a little
// sharper than the neutral defaults above (the HF values), as chat front-ends do.
inline constexpr double kChatTemperature = 0.7;
inline constexpr double kChatTopP = 0.9;

const OptionTable<SamplingOptions>& sampling_fields();

// The same table for a struct derived from SamplingOptions (only the fields named in `keys`,
// when given); append the derived struct's own fields to it.
template <class D>
OptionTable<D> sampling_fields_for(const std::vector<std::string>& keys = {}) {
  return derived_options<D>(sampling_fields(), keys);
}

// Every value of `options` against the table: "sampling: field 'top_p' must be in (0, 1], got 0"
// (for settings that did not come through read_options: the GUI, code).
Status check_sampling(const SamplingOptions& options, const std::string& origin = "sampling");

}  // namespace kanana::model
