// `kanana`: the headless entry point to every job (runs on GPU nodes without Qt).
#include <cstdio>
#include <exception>
#include <filesystem>
#include <new>
#include <string>
#include <vector>

#include "base/progress.h"
#include "base/signals.h"
#include "cli/registry.h"

namespace {
kanana::CancelToken g_cancel;
kanana::CancelToken g_preempt;
}  // namespace

int main(int argc, char** argv) {
  // First Ctrl-C/SIGTERM asks the running job to stop cleanly; a second one exits at once.
  kanana::install_cancel_signals(&g_cancel, kanana::cli::kExitCancelled);
  // Slurm's warning before a time limit or preemption: checkpoint and exit kExitPreempted.
  kanana::install_preempt_signal(&g_preempt);
  std::vector<std::string> args(argv + 1, argv + argc);
  kanana::cli::Context context;
  context.cancel = &g_cancel;
  context.preempt = &g_preempt;
  // The last line of defence: every error should already be a Status naming its file, but an
  // exception that escapes a command (a filesystem_error on an unreadable path, bad_alloc on a
  // size nobody bounded) is a message and exit 1, never an abort with a core dump.
  try {
    return kanana::cli::run_cli(args, context);
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "kanana: error: out of memory (an input declared a size larger than this machine can hold)\n");
  } catch (const std::filesystem::filesystem_error& e) {
    std::fprintf(stderr, "kanana: error: %s\n", e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kanana: error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "kanana: error: unknown exception\n");
  }
  return kanana::cli::kExitFailure;
}
