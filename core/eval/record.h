// Evaluation results into the workspace: a run of kind "eval" (its folder holds the results
// file), one eval_results row per task and metric, the checkpoint found by path (or registered
// as imported), the task files as datasets of kind "eval", and lineage
// dataset --evaluated--> run, checkpoint --evaluated--> run --produced--> eval_result.
//
// A job (`kanana runs launch` with a `kanana eval ... --run-dir` command) does not call this:
// its worker writes eval_result events and the run registry records them for the job's run
// (core/jobs/eval_events.h), so results reach the workspace from SSH and Slurm targets too.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "eval/results.h"
#include "store/workspace.h"

namespace kanana::eval {

struct RecordOptions {
  std::string run_name;                       // default "eval <tasks>"
  std::filesystem::path results_path;         // recorded in the run's meta ("results")
  std::vector<std::string> inputs;            // task / text files (datasets of kind "eval")
};

struct RecordedEval {
  int64_t run_id = 0;
  int64_t checkpoint_id = 0;
  std::vector<int64_t> result_ids;
};

Result<RecordedEval> record_eval(store::Workspace& workspace, const EvalReport& report, const std::string& model_path,
                                 const RecordOptions& options);

}  // namespace kanana::eval
