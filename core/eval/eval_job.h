// Evaluation as a job: the job spec of a `kanana eval` command (launched like training, on
// this machine, over SSH or under Slurm, through core/jobs), and the worker's side of the
// contract — the run folder's events.jsonl ("state" running → finished | failed | cancelled,
// one "eval_result" event per metric, a "metric" event with every value, a "summary") next to
// results.json and the per-item samples files.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "eval/results.h"
#include "jobs/events.h"
#include "jobs/job_spec.h"

namespace kanana::eval {

struct EvalJobRequest {
  std::string name;                     // job / run name; default "eval-<first task>"
  std::string command = "mc";           // mc | gen | ppl
  std::string model;                    // checkpoint folder as the target sees it
  std::vector<std::string> tasks;       // mc/gen: task files or specs; ppl: inputs
  std::vector<std::string> extra_args;  // e.g. {"--num-fewshot", "5", "--limit", "100"}
  jobs::Target target;                  // local by default
  jobs::Resources resources;
  std::string run_dir;                  // empty: RunRegistry puts it under the workspace's runs/
};

// {"kind": "eval", "command": ["kanana", "eval", CMD, "--model", M, ("--task" T)..., extra...,
//  "--run-dir", "{run_dir}"], "inputs": tasks, ...}. Validated.
Result<jobs::JobSpec> make_eval_job_spec(const EvalJobRequest& request);

// The worker's events: created by `kanana eval ... --run-dir DIR`.
class EvalRunEvents {
 public:
  static Result<std::unique_ptr<EvalRunEvents>> open(const std::filesystem::path& run_dir);
  Status running(const std::string& what);
  Status log(const std::string& level, const std::string& message);
  // One eval_result event per metric, then a metric event and a summary.
  Status results(const EvalReport& report, const std::string& model_path, const std::filesystem::path& results_path);
  Status finished();
  Status failed(const std::string& reason);
  Status cancelled();

 private:
  explicit EvalRunEvents(std::unique_ptr<jobs::EventWriter> writer) : writer_(std::move(writer)) {}
  std::unique_ptr<jobs::EventWriter> writer_;
};

}  // namespace kanana::eval
