// The four corpus jobs behind `kanana data scan|filter|dedup|pii` (and the GUI's runs):
// read the inputs through the threaded pipeline, write one result line per input record in
// input order, plus kept.jsonl where it applies and summary.json last. Every output is
// written to a temporary name and renamed only when the whole run succeeded, so a crash,
// a cancel or a full disk leaves nothing that looks complete.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/progress.h"
#include "data/dedup.h"
#include "data/pii.h"
#include "data/reader.h"

namespace kanana::data {

struct CorpusJobOptions {
  std::vector<std::filesystem::path> inputs;
  std::filesystem::path out_dir;
  ReaderOptions reader;
  int threads = 1;
  std::filesystem::path lid_model;     // empty: no language ID (scan) / required if the recipe needs it
  std::filesystem::path recipe;        // filter: recipe file (default: the shipped kanana-web.json)
  DedupOptions dedup;
  PiiOptions pii;
  std::filesystem::path classifier;    // classify: fastText model from train_quality_classifier
  std::string classifier_label;        // classify: the label whose probability is the score ("hq")
  double classifier_threshold = 0.5;   // classify: keep when score >= threshold
  size_t max_bad_lines_listed = 1000;  // summary.json lists the first N bad lines (all are counted)
  Progress* progress = nullptr;
  const CancelToken* cancel = nullptr;
};

// Each returns the summary that was written to <out_dir>/summary.json.
Result<Json> run_scan_job(const CorpusJobOptions& options);
Result<Json> run_filter_job(const CorpusJobOptions& options);
Result<Json> run_dedup_job(const CorpusJobOptions& options);
Result<Json> run_pii_job(const CorpusJobOptions& options);
Result<Json> run_classify_job(const CorpusJobOptions& options);

}  // namespace kanana::data
