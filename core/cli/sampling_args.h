// Options shared by the commands that sample from a model (`generate`, `chat`,
// `prefs generate`): the flags of model::sampling_fields() with each command's own defaults
// shown in --help (a typed struct, not strings), and their parsing with the table's checks and
// the same errors everywhere. Torch-free (model/sampling_options.h is).
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "cli/args.h"
#include "model/sampling_options.h"

namespace kanana::cli {

// --max-new-tokens, --greedy, --temperature, --top-k, --top-p, --min-p, --repetition-penalty,
// --seed; --help shows the values of `defaults` (a command passes the struct it parses into).
std::vector<OptionSpec> sampling_options(const model::SamplingOptions& defaults = {});
// The values of those options into `out`, which holds the same defaults as sampling_options()
// was given (absent flags keep them); a malformed number or a value outside the table's range
// is an error naming the flag ("--top-p must be in (0, 1], got 0").
Status parse_sampling(const Args& args, model::SamplingOptions& out);

// --weights f32|bf16|int8|q4: run the Torch-free CPU engine with every weight in that format
// (`generate`, `chat`; the value is checked where the engine loads, by infer::parse_weight_format).
OptionSpec weights_option();
// The --weights value ("" when absent); a usage error when --dtype is given with it (the engine
// computes in fp32; --dtype is LibTorch's).
Result<std::string> parse_weights(const Args& args);

// --threads N (env KANANA_THREADS): intra-op threads, by default every core.
OptionSpec threads_option();
Result<int> parse_threads(const Args& args);

}  // namespace kanana::cli
