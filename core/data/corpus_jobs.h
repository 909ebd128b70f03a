// The four corpus jobs behind `kanana data scan|filter|dedup|pii` (and the GUI's runs):
// read the inputs through the threaded pipeline, write one result line per input record in
// input order, plus kept.jsonl where it applies and summary.json last. Every output is
// written to a temporary name and renamed only when the whole run succeeded, so a crash,
// a cancel or a full disk leaves nothing that looks complete.
//
// Resumable: outputs are appended to <out_dir>/.partial/<name>, and every
// checkpoint_every_records records or checkpoint_every_seconds the outputs are synced and
// <out_dir>/.partial/checkpoint.json is written atomically (records consumed, the last
// record's position, each partial output's size, every counter the summary needs, and a
// fingerprint of the inputs — paths, sizes, mtimes — and of the options). With `resume`, a
// run whose fingerprint matches truncates the partial outputs to their checkpointed sizes,
// seeks the reader just past the last checkpointed record, restores the counters and goes on;
// the finished outputs and summary.json are the same as an uninterrupted run's (timings
// aside). A fingerprint that does not match is an error that says what changed. Without
// `resume` any partial state is discarded (logged). Dedup resumes too: its partial state
// includes every document's fingerprint, replayed into a fresh index on resume.
// Only one job may write to an out_dir at a time (a lock in .partial/).
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
  bool resume = false;                 // continue from <out_dir>/.partial (see above)
  bool overwrite = false;              // replace the results of an earlier finished run in out_dir
                                       // (kept until this run publishes; refused without it)
  uint64_t checkpoint_every_records = 200000;  // 0: by time only
  double checkpoint_every_seconds = 5.0;       // 0: by records only
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
