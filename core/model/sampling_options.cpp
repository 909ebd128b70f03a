// The sampling table; see sampling_options.h.
#include "model/sampling_options.h"

namespace kanana::model {

const OptionTable<SamplingOptions>& sampling_fields() {
  using S = SamplingOptions;
  static const OptionTable<S> fields = {
      {.key = "max_new_tokens", .member = &S::max_new_tokens, .help = "tokens to generate at most", .min = 1},
      {.key = "greedy", .member = &S::greedy, .help = "argmax decoding"},
      {.key = "temperature", .member = &S::temperature, .help = "sampling temperature", .min = 0,
       .note = "0 = greedy"},
      {.key = "top_k", .member = &S::top_k, .help = "keep the K most likely tokens (0 = off)", .min = 0,
       .value_name = "K"},
      {.key = "top_p", .member = &S::top_p, .help = "nucleus sampling mass (1 = off)", .min = 0, .max = 1,
       .min_open = true, .value_name = "P"},
      {.key = "min_p", .member = &S::min_p, .help = "drop tokens below P x the top probability (0 = off)", .min = 0,
       .max = 1, .max_open = true, .value_name = "P"},
      {.key = "repetition_penalty", .member = &S::repetition_penalty, .help = "HF-style penalty (1 = off)", .min = 0,
       .min_open = true},
      {.key = "seed", .member = &S::seed, .help = "sampling seed", .min = 0},
  };
  return fields;
}

Status check_sampling(const SamplingOptions& options, const std::string& origin) {
  return check_options(options, sampling_fields(), origin);
}

}  // namespace kanana::model
