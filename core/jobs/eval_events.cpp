// eval_result events -> workspace records (see eval_events.h).
#include "jobs/eval_events.h"

#include <filesystem>

#include "base/files.h"

namespace kanana::jobs {

namespace fs = std::filesystem;

namespace {

std::string normal_path(const fs::path& p) {
  std::error_code ec;
  fs::path c = fs::weakly_canonical(fs::absolute(p), ec);
  return (ec ? p.lexically_normal() : c).string();
}

}  // namespace

Result<int64_t> find_or_add_checkpoint(store::Workspace& ws, const std::string& path) {
  if (path.empty()) return invalid_argument("an evaluated model needs a path");
  const std::string want = normal_path(ws.resolve(path));
  KANANA_ASSIGN_OR_RETURN(auto all, ws.list_checkpoints());
  for (const auto& c : all) {
    if (normal_path(ws.resolve(c.path)) == want) return c.id;
  }
  store::CheckpointRecord c;
  const fs::path p(want);
  c.name = p.parent_path().filename().string().empty() ? p.filename().string()
                                                        : p.parent_path().filename().string() + "/" + p.filename().string();
  if (c.name.empty()) c.name = want;
  c.path = want;
  auto config = read_json_file(p / "config.json");
  if (config.is_ok() && config->is_object()) c.config_json = config->dump();
  return ws.add_checkpoint(c);
}

Result<std::optional<int64_t>> record_eval_result_event(store::Workspace& ws, int64_t run_id, const Json& e) {
  JsonReader r(e, "eval_result event");
  KANANA_ASSIGN_OR_RETURN(std::string task, r.get_string("task"));
  KANANA_ASSIGN_OR_RETURN(std::string metric, r.get_string("metric"));
  KANANA_ASSIGN_OR_RETURN(double value, r.get_number("value"));
  KANANA_ASSIGN_OR_RETURN(std::string model, r.get_string("model"));
  Status err;
  const int64_t n = r.get_int_or("n", 0, &err);
  KANANA_RETURN_IF_ERROR(err);
  std::optional<double> stderr_value;
  if (r.has("stderr")) {
    KANANA_ASSIGN_OR_RETURN(double s, r.get_number("stderr"));
    stderr_value = s;
  }
  KANANA_ASSIGN_OR_RETURN(int64_t checkpoint, find_or_add_checkpoint(ws, model));
  KANANA_ASSIGN_OR_RETURN(auto existing, ws.list_eval_results(run_id));
  for (const auto& x : existing) {
    if (x.task == task && x.metric == metric && x.checkpoint_id == checkpoint) return std::optional<int64_t>();
  }
  store::EvalResultRecord rec;
  rec.run_id = run_id;
  rec.checkpoint_id = checkpoint;
  rec.task = task;
  rec.metric = metric;
  rec.value = value;
  rec.stderr_value = stderr_value;
  rec.n = n;
  KANANA_ASSIGN_OR_RETURN(int64_t id, ws.add_eval_result(rec));
  KANANA_RETURN_IF_ERROR(ws.add_lineage({"checkpoint", checkpoint}, {"run", run_id}, "evaluated").status());
  KANANA_RETURN_IF_ERROR(ws.add_lineage({"run", run_id}, {"eval_result", id}, "produced").status());
  return std::optional<int64_t>(id);
}

}  // namespace kanana::jobs
