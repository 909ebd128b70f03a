// Evaluation results in the shape of lm-evaluation-harness output, so tables and scripts made
// for it read ours:
//
//   results.json
//   {"results": {"kmmlu": {"alias": "kmmlu", "acc,none": 0.41, "acc_stderr,none": 0.012,
//                          "acc_norm,none": 0.40, "acc_norm_stderr,none": 0.012}, ...},
//    "configs": {"kmmlu": {task config}}, "versions": {...}, "n-shot": {"kmmlu": 0},
//    "higher_is_better": {"kmmlu": {"acc": true, ...}},
//    "n-samples": {"kmmlu": {"original": 500, "effective": 498}},
//    "config": {"model": "kanana", "model_args": "pretrained=/path,...", "model_path": ...,
//               "batch_size": ..., "limit": ..., "seed": ..., ...},
//    "samples": {"kmmlu": "results.samples.kmmlu.jsonl"},      (ours: per-item file, relative)
//    "skipped": {"kmmlu": [{"line": 17, "field": "answer", "error": "..."}]},
//    "breakdown": {"kmmlu": {"category": {"Law": {"acc,none": ..., "n": 30}}, "lang": {...}}},
//    "date": 1732630000.0, "total_evaluation_time_seconds": "12.3", "kanana_eval_version": 1}
//
// and next to it one JSONL per task with every item's prediction (multiple choice: the
// log-prob of every choice, the prediction, the gold index; generation: the response and
// the extracted answers; perplexity: per-document nll, tokens and bytes).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "eval/task.h"

namespace kanana::eval {

inline constexpr int kResultsFormatVersion = 1;

struct MetricValue {
  double value = 0;
  std::optional<double> stderr_value;
};

struct TaskResult {
  std::string name;                             // "kmmlu", "gsm8k", "ppl/all/ko"
  std::string output_type;                      // multiple_choice | generate_until | loglikelihood_rolling
  std::map<std::string, MetricValue> metrics;   // "acc,none", "exact_match,strict-match" ...
  std::map<std::string, bool> higher_is_better; // "acc" -> true
  // Per-item scores of each metric key (what bootstrap standard errors resample).
  std::map<std::string, std::vector<double>> per_item;
  int64_t original = 0;                         // items in the file (bad ones included)
  int64_t effective = 0;                        // items scored
  int num_fewshot = 0;
  Json config = Json::object();                 // the task's configuration
  std::vector<Json> samples;                    // per item
  std::vector<BadItem> skipped;
  Json breakdown = Json::object();              // {"category": {...}, "lang": {...}}
};

struct EvalReport {
  Json config = Json::object();  // model and run options
  std::vector<TaskResult> tasks;
  double seconds = 0;
  double date = 0;               // unix seconds
};

// "acc,none" -> ("acc", "none").
std::pair<std::string, std::string> split_metric_key(const std::string& key);
// The metric name stored in the workspace: "acc" for "acc,none", else "exact_match,strict-match".
std::string stored_metric_name(const std::string& key);

// Mean and sample stderr of per-item values under `key` (filled into metrics too).
void add_mean_metric(TaskResult* result, const std::string& key, std::vector<double> values, bool higher_is_better);
// Breakdown of mean metrics by a per-item label (category, lang): {label: {"acc,none": m, "n": k}}.
Json breakdown_by(const TaskResult& result, const std::vector<std::string>& labels, const std::vector<std::string>& keys);

// File names: "<stem>.samples.<task>.jsonl" next to the results file ('/' in task names -> '_').
std::string samples_file_name(const std::filesystem::path& results_path, const std::string& task);
Json report_to_json(const EvalReport& report, const std::filesystem::path& results_path);
// Writes the per-item files first and the results file last (all atomically), so a results
// file always has its samples.
Status write_report(const EvalReport& report, const std::filesystem::path& results_path);

// Reading results back (the comparison table, the drill-down).
struct LoadedTaskResult {
  std::string name;
  std::map<std::string, MetricValue> metrics;
  int64_t n = 0;
  std::filesystem::path samples_path;  // empty when none
};
struct LoadedResults {
  std::filesystem::path path;
  std::string model_path;
  std::vector<LoadedTaskResult> tasks;
  Json json;
};
Result<LoadedResults> read_results(const std::filesystem::path& results_path);
// Every line of a samples file (errors name file:line).
Result<std::vector<Json>> read_samples(const std::filesystem::path& samples_path);
// Per-item values of one metric ("acc") from samples lines, in file order.
std::vector<double> sample_values(const std::vector<Json>& samples, const std::string& metric);

}  // namespace kanana::eval
