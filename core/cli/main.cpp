// `kanana`: the headless entry point to every job (runs on GPU nodes without Qt).
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "base/progress.h"
#include "cli/registry.h"

namespace {
kanana::CancelToken g_cancel;
kanana::CancelToken g_preempt;
int g_interrupts = 0;

// Slurm's warning before a time limit or preemption (sbatch --signal=B:USR1@N, forwarded to
// the ranks by the batch script): checkpoint and exit kExitPreempted so the job requeues.
void on_sigusr1(int) { g_preempt.cancel(); }

void on_sigint(int) {
  // First Ctrl-C asks the running job to stop cleanly; a second one exits at once.
  if (++g_interrupts > 1) std::_Exit(kanana::cli::kExitCancelled);
  g_cancel.cancel();
}
}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint);
  std::signal(SIGUSR1, on_sigusr1);
  std::vector<std::string> args(argv + 1, argv + argc);
  kanana::cli::Context context;
  context.cancel = &g_cancel;
  context.preempt = &g_preempt;
  return kanana::cli::run_cli(args, context);
}
