// Prune → distill as one job (`kanana surgery pipeline --spec FILE --run-dir DIR`, launched
// by the Surgery plugin through core/jobs like any training run). The run folder gets
//   student/          the pruned checkpoint (Hugging Face layout + the teacher's tokenizer)
//   importance.json   the scores of the first pruning step
//   prune.json        the plans (kept indices) and removed importance mass of every step
//   pipeline.json     teacher, student and final checkpoint paths, for viewers
//   events.jsonl      pruning progress as log events, then the distillation run's own events
//   checkpoints/      the distillation run (the "distill" recipe type)
// With resume, a finished pruning step (student/ with prune.json) is not redone and the
// distillation continues from its newest checkpoint.
//
// Spec (paths relative to the spec file):
// {
//   "teacher": "models/teacher",
//   "target": {"hidden_size": 192, "intermediate_size": 512, "heads_per_group": 1},  // shape.h
//   "prune": {"steps": 2, "depth_metric": "loss" | "block_importance", "rescale_norms": false,
//             "importance": {"batch": "l2", "sequence": "mean", "sum_channels_over_layers": true,
//                            "layer_loss": true, "batch_size": 8},
//             "calibration": {"pack": "packs/en", "split": "train" | "val"} |
//                            {"text": ["a.jsonl"], "tokenizer": "tok.model", "text_field": "text"},
//             // calibration also takes "samples" (1024) and "seq_len" (512)
//             "importance_file": "teacher-importance.json"},   // optional, first step only
//   "distill": {a "distill" recipe without "type", "teacher" and "model": they are filled in}
// }
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/progress.h"
#include "base/status.h"
#include "surgery/importance.h"
#include "surgery/prune_plan.h"
#include "surgery/shape.h"

namespace kanana::surgery {

struct CalibrationSettings {
  std::filesystem::path pack;
  bool validation_split = false;
  std::vector<std::filesystem::path> text;
  std::filesystem::path tokenizer;
  std::string text_field = "text";
  int64_t samples = 1024;
  int64_t seq_len = 512;
};

struct PipelineSpec {
  std::filesystem::path file;             // where it was read from
  std::filesystem::path teacher;
  TargetShape target;
  int64_t steps = 1;
  PlanOptions plan;
  ImportanceOptions importance;
  CalibrationSettings calibration;
  std::filesystem::path importance_file;  // optional
  Json distill = Json::object();          // the distill recipe as written (type/teacher/model added later)
};

// Errors name the spec file and the field.
Result<PipelineSpec> parse_pipeline_spec(const Json& json, const std::string& origin, const std::filesystem::path& base);
Result<PipelineSpec> read_pipeline_spec(const std::filesystem::path& file);
// The "calibration" object alone (also used by recipes of the Surgery plugin).
Result<CalibrationSettings> parse_calibration(const Json& json, const std::string& origin,
                                              const std::filesystem::path& base, const std::string& path = "calibration");
// "importance" object alone.
Result<ImportanceOptions> parse_importance_options(const Json& json, const std::string& origin,
                                                   const std::string& path = "importance");

struct PipelineOptions {
  std::filesystem::path run_dir;
  bool resume = false;
  int threads = 0;
  std::string device = "cpu";
  CancelToken* cancel = nullptr;
  bool print_progress = false;
};

struct PipelineResult {
  std::filesystem::path student;
  std::filesystem::path final_checkpoint;
  std::optional<double> val_loss;
  bool finished = false;
};

Result<PipelineResult> run_pipeline(const PipelineSpec& spec, const PipelineOptions& options);

}  // namespace kanana::surgery
