// The supervisor: a small POSIX sh script that runs next to the ranks of one job (on this
// machine or on an SSH host). It starts N ranks with torchrun's environment, records their
// pids, forwards a cancel (SIGTERM) to them and escalates to SIGKILL after a grace period,
// stops the other ranks when one fails (as torchrun does), and writes exit_status.json when
// all ranks have ended. Being a shell script, it needs nothing installed on a remote host, and
// it never shares memory with the (possibly multi-threaded) GUI that forked it.
//
// Each rank runs as `( cd WORKDIR; RANK=k ... CMD > rank-k.log 2>&1 & echo $! > rank-k.pid;
// wait; echo $? > rank-k.exit ) &`, so a rank's exit code is recorded even if the supervisor
// itself is killed. Codes above 128 are "killed by signal (code - 128)".
#pragma once

#include <map>
#include <string>
#include <vector>

namespace kanana::jobs {

struct SupervisorPlan {
  std::string run_dir;                  // absolute, or relative to the shell's cwd
  std::string workdir;                  // cwd of every rank; empty = run_dir
  std::vector<std::string> command;     // argv of every rank (already resolved)
  std::map<std::string, std::string> env;
  int nproc = 1;                        // ranks on this node
  int node_rank = 0;
  int world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  // If set, a shell command run on the job's host whose output is MASTER_PORT (a remote host
  // must pick its own free port); master_port is then ignored.
  std::string master_port_shell;
  int cancel_grace_s = 15;
};

// The script text, for `sh -c SCRIPT kanana-supervisor`.
std::string supervisor_script(const SupervisorPlan& plan);

}  // namespace kanana::jobs
