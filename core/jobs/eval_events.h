// Evaluation results travelling through a run's event stream. An evaluation worker
// (`kanana eval ... --run-dir DIR`, launched locally, over SSH or under Slurm) appends one
// event per metric to DIR/events.jsonl:
//
//   {"type": "eval_result", "task": "kmmlu", "metric": "acc", "value": 0.41, "stderr": 0.012,
//    "n": 500, "model": "/abs/path/of/the/checkpoint", "results": "results.json"}
//
// and RunRegistry::refresh records each one in the workspace's eval_results table for that
// run, with the evaluated checkpoint (found by path, or registered as an imported checkpoint)
// and lineage checkpoint --evaluated--> run --produced--> eval_result. Events travel where
// files do not (the SSH mirror copies only events.jsonl), so the workspace gets the numbers
// from any target.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/json.h"
#include "base/status.h"
#include "store/workspace.h"

namespace kanana::jobs {

inline constexpr const char* kEvalResultEventType = "eval_result";

// The checkpoint record whose path is `path` (compared after resolving against the workspace
// and normalising), or a new one: name "<parent>/<folder>", no run, config.json copied when
// readable.
Result<int64_t> find_or_add_checkpoint(store::Workspace& workspace, const std::string& path);

// Records one eval_result event of run `run_id`; nullopt when the same (task, metric,
// checkpoint) is already recorded for the run (an events file read twice).
Result<std::optional<int64_t>> record_eval_result_event(store::Workspace& workspace, int64_t run_id,
                                                        const Json& event);

}  // namespace kanana::jobs
