// Options shared by the commands that sample from a model (`generate`, `chat`,
// `prefs generate`): their specs, with each command's own defaults, and their parsing with
// the same errors everywhere. Torch-free: callers copy the values into their own options.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "cli/args.h"

namespace kanana::cli {

struct SamplingDefaults {
  std::string max_new_tokens = "128";
  std::string max_new_tokens_help = "tokens to generate at most";
  std::string temperature = "0.7";
  std::string top_p = "0.9";
  std::string seed_help = "sampling seed";
  bool penalties = true;  // also --min-p and --repetition-penalty
};

struct SamplingArgs {
  int64_t max_new_tokens = 0;
  bool greedy = false;
  double temperature = 0, top_p = 1, min_p = 0, repetition_penalty = 1;
  int64_t top_k = 0;
  uint64_t seed = 0;
};

// --max-new-tokens, --greedy, --temperature, --top-k, --top-p, [--min-p, --repetition-penalty], --seed
std::vector<OptionSpec> sampling_options(const SamplingDefaults& defaults = {});
// The values of those options; a malformed number or a non-positive --max-new-tokens is an error.
Result<SamplingArgs> parse_sampling(const Args& args);

// --threads N (env KANANA_THREADS): intra-op threads, by default every core.
OptionSpec threads_option();
Result<int> parse_threads(const Args& args);

}  // namespace kanana::cli
