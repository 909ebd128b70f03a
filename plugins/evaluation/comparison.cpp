// Comparison data from the workspace and the runs' results files (see comparison.h).
#include "comparison.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "base/json.h"
#include "base/strings.h"
#include "eval/results.h"
#include "eval/stats.h"
#include "store/workspace.h"

namespace kanana::evaluation {

namespace fs = std::filesystem;

const TaskCell* ComparisonData::cell(int64_t checkpoint, const std::string& task) const {
  auto it = cells.find({checkpoint, task});
  return it == cells.end() ? nullptr : &it->second;
}

std::string primary_metric(const std::map<std::string, MetricCell>& metrics) {
  if (metrics.count("acc")) return "acc";
  for (const auto& [name, m] : metrics) {
    if (starts_with(name, "exact_match")) return name;
  }
  if (metrics.count("bits_per_byte")) return "bits_per_byte";
  return metrics.empty() ? std::string() : metrics.begin()->first;
}

bool higher_is_better(const std::string& metric) {
  return !(metric == "bits_per_byte" || ends_with(metric, "perplexity"));
}

std::string ppl_filter(const std::string& task) {
  if (!starts_with(task, "ppl/")) return {};
  const auto parts = split(task.substr(4), '/');
  if (parts.empty()) return {};
  std::string f;
  if (parts[0] != "all") f = "source=" + parts[0];
  if (parts.size() > 1) f += (f.empty() ? "" : ",") + std::string("lang=") + parts[1];
  return f;
}

namespace {

// Where a run's results file is: recorded by `kanana eval --workspace` in meta.results, or
// results.json in the job's run folder (this machine's copy for remote targets).
std::string results_path_of(store::Workspace& ws, const store::RunRecord& run) {
  Json meta = parse_json_or_discarded(run.meta_json.empty() ? "{}" : run.meta_json);
  std::vector<fs::path> candidates;
  if (meta.is_object()) {
    if (meta.contains("results") && meta["results"].is_string() && !meta["results"].get<std::string>().empty()) {
      candidates.push_back(meta["results"].get<std::string>());
    }
    if (meta.contains("handle") && meta["handle"].is_object() && meta["handle"].contains("local_dir") &&
        meta["handle"]["local_dir"].is_string()) {
      candidates.push_back(fs::path(meta["handle"]["local_dir"].get<std::string>()) / "results.json");
    }
  }
  if (!run.run_dir.empty()) candidates.push_back(ws.resolve(run.run_dir) / "results.json");
  for (const auto& c : candidates) {
    std::error_code ec;
    if (fs::is_regular_file(c, ec)) return c.string();
  }
  return {};
}

bool matches(const Json& s, const std::string& filter) {
  if (filter.empty()) return true;
  for (const auto& part : split(filter, ',')) {
    const size_t eq = part.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = part.substr(0, eq), want = part.substr(eq + 1);
    if (!s.contains(key) || !s[key].is_string() || s[key].get<std::string>() != want) return false;
  }
  return true;
}

}  // namespace

Result<ComparisonData> load_comparison(store::Workspace& ws, const ComparisonOptions& o) {
  ComparisonData data;
  KANANA_ASSIGN_OR_RETURN(auto results, ws.list_eval_results());
  // cell -> (id, run) of its newest row: the run whose results file the cell reads
  std::map<std::pair<int64_t, std::string>, std::pair<int64_t, int64_t>> newest;
  std::set<std::string> metric_names;
  std::set<int64_t> checkpoints;
  for (const auto& r : results) {
    if (!r.checkpoint_id) continue;
    const auto key = std::make_pair(*r.checkpoint_id, r.task);
    TaskCell& cell = data.cells[key];
    MetricCell& m = cell.metrics[r.metric];
    if (m.result_id > r.id) continue;  // keep the newest
    m.value = r.value;
    m.stderr_value = r.stderr_value;
    m.bootstrap_stderr.reset();
    m.n = r.n;
    m.run_id = r.run_id.value_or(0);
    m.result_id = r.id;
    metric_names.insert(r.metric);
    checkpoints.insert(*r.checkpoint_id);
    if (r.run_id && r.id >= newest[key].first) newest[key] = {r.id, *r.run_id};
  }
  for (int64_t id : checkpoints) {
    KANANA_ASSIGN_OR_RETURN(auto c, ws.get_checkpoint(id));
    data.checkpoints.push_back({c.id, c.name, c.path, c.step});
  }
  std::set<std::string> tasks;
  for (const auto& [key, cell] : data.cells) tasks.insert(key.second);
  for (const auto& t : tasks) {
    if (!starts_with(t, "ppl/")) data.tasks.push_back(t);
  }
  if (tasks.count("ppl/all")) data.tasks.push_back("ppl/all");
  for (const auto& t : tasks) {
    if (starts_with(t, "ppl/") && t != "ppl/all") data.tasks.push_back(t);
  }
  data.metrics.assign(metric_names.begin(), metric_names.end());

  // Results files and per-item samples (each read once).
  std::map<int64_t, std::string> run_results;
  std::map<std::string, std::optional<eval::LoadedResults>> loaded;
  std::map<std::string, std::optional<std::vector<Json>>> samples_cache;
  for (auto& [key, cell] : data.cells) {
    const int64_t run_id = newest[key].second;
    if (run_id == 0) continue;
    if (!run_results.count(run_id)) {
      auto run = ws.get_run(run_id);
      run_results[run_id] = run.is_ok() ? results_path_of(ws, *run) : std::string();
    }
    cell.results_path = run_results[run_id];
    if (cell.results_path.empty()) continue;
    if (!loaded.count(cell.results_path)) {
      auto r = eval::read_results(cell.results_path);
      loaded[cell.results_path] = r.is_ok() ? std::optional<eval::LoadedResults>(std::move(r).value()) : std::nullopt;
    }
    const auto& res = loaded[cell.results_path];
    if (!res) continue;
    const std::string& task = key.second;
    const bool ppl = starts_with(task, "ppl/");
    for (const auto& t : res->tasks) {
      if (t.name == (ppl ? std::string("ppl/all") : task) && !t.samples_path.empty()) cell.samples_path = t.samples_path.string();
    }
    if (ppl) cell.samples_filter = ppl_filter(task);
    if (cell.samples_path.empty()) continue;
    if (!samples_cache.count(cell.samples_path)) {
      auto s = eval::read_samples(cell.samples_path);
      samples_cache[cell.samples_path] = s.is_ok() ? std::optional<std::vector<Json>>(std::move(s).value()) : std::nullopt;
    }
    const auto& samples = samples_cache[cell.samples_path];
    if (!samples) {
      cell.samples_path.clear();
      continue;
    }
    for (auto& [metric, m] : cell.metrics) {
      if (metric == "bits_per_byte") {
        std::vector<double> bits, bytes;
        for (const auto& s : *samples) {
          if (!matches(s, cell.samples_filter) || !s.contains("nll") || !s.contains("bytes")) continue;
          bits.push_back(s["nll"].get<double>() / std::log(2.0));
          bytes.push_back(s["bytes"].get<double>());
        }
        if (int64_t(bits.size()) == m.n) {
          m.bootstrap_stderr = eval::bootstrap_ratio_stderr(bits, bytes, o.bootstrap_iterations, o.seed);
        }
        continue;
      }
      const auto values = eval::sample_values(*samples, metric);
      // Only when the file holds exactly the items the value was computed on.
      if (!values.empty() && int64_t(values.size()) == m.n) {
        m.bootstrap_stderr = eval::bootstrap_stderr(values, o.bootstrap_iterations, o.seed);
      }
    }
  }
  return data;
}

}  // namespace kanana::evaluation
