// Run a short helper command (ssh, sbatch, squeue, sacct, scancel) and collect its output,
// with a timeout so a hung network never hangs the caller. Not for the jobs themselves:
// those are started detached by the launchers.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace kanana::jobs {

struct ProcessOptions {
  std::string stdin_data;        // written to the child's stdin, then closed
  double timeout_s = 60;         // SIGKILL after this long; the result says timed_out
  std::string cwd;               // empty = inherit
};

struct ProcessResult {
  int exit_code = -1;            // -1 when killed by a signal
  int signal = 0;
  bool timed_out = false;
  std::string out;
  std::string err;
  bool ok() const { return exit_code == 0 && !timed_out; }
  // "ssh exited with code 255: Permission denied (publickey)."
  std::string describe(const std::string& what) const;
};

// argv[0] is looked up in PATH. A program that cannot be started is kNotFound naming it.
Result<ProcessResult> run_process(const std::vector<std::string>& argv, const ProcessOptions& options = {});

}  // namespace kanana::jobs
