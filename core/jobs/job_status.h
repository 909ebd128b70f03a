// What state a job is in, decided from the evidence its run folder and its processes leave:
// the supervisor's pid (alive, and the same process: start time checked against pid reuse),
// exit_status.json written by the supervisor, per-rank exit files, a cancel request marker,
// the last "state" event in events.jsonl and, under Slurm, the scheduler's word. Local, SSH
// and Slurm launchers gather the evidence their own way and share this one decision, so a
// worker killed with SIGKILL reads as failed (signal 9) everywhere.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "jobs/job_spec.h"

namespace kanana::jobs {

// Files the supervisor keeps in the run folder (names are part of the on-disk contract).
inline constexpr const char* kJobFileName = "job.json";              // JobHandle, written at launch
inline constexpr const char* kExitStatusFileName = "exit_status.json";  // written when all ranks ended
inline constexpr const char* kSupervisorPidFileName = "supervisor.pid";
inline constexpr const char* kPidsFileName = "pids";                 // rank pids, space-separated
inline constexpr const char* kCancelRequestedFileName = "cancel_requested";
std::string rank_log_name(int rank);   // "rank-0.log": stdout and stderr of one rank
std::string rank_exit_name(int rank);  // "rank-0.exit": its shell exit code

enum class JobState { kQueued, kRunning, kFinished, kFailed, kCancelled };
const char* job_state_name(JobState state);  // same words as the workspace's run states
Result<JobState> parse_job_state(const std::string& name);
bool is_final(JobState state);

// Everything needed to find a launched job again, from this or another process (saved as
// job.json in the run folder and in the workspace's run record).
struct JobHandle {
  TargetKind target = TargetKind::kLocal;
  std::string name;
  std::string run_dir;          // as the job sees it (a remote path for ssh)
  std::string local_dir;        // on this machine: job.json and events.jsonl (a mirror for ssh)
  int64_t pid = 0;              // supervisor pid (on the remote host for ssh); 0 under Slurm
  uint64_t pid_start_time = 0;  // /proc/<pid>/stat field 22, guards against pid reuse
  std::string remote_job_id;    // Slurm job id
  std::string host;             // where the supervisor runs
  int world_size = 1;
  int master_port = 0;
  double started_at = 0;        // unix seconds
  std::vector<std::string> command;
  Target target_info;           // how to reach it again (ssh/slurm)
};
Json job_handle_to_json(const JobHandle& handle);
Result<JobHandle> job_handle_from_json(const Json& json, const std::string& origin);

struct JobStatus {
  JobState state = JobState::kQueued;
  std::string reason;                 // "exit code 3", "killed by signal 9 (SIGKILL)", ...
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::optional<int> failed_rank;
  bool process_alive = false;
  std::string scheduler_state;        // Slurm's word (PENDING, RUNNING, TIMEOUT, ...)
};

struct StateEvidence {
  std::optional<bool> supervisor_alive;     // nullopt: unknown (e.g. under Slurm)
  int workers_alive = 0;                    // rank processes still running
  std::optional<Json> exit_status;          // exit_status.json
  std::vector<std::optional<int>> rank_exit_codes;  // per rank, from rank-k.exit
  bool cancel_requested = false;
  std::optional<std::string> last_state_event;
  std::string last_state_reason;
  std::optional<JobState> scheduler_state;  // Slurm: squeue/sacct mapped
  std::string scheduler_word;
  std::optional<int> scheduler_exit_code;
  std::optional<int> scheduler_signal;
};

JobStatus derive_job_status(const StateEvidence& evidence);

// Shell exit codes above 128 mean "killed by signal (code - 128)"; the supervisor is a POSIX
// shell, so a program that itself exits with 137 reads as SIGKILL (the torchrun convention).
void exit_code_to_status(int shell_code, std::optional<int>* exit_code, std::optional<int>* signal);
std::string signal_description(int signal);  // "signal 9 (SIGKILL)"

// Local evidence helpers.
// Field 22 of /proc/<pid>/stat, or 0 if the process does not exist.
uint64_t process_start_time(int64_t pid);
// Alive, not a zombie, and (if start_time != 0) the same process as recorded.
bool process_alive(int64_t pid, uint64_t start_time = 0);
// Last "state" event of an events.jsonl (reads the tail first; whole file if needed).
Result<std::optional<std::pair<std::string, std::string>>> last_state_event(const std::string& events_path);
// Gathers file evidence from a run folder on this machine (everything but process liveness).
StateEvidence read_run_dir_evidence(const std::string& dir, int world_size);

}  // namespace kanana::jobs
