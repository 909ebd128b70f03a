// lm-eval-shaped results and per-item samples files (see results.h).
#include "eval/results.h"

#include <cstdio>

#include "base/files.h"
#include "base/jsonl.h"
#include "base/strings.h"
#include "eval/stats.h"

namespace kanana::eval {

namespace fs = std::filesystem;

std::pair<std::string, std::string> split_metric_key(const std::string& key) {
  const size_t comma = key.find(',');
  if (comma == std::string::npos) return {key, "none"};
  return {key.substr(0, comma), key.substr(comma + 1)};
}

std::string stored_metric_name(const std::string& key) {
  auto [metric, filter] = split_metric_key(key);
  return filter == "none" ? metric : key;
}

void add_mean_metric(TaskResult* r, const std::string& key, std::vector<double> values, bool higher_is_better) {
  MetricValue m;
  m.value = mean(values);
  m.stderr_value = mean_stderr(values);
  r->metrics[key] = m;
  r->higher_is_better[split_metric_key(key).first] = higher_is_better;
  r->per_item[key] = std::move(values);
}

Json breakdown_by(const TaskResult& r, const std::vector<std::string>& labels, const std::vector<std::string>& keys) {
  std::map<std::string, std::map<std::string, std::vector<double>>> groups;  // label -> key -> values
  for (const auto& key : keys) {
    auto it = r.per_item.find(key);
    if (it == r.per_item.end()) continue;
    for (size_t i = 0; i < it->second.size() && i < labels.size(); ++i) {
      if (labels[i].empty()) continue;
      groups[labels[i]][key].push_back(it->second[i]);
    }
  }
  Json out = Json::object();
  for (const auto& [label, by_key] : groups) {
    Json g = Json::object();
    size_t n = 0;
    for (const auto& [key, values] : by_key) {
      auto [metric, filter] = split_metric_key(key);
      g[key] = mean(values);
      g[metric + "_stderr," + filter] = mean_stderr(values);
      n = values.size();
    }
    g["n"] = n;
    out[label] = g;
  }
  return out;
}

std::string samples_file_name(const fs::path& results_path, const std::string& task) {
  std::string t = task;
  for (char& c : t) {
    if (c == '/' || c == '\\' || c == ' ' || c == ':') c = '_';
  }
  return results_path.stem().string() + ".samples." + t + ".jsonl";
}

Json report_to_json(const EvalReport& report, const fs::path& results_path) {
  Json results = Json::object(), configs = Json::object(), versions = Json::object(), nshot = Json::object(),
       hib = Json::object(), nsamples = Json::object(), samples = Json::object(), skipped = Json::object(),
       breakdown = Json::object();
  for (const auto& t : report.tasks) {
    Json r = {{"alias", t.name}};
    for (const auto& [key, m] : t.metrics) {
      r[key] = m.value;
      if (m.stderr_value) {
        auto [metric, filter] = split_metric_key(key);
        r[metric + "_stderr," + filter] = *m.stderr_value;
      }
    }
    results[t.name] = r;
    configs[t.name] = t.config;
    versions[t.name] = kResultsFormatVersion;
    nshot[t.name] = t.num_fewshot;
    hib[t.name] = t.higher_is_better;
    nsamples[t.name] = {{"original", t.original}, {"effective", t.effective}};
    if (!t.samples.empty()) samples[t.name] = samples_file_name(results_path, t.name);
    if (!t.skipped.empty()) {
      Json s = Json::array();
      for (const auto& b : t.skipped) s.push_back({{"line", b.line}, {"field", b.field}, {"error", b.message}});
      skipped[t.name] = s;
    }
    if (!t.breakdown.empty()) breakdown[t.name] = t.breakdown;
  }
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.3f", report.seconds);
  return {{"results", results},       {"configs", configs},   {"versions", versions},
          {"n-shot", nshot},          {"higher_is_better", hib}, {"n-samples", nsamples},
          {"config", report.config},  {"samples", samples},   {"skipped", skipped},
          {"breakdown", breakdown},   {"date", report.date},  {"total_evaluation_time_seconds", secs},
          {"kanana_eval_version", kResultsFormatVersion}};
}

Status write_report(const EvalReport& report, const fs::path& results_path) {
  std::error_code ec;
  if (results_path.has_parent_path()) fs::create_directories(results_path.parent_path(), ec);
  for (const auto& t : report.tasks) {
    if (t.samples.empty()) continue;
    const fs::path p = results_path.parent_path() / samples_file_name(results_path, t.name);
    KANANA_ASSIGN_OR_RETURN(auto w, AtomicFileWriter::open(p));
    for (const auto& s : t.samples) {
      KANANA_RETURN_IF_ERROR(w->write(s.dump(-1, ' ', false, Json::error_handler_t::replace)));
      KANANA_RETURN_IF_ERROR(w->write("\n"));
    }
    KANANA_RETURN_IF_ERROR(w->commit());
  }
  return write_file_atomic(results_path,
                           report_to_json(report, results_path).dump(2, ' ', false, Json::error_handler_t::replace) + "\n");
}

Result<LoadedResults> read_results(const fs::path& path) {
  KANANA_ASSIGN_OR_RETURN(Json j, read_json_file(path));
  JsonReader r(j, path.string());
  if (!j.is_object() || !j.contains("results") || !j["results"].is_object()) {
    return r.field_error("results", "is missing (not an evaluation results file)");
  }
  LoadedResults out;
  out.path = path;
  if (j.contains("config") && j["config"].is_object()) out.model_path = j["config"].value("model_path", std::string());
  for (const auto& [name, metrics] : j["results"].items()) {
    if (!metrics.is_object()) return r.field_error("results." + name, "must be an object");
    LoadedTaskResult t;
    t.name = name;
    for (const auto& [key, v] : metrics.items()) {
      if (!v.is_number() || key.find("_stderr,") != std::string::npos) continue;
      auto [metric, filter] = split_metric_key(key);
      MetricValue m;
      m.value = v.get<double>();
      const std::string sk = metric + "_stderr," + filter;
      if (metrics.contains(sk) && metrics[sk].is_number()) m.stderr_value = metrics[sk].get<double>();
      t.metrics[key] = m;
    }
    if (j.contains("n-samples") && j["n-samples"].contains(name)) {
      t.n = j["n-samples"][name].value("effective", int64_t{0});
    }
    if (j.contains("samples") && j["samples"].is_object() && j["samples"].contains(name) &&
        j["samples"][name].is_string()) {
      t.samples_path = path.parent_path() / j["samples"][name].get<std::string>();
    }
    out.tasks.push_back(std::move(t));
  }
  out.json = std::move(j);
  return out;
}

Result<std::vector<Json>> read_samples(const fs::path& path) {
  std::vector<Json> out;
  auto sample = [&](JsonlLine& line) {
    out.push_back(std::move(line.value));
    return Status::ok();
  };
  KANANA_RETURN_IF_ERROR(read_jsonl(path, sample, {.objects_only = true}).status());
  return out;
}

std::vector<double> sample_values(const std::vector<Json>& samples, const std::string& metric) {
  std::vector<double> out;
  for (const auto& s : samples) {
    if (s.contains(metric) && s[metric].is_number()) out.push_back(s[metric].get<double>());
  }
  return out;
}

}  // namespace kanana::eval
