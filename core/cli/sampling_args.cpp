// See sampling_args.h.
#include "cli/sampling_args.h"

#include <algorithm>
#include <thread>

namespace kanana::cli {

std::vector<OptionSpec> sampling_options(const SamplingDefaults& d) {
  std::vector<OptionSpec> o = {
      {.name = "max-new-tokens", .value_name = "N", .help = d.max_new_tokens_help, .default_value = d.max_new_tokens},
      {.name = "greedy", .help = "argmax decoding"},
      {.name = "temperature", .value_name = "T", .help = "sampling temperature", .default_value = d.temperature},
      {.name = "top-k", .value_name = "K", .help = "keep the K most likely tokens (0 = off)", .default_value = "0"},
      {.name = "top-p", .value_name = "P", .help = "nucleus sampling mass (1 = off)", .default_value = d.top_p}};
  if (d.penalties) {
    o.push_back({.name = "min-p", .value_name = "P", .help = "drop tokens below P x the top probability", .default_value = "0"});
    o.push_back({.name = "repetition-penalty", .value_name = "X", .help = "HF-style penalty (1 = off)", .default_value = "1"});
  }
  o.push_back({.name = "seed", .value_name = "N", .help = d.seed_help, .default_value = "0"});
  return o;
}

Result<SamplingArgs> parse_sampling(const Args& a) {
  SamplingArgs s;
  KANANA_ASSIGN_OR_RETURN(s.max_new_tokens, a.get_int("max-new-tokens"));
  if (s.max_new_tokens < 1) return invalid_argument("--max-new-tokens must be at least 1");
  s.greedy = a.flag("greedy");
  KANANA_ASSIGN_OR_RETURN(s.temperature, a.get_double("temperature"));
  KANANA_ASSIGN_OR_RETURN(s.top_k, a.get_int("top-k"));
  KANANA_ASSIGN_OR_RETURN(s.top_p, a.get_double("top-p"));
  if (a.has("min-p")) {
    KANANA_ASSIGN_OR_RETURN(s.min_p, a.get_double("min-p"));
  }
  if (a.has("repetition-penalty")) {
    KANANA_ASSIGN_OR_RETURN(s.repetition_penalty, a.get_double("repetition-penalty"));
  }
  KANANA_ASSIGN_OR_RETURN(int64_t seed, a.get_int("seed"));
  s.seed = static_cast<uint64_t>(seed);
  return s;
}

OptionSpec threads_option() {
  return {.name = "threads", .value_name = "N", .help = "intra-op threads (default: all cores)", .env = "KANANA_THREADS"};
}

Result<int> parse_threads(const Args& a) {
  if (!a.has("threads") || a.get("threads").empty()) return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  auto t = a.get_int("threads");
  if (!t.is_ok() || *t < 1) return invalid_argument("--threads must be a positive integer");
  return static_cast<int>(*t);
}

}  // namespace kanana::cli
