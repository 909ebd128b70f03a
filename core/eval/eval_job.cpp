// Eval job specs and the eval worker's events (see eval_job.h).
#include "eval/eval_job.h"

#include <cmath>

#include "jobs/eval_events.h"

namespace kanana::eval {

Result<jobs::JobSpec> make_eval_job_spec(const EvalJobRequest& r) {
  if (r.command != "mc" && r.command != "gen" && r.command != "ppl") {
    return invalid_argument("eval job command must be mc, gen or ppl, got '" + r.command + "'");
  }
  if (r.model.empty()) return invalid_argument("eval job: no model folder");
  if (r.tasks.empty()) return invalid_argument("eval job: no task (or, for ppl, no input)");
  jobs::JobSpec s;
  s.kind = "eval";
  s.name = r.name;
  if (s.name.empty()) {
    std::string first = std::filesystem::path(r.tasks.front()).stem().string();
    s.name = "eval-" + r.command + "-" + (first.empty() ? std::string("task") : first);
  }
  s.command = {"kanana", "eval", r.command, "--model", r.model};
  for (const auto& t : r.tasks) {
    if (r.command == "ppl") {
      s.command.push_back(t);
    } else {
      s.command.push_back("--task");
      s.command.push_back(t);
    }
  }
  for (const auto& a : r.extra_args) s.command.push_back(a);
  s.command.push_back("--run-dir");
  s.command.push_back("{run_dir}");
  s.inputs = r.tasks;
  s.target = r.target;
  s.resources = r.resources;
  s.run_dir = r.run_dir;
  s.recipe = {{"eval", r.command}, {"model", r.model}, {"tasks", r.tasks}, {"args", r.extra_args}};
  // RunRegistry fills run_dir when empty; validate with a placeholder in that case.
  jobs::JobSpec check = s;
  if (check.run_dir.empty()) check.run_dir = "runs/" + s.name;
  KANANA_RETURN_IF_ERROR(check.validate());
  return s;
}

Result<std::unique_ptr<EvalRunEvents>> EvalRunEvents::open(const std::filesystem::path& run_dir) {
  std::error_code ec;
  std::filesystem::create_directories(run_dir, ec);
  KANANA_ASSIGN_OR_RETURN(auto w, jobs::EventWriter::open_for_worker(run_dir));
  return std::unique_ptr<EvalRunEvents>(new EvalRunEvents(std::move(w)));
}

Status EvalRunEvents::running(const std::string& what) {
  KANANA_RETURN_IF_ERROR(writer_->state("running"));
  return writer_->log("info", what);
}

Status EvalRunEvents::log(const std::string& level, const std::string& message) { return writer_->log(level, message); }

Status EvalRunEvents::results(const EvalReport& report, const std::string& model_path,
                              const std::filesystem::path& results_path) {
  Json metrics = Json::object();
  Json summary = Json::object();
  for (const auto& t : report.tasks) {
    Json task = Json::object();
    for (const auto& [key, m] : t.metrics) {
      if (!std::isfinite(m.value)) continue;
      const std::string metric = stored_metric_name(key);
      Json e = {{"type", jobs::kEvalResultEventType},
                {"task", t.name},
                {"metric", metric},
                {"value", m.value},
                {"n", t.effective},
                {"model", model_path},
                {"results", results_path.filename().string()}};
      if (m.stderr_value && std::isfinite(*m.stderr_value)) e["stderr"] = *m.stderr_value;
      KANANA_RETURN_IF_ERROR(writer_->write(e));
      metrics[t.name + "/" + metric] = m.value;
      task[metric] = m.value;
    }
    summary[t.name] = task;
  }
  KANANA_RETURN_IF_ERROR(writer_->metric(0, metrics));
  return writer_->summary({{"results", summary}, {"results_file", results_path.filename().string()},
                           {"model", model_path}, {"seconds", report.seconds}});
}

Status EvalRunEvents::finished() { return writer_->state("finished"); }
Status EvalRunEvents::failed(const std::string& reason) { return writer_->state("failed", reason); }
Status EvalRunEvents::cancelled() { return writer_->state("cancelled", "interrupted"); }

}  // namespace kanana::eval
