// Workspace records of an evaluation (see record.h).
#include "eval/record.h"

#include <cmath>

#include "jobs/eval_events.h"

namespace kanana::eval {

namespace fs = std::filesystem;

Result<RecordedEval> record_eval(store::Workspace& ws, const EvalReport& report, const std::string& model_path,
                                 const RecordOptions& o) {
  RecordedEval out;
  KANANA_ASSIGN_OR_RETURN(out.checkpoint_id, jobs::find_or_add_checkpoint(ws, model_path));
  store::RunRecord run;
  run.name = o.run_name;
  if (run.name.empty()) {
    run.name = "eval";
    for (size_t i = 0; i < report.tasks.size() && i < 3; ++i) run.name += " " + report.tasks[i].name;
    if (report.tasks.size() > 3) run.name += " ...";
  }
  run.kind = "eval";
  run.state = store::RunState::kRunning;
  std::error_code ec;
  const fs::path results = o.results_path.empty() ? fs::path() : fs::absolute(o.results_path, ec);
  run.run_dir = results.empty() ? "" : results.parent_path().string();
  run.recipe_json = report.config.dump();
  run.meta_json = Json{{"results", results.string()}, {"model", model_path}}.dump();
  KANANA_ASSIGN_OR_RETURN(out.run_id, ws.add_run(run));
  KANANA_RETURN_IF_ERROR(ws.add_lineage({"checkpoint", out.checkpoint_id}, {"run", out.run_id}, "evaluated").status());
  for (const auto& input : o.inputs) {
    const std::string abs = fs::absolute(input, ec).lexically_normal().string();
    KANANA_ASSIGN_OR_RETURN(auto found, ws.find_dataset_by_path(abs));
    int64_t dataset_id = 0;
    if (found) {
      dataset_id = found->id;
    } else {
      store::DatasetRecord d;
      d.name = fs::path(abs).filename().string();
      d.kind = "eval";
      d.path = abs;
      d.format = "jsonl";
      d.meta_json = Json{{"registered_by", "kanana eval"}}.dump();
      KANANA_ASSIGN_OR_RETURN(dataset_id, ws.add_dataset(d));
    }
    KANANA_RETURN_IF_ERROR(ws.add_lineage({"dataset", dataset_id}, {"run", out.run_id}, "evaluated").status());
  }
  for (const auto& t : report.tasks) {
    for (const auto& [key, m] : t.metrics) {
      if (!std::isfinite(m.value)) continue;  // an overflowing perplexity: kept in the file only
      store::EvalResultRecord r;
      r.run_id = out.run_id;
      r.checkpoint_id = out.checkpoint_id;
      r.task = t.name;
      r.metric = stored_metric_name(key);
      r.value = m.value;
      if (m.stderr_value && std::isfinite(*m.stderr_value)) r.stderr_value = m.stderr_value;
      r.n = t.effective;
      KANANA_ASSIGN_OR_RETURN(int64_t id, ws.add_eval_result(r));
      KANANA_RETURN_IF_ERROR(ws.add_lineage({"run", out.run_id}, {"eval_result", id}, "produced").status());
      out.result_ids.push_back(id);
    }
  }
  KANANA_RETURN_IF_ERROR(ws.update_run_state(out.run_id, store::RunState::kFinished));
  return out;
}

}  // namespace kanana::eval
