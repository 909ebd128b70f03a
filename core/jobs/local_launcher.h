// Runs a job on this machine, detached: a double fork puts the supervisor (supervisor_script.h)
// in its own session, re-parented away from the launching process, so closing the GUI or
// killing the CLI that launched it leaves the run going. N ranks of one command share the
// supervisor, with torchrun's variables (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR=127.0.0.1,
// a free MASTER_PORT). Liveness is checked with the supervisor's pid and its /proc start time.
#pragma once

#include "jobs/launcher.h"

namespace kanana::jobs {

class LocalLauncher : public Launcher {
 public:
  explicit LocalLauncher(LauncherOptions options = {}) : options_(std::move(options)) {}
  Result<JobHandle> launch(const JobSpec& spec) override;
  Result<JobStatus> poll(const JobHandle& handle) override;
  Status cancel(const JobHandle& handle) override;
  Result<std::filesystem::path> sync_events(const JobHandle& handle) override;

 private:
  LauncherOptions options_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (for MASTER_PORT).
Result<int> find_free_port();
std::string local_host_name();

}  // namespace kanana::jobs
