// See sampling_args.h.
#include "cli/sampling_args.h"

#include <algorithm>
#include <thread>

#include "cli/option_flags.h"

namespace kanana::cli {

std::vector<OptionSpec> sampling_options(const model::SamplingOptions& defaults) {
  return option_flags(model::sampling_fields(), defaults);
}

Status parse_sampling(const Args& a, model::SamplingOptions& out) {
  return read_option_flags(a, model::sampling_fields(), out);
}

OptionSpec weights_option() {
  return {.name = "weights", .value_name = "f32|bf16|int8|q4",
          .help = "run the Torch-free CPU engine with every weight in this format (fp32 activations); without it "
                  "LibTorch runs the model (a folder from `kanana model quantize` runs on the engine in its stored "
                  "format)"};
}

Result<std::string> parse_weights(const Args& a) {
  const std::string weights = a.has("weights") ? a.get("weights") : "";
  if (!weights.empty() && a.has("dtype") && !a.get("dtype").empty())
    return invalid_argument("--dtype sets LibTorch's compute dtype; with --weights the engine computes in fp32");
  return weights;
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
