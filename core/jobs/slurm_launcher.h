// Runs a job under Slurm: writes <run_dir>/job.sbatch, submits it with `sbatch --parsable`,
// follows it with `squeue` (while queued/running) and `sacct` (after), cancels with `scancel`.
// The batch script starts one srun step with nodes × ntasks-per-node tasks; each task gets
// torchrun's variables from Slurm's (RANK=$SLURM_PROCID, LOCAL_RANK=$SLURM_LOCALID,
// WORLD_SIZE=$SLURM_NTASKS), MASTER_ADDR is the first node of the allocation and MASTER_PORT is
// derived from the job id, so every node computes the same values. With target.host set, the
// Slurm commands run on that login node over ssh (ssh_launcher.h) and events are mirrored.
// srun runs in the background of the batch script so signals reach its traps at once; each
// task's shell records a failed rank's exit (rank-N.failed), exit_status.json names the rank
// that failed first (srun's "task 1: Killed" line when none could record it) and poll() adds
// the last lines of its log to the reason. resources.requeue_warning_s adds
// --signal=B:USR1@N --requeue: the warning is forwarded to the ranks (they checkpoint and exit
// 75), the script requeues the job, and the requeued job runs the command with --resume.
// Measured behaviour of Slurm 22.05 behind these choices: docs/slurm-test-cluster.md.
#pragma once

#include <optional>

#include "jobs/launcher.h"

namespace kanana::jobs {

// Whether sbatch on this machine has a configuration: SLURM_CONF names an existing file, or
// one of Slurm's default places has slurm.conf (also configless clusters' slurmd cache).
// Otherwise kFailedPrecondition saying what to do (sbatch itself retries for a minute first).
Status check_slurm_config();

// The batch script for `spec`, run in `run_dir` (a path on the cluster).
std::string sbatch_script(const JobSpec& spec, const std::string& run_dir);

// `sbatch --parsable` prints "<id>" or "<id>;<cluster>".
Result<std::string> parse_sbatch_id(const std::string& output);

// Slurm's job state words (squeue %T, sacct State: "CANCELLED by 1000" → CANCELLED) mapped to
// ours; nullopt for a word we don't know.
std::optional<JobState> map_slurm_state(const std::string& word);

// `squeue -h -j ID -o %T`: the state word, or nullopt if the job has left the queue.
std::optional<std::string> parse_squeue_state(const std::string& output);

struct SacctRecord {
  std::string state;      // "COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", ...
  int exit_code = 0;      // ExitCode "code:signal"
  int signal = 0;
};
// `sacct -n -P -X -j ID -o JobID,State,ExitCode`: the allocation's line for `job_id`.
std::optional<SacctRecord> parse_sacct(const std::string& output, const std::string& job_id);

class SlurmLauncher : public Launcher {
 public:
  explicit SlurmLauncher(LauncherOptions options = {}) : options_(std::move(options)) {}
  Result<JobHandle> launch(const JobSpec& spec) override;
  Result<JobStatus> poll(const JobHandle& handle) override;
  Status cancel(const JobHandle& handle) override;
  Result<std::filesystem::path> sync_events(const JobHandle& handle) override;

 private:
  Result<std::string> run(const Target& target, const std::vector<std::string>& argv, const std::string& stdin_data = {});
  LauncherOptions options_;
};

}  // namespace kanana::jobs
