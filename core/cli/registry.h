// The `kanana` command registry. A command is a path of words ("model init") with its
// options and a run function. Commands register themselves from cli/commands/*.cpp:
//
//   KANANA_COMMAND(model_info) {
//     return {.path = "model info", .summary = "...", .options = {...},
//             .positional = {"DIR", 1, 1}, .run = [](const Args& a, Context& c) { ... }};
//   }
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/progress.h"
#include "cli/args.h"

namespace kanana::cli {

struct Context {
  CancelToken* cancel = nullptr;   // set by SIGINT / SIGTERM
  CancelToken* preempt = nullptr;  // set by SIGUSR1 (a scheduler's warning before a time limit)
};

struct Command {
  std::string path;         // words after `kanana`, space-separated
  std::string summary;      // one line for the command list
  std::string description;  // paragraphs for `kanana <path> --help`
  std::vector<OptionSpec> options;
  PositionalSpec positional;
  std::function<int(const Args&, Context&)> run;
};

void register_command(Command command);
const std::vector<Command>& commands();

// Dispatch argv (without argv[0]); prints help and usage errors itself.
int run_cli(const std::vector<std::string>& argv, Context& context);

// Print a failed Status to stderr in the form every command uses and return kExitFailure
// (or kExitUsage for kInvalidArgument when `usage` is true, kExitCancelled for kCancelled).
int report_error(const Status& status, bool usage = false);

}  // namespace kanana::cli

#define KANANA_COMMAND(id)                                                          \
  static ::kanana::cli::Command kanana_command_##id();                              \
  [[maybe_unused]] static const bool kanana_command_registered_##id =               \
      (::kanana::cli::register_command(kanana_command_##id()), true);               \
  static ::kanana::cli::Command kanana_command_##id()
