// The launcher interface: start a job spec somewhere, find it again, ask how it is doing,
// stop it. Three implementations: LocalLauncher (detached processes on this machine),
// SshLauncher (detached processes on a host reached with `ssh`), SlurmLauncher (sbatch).
//
// Contract shared by all three: launch() returns as soon as the job is started (or queued);
// the job does not depend on the launching process, which may exit (the GUI closing), and any
// later process can attach() to the run folder and poll/cancel/sync as if it had launched it.
// Methods are safe to call from a worker thread; one Launcher object is not shared between
// threads without a lock.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "base/status.h"
#include "jobs/job_spec.h"
#include "jobs/job_status.h"

namespace kanana::jobs {

struct LauncherOptions {
  // After a cancel, ranks get SIGTERM; those still running after this many seconds get SIGKILL.
  int cancel_grace_s = 15;
  // Timeout for each helper command (ssh, sbatch, squeue ...).
  double command_timeout_s = 60;
  // Programs used by the launchers (tests point these at fakes or specific binaries).
  std::string ssh_program = "ssh";
  std::string sbatch_program = "sbatch";
  std::string squeue_program = "squeue";
  std::string sacct_program = "sacct";
  std::string scancel_program = "scancel";
};

class Launcher {
 public:
  virtual ~Launcher() = default;
  virtual Result<JobHandle> launch(const JobSpec& spec) = 0;
  virtual Result<JobStatus> poll(const JobHandle& handle) = 0;
  virtual Status cancel(const JobHandle& handle) = 0;
  // Bring events.jsonl to handle.local_dir (ssh copies the new bytes; a no-op elsewhere)
  // and return its local path.
  virtual Result<std::filesystem::path> sync_events(const JobHandle& handle) = 0;
};

// Read <local_dir>/job.json written at launch (the handle of a run started earlier).
Result<JobHandle> attach(const std::filesystem::path& local_dir);
Status write_job_file(const JobHandle& handle);

// The launcher for a handle's or a spec's target.
std::unique_ptr<Launcher> make_launcher(TargetKind kind, const LauncherOptions& options = {});

}  // namespace kanana::jobs
