// Command-line options for `kanana` subcommands: each command declares its options once
// (name, value name, default, environment variable, help), and gets typed accessors whose
// errors are usage errors naming the flag.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace kanana::cli {

// Process exit codes shared by every command.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,    // the work failed (bad data, I/O error, NaN loss ...)
  kExitUsage = 2,      // the command line was wrong; nothing was done
  kExitPreempted = 75, // checkpointed on a scheduler's warning signal (SIGUSR1); resume to continue
  kExitCancelled = 130 // interrupted (SIGINT) after cleaning up
};

struct OptionSpec {
  std::string name;            // long name without dashes: "max-new-tokens"
  std::string value_name;      // "N"; empty for a boolean flag
  std::string help;
  std::string default_value;   // shown in --help; used when absent
  std::string env;             // environment variable consulted when the flag is absent
  bool repeated = false;       // may be given several times (get_all)
  bool required = false;
  char short_name = 0;         // optional one-letter alias: 'o' for -o
  bool is_flag() const { return value_name.empty(); }
};

// The options of `first`, then those of each group in `rest` (commands share option groups).
// The two-group form also takes a braced list: concat(common, {{.name = "x"}, ...}).
inline std::vector<OptionSpec> concat(std::vector<OptionSpec> first, const std::vector<OptionSpec>& second) {
  first.insert(first.end(), second.begin(), second.end());
  return first;
}
template <typename... Groups>
std::vector<OptionSpec> concat(std::vector<OptionSpec> first, const Groups&... rest) {
  (first.insert(first.end(), rest.begin(), rest.end()), ...);
  return first;
}

struct PositionalSpec {
  std::string name = "";       // "FILE..." in the usage line; empty = none accepted
  int min_count = 0;
  int max_count = 0;           // -1 = unbounded
};

class Args {
 public:
  const std::vector<std::string>& positional() const { return positional_; }
  bool has(const std::string& name) const;          // given explicitly, by env, or has a default
  bool flag(const std::string& name) const;         // boolean flag given
  std::string get(const std::string& name) const;   // value, env, or default ("" if none)
  std::vector<std::string> get_all(const std::string& name) const;
  Result<int64_t> get_int(const std::string& name) const;
  Result<double> get_double(const std::string& name) const;

  // Filled by parse_args.
  std::map<std::string, std::vector<std::string>> values;
  std::map<std::string, std::string> defaults;
  std::vector<std::string> positional_;
};

// Parse argv (after the command words). Errors are kInvalidArgument with a message that
// names the offending flag; --help is reported through `*wants_help`.
Result<Args> parse_args(const std::vector<OptionSpec>& options, const PositionalSpec& positional,
                        const std::vector<std::string>& argv, bool* wants_help);

std::string format_options_help(const std::vector<OptionSpec>& options);

}  // namespace kanana::cli
