// The data behind the Evaluation page's comparison: every checkpoint of the workspace with
// evaluation results, every task, and per (checkpoint, task) the latest value of each metric
// (workspace eval_results) with two standard errors — the recorded sample stderr of the mean
// and a bootstrap stderr resampled from the run's per-item samples file (seeded, so the table
// shows the same numbers every time). Plain C++ (no Qt): the worker thread builds it, the
// table, charts and tests read it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace kanana::store {
class Workspace;
}

namespace kanana::evaluation {

struct MetricCell {
  double value = 0;
  std::optional<double> stderr_value;      // as recorded (sample stderr of the mean)
  std::optional<double> bootstrap_stderr;  // resampled from the per-item samples
  int64_t n = 0;
  int64_t run_id = 0;
  int64_t result_id = 0;
};

struct TaskCell {
  std::map<std::string, MetricCell> metrics;  // "acc", "acc_norm", "exact_match,strict-match" ...
  std::string results_path;                   // results.json of the latest run
  std::string samples_path;                   // its per-item file ("" when not readable here)
  std::string samples_filter;                 // ppl groups: "lang=ko", "source=web", "source=web,lang=ko"
};

struct CheckpointEntry {
  int64_t id = 0;
  std::string name;
  std::string path;
  int64_t step = 0;
};

struct ComparisonData {
  std::vector<CheckpointEntry> checkpoints;  // those with results, in id order
  std::vector<std::string> tasks;            // benchmarks first, then ppl/... groups
  std::map<std::pair<int64_t, std::string>, TaskCell> cells;
  std::vector<std::string> metrics;          // every metric name seen (for the selector)

  const TaskCell* cell(int64_t checkpoint, const std::string& task) const;
};

// What a task is compared on: acc (multiple choice), the first exact_match (generation),
// bits_per_byte (perplexity), else the first metric.
std::string primary_metric(const std::map<std::string, MetricCell>& metrics);
bool higher_is_better(const std::string& metric);
// "ppl/all/ko" -> "lang=ko"; "ppl/web" -> "source=web"; "ppl/web/ko" -> "source=web,lang=ko".
std::string ppl_filter(const std::string& task);

struct ComparisonOptions {
  int bootstrap_iterations = 1000;
  uint64_t seed = 1234;
};

Result<ComparisonData> load_comparison(store::Workspace& workspace, const ComparisonOptions& options = {});

}  // namespace kanana::evaluation
