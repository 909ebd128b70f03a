// The glue between jobs and the workspace: launching a spec records a run (runs table: kind,
// target, run folder, state, pid / Slurm id, recipe) with lineage dataset --trained--> run;
// refreshing a run polls its launcher, reads the new events.jsonl lines, moves the recorded
// state along (queued → running → finished | failed | cancelled) and records each
// "checkpoint" event as a checkpoint with run --produced--> checkpoint (and forgets the ones
// keep_last deleted since, see forget_deleted_checkpoints). A GUI that restarts
// calls refresh_active() and is re-attached to every run that was still going: the handle
// (job.json) and the events offset live in the run record's meta_json.
//
// A refresh that cannot reach a job (ssh host down) reports the error and leaves the state
// alone: a lost connection is not a failed run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "jobs/events.h"
#include "jobs/job_spec.h"
#include "jobs/launcher.h"
#include "store/workspace.h"

namespace kanana::jobs {

struct RunRefresh {
  int64_t run_id = 0;
  JobState state = JobState::kQueued;
  bool state_changed = false;
  std::string reason;                  // failure reason, if any
  int64_t new_events = 0;
  std::vector<CorruptLine> corrupt;    // events.jsonl lines skipped in this refresh
  std::vector<int64_t> new_checkpoints;  // checkpoint ids recorded in this refresh
  std::vector<int64_t> forgotten_checkpoints;  // records removed: their folder was deleted (keep_last)
  Json last_metrics = Json::object();  // latest value of each metric seen so far
  std::string error;                   // the job could not be polled (state left as is)
};

store::RunState to_run_state(JobState state);
JobState to_job_state(store::RunState state);

class RunRegistry {
 public:
  explicit RunRegistry(store::Workspace& workspace, LauncherOptions options = {})
      : ws_(workspace), options_(std::move(options)) {}

  // Fills defaults (run_dir / local_dir under the workspace's runs/ folder when empty),
  // launches, records. Returns the run id.
  Result<int64_t> launch(JobSpec spec);
  // Records a job launched by someone else (e.g. a script) from its spec and handle.
  Result<int64_t> record(const JobSpec& spec, const JobHandle& handle);

  Result<RunRefresh> refresh(int64_t run_id);
  // Every queued or running run (call at start-up and on a timer).
  Result<std::vector<RunRefresh>> refresh_active();
  Status cancel(int64_t run_id);
  // Relaunches a failed or cancelled run in the same folder with "--resume" added to its
  // command (the trainer continues from its last checkpoint) and records it as a new run with
  // lineage old run --resumed--> new run. The new run reads events.jsonl from where the old
  // one stopped, so old checkpoints are not recorded twice.
  Result<int64_t> resume(int64_t run_id);

  // "12" (an id) or a run folder (as the job sees it, or this machine's copy).
  Result<int64_t> find(const std::string& id_or_dir);
  Result<JobHandle> handle(int64_t run_id);
  // Local path of the run's events.jsonl (the mirror for remote runs).
  Result<std::filesystem::path> events_path(int64_t run_id);

 private:
  Status record_inputs(int64_t run_id, const JobSpec& spec);
  Result<int64_t> record_checkpoint(const store::RunRecord& run, const JobHandle& handle, const Event& event);
  // A local run's checkpoint whose folder is gone and that nothing used yet (no edge but
  // run --produced--> it, no eval result) was deleted by the recipe's keep_last: its record is
  // removed. One that was used stays, listed as missing (Workspace::checkpoint_on_disk).
  Result<std::vector<int64_t>> forget_deleted_checkpoints(int64_t run_id);

  store::Workspace& ws_;
  LauncherOptions options_;
};

}  // namespace kanana::jobs
