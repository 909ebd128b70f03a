// What the post-training recipe types ("sft", "reward", "dpo") share: the data keys of their
// recipe block, the tokenizer and chat format, the epoch-shuffled index stream that gives
// every rank its rows of a global batch, and problem reporting. Internal to kanana_posttrain.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/hash.h"
#include "base/json.h"
#include "base/status.h"
#include "posttrain/chat_data.h"
#include "posttrain/posttrain_spec.h"
#include "tokenizer/tokenizer.h"
#include "train/recipe.h"
#include "train/task.h"

namespace kanana::posttrain {

struct TaskTokenizer {
  std::shared_ptr<const tok::Tokenizer> tokenizer;
  std::filesystem::path path;  // the file or folder it was loaded from
  TextFormat format;
};
// The spec's tokenizer (or the model's init_from folder), its chat format, checked against
// the model's vocabulary size.
Result<TaskTokenizer> load_task_tokenizer(const train::Recipe& recipe, const DataSpec& spec, int64_t model_vocab);
// Copies the tokenizer (and tokenizer_config.json beside it) into <run_dir>/tokenizer/, so
// checkpoints of the run can be used for generation and reward scoring (reward_model.h).
Status keep_tokenizer_in_run(const TaskTokenizer& tokenizer, const std::filesystem::path& run_dir);

// The tokenizer of a model folder: `explicit_path` when given, else the folder itself, else
// the run folder's copy two levels up (<run>/checkpoints/step-N -> <run>/tokenizer).
Result<TaskTokenizer> find_model_tokenizer(const std::filesystem::path& model_dir,
                                           const std::filesystem::path& explicit_path);

// Logs the skipped lines (first few in full, then a count) as warnings.
void report_problems(const train::TaskContext& ctx, const std::string& what, const std::vector<std::string>& problems);

// The spec's training items and validation items: the "val" file, or else a seeded
// val_fraction split of the training items. `read` is read_chat_jsonl or
// read_preference_jsonl; skipped lines are reported as `what` / `what validation`.
template <typename T>
struct TrainVal {
  std::vector<T> train, val;
};
template <typename T, typename ReadFn>
Result<TrainVal<T>> read_train_val(const DataSpec& spec, uint64_t seed, const train::TaskContext& ctx,
                                   const std::string& what, ReadFn read) {
  ReadOptions ro;
  ro.strict = spec.strict;
  TrainVal<T> out;
  for (const auto& f : spec.train) {
    KANANA_ASSIGN_OR_RETURN(auto d, read(f, ro));
    report_problems(ctx, what, d.problems);
    for (auto& item : d.items) out.train.push_back(std::move(item));
  }
  if (!spec.val.empty()) {
    KANANA_ASSIGN_OR_RETURN(auto d, read(spec.val, ro));
    report_problems(ctx, what + " validation", d.problems);
    out.val = std::move(d.items);
  } else if (spec.val_fraction > 0) {
    const auto split = validation_split(out.train.size(), spec.val_fraction, seed);
    std::vector<T> kept;
    for (size_t i = 0; i < out.train.size(); ++i) (split[i] ? out.val : kept).push_back(std::move(out.train[i]));
    out.train = std::move(kept);
  }
  return out;
}

// Infinite stream over 0..n-1, reshuffled every epoch (seeded): item k of the stream is
// permutation(epoch = k / n)[k % n]. Random access, so a step's rows are a pure function of
// the step (resume = restore the step).
class IndexStream {
 public:
  IndexStream() = default;
  IndexStream(int64_t n, uint64_t seed) : n_(n), seed_(seed) {}
  int64_t at(int64_t k);
  int64_t size() const { return n_; }

 private:
  int64_t n_ = 0;
  uint64_t seed_ = 0;
  int64_t epoch_ = -1;
  std::vector<int64_t> perm_;
};

// Steps for `items` items per epoch and a global batch of `global_batch` items.
int64_t steps_for(const DataSpec& spec, int64_t items, int64_t global_batch);

// fnv1a64 over bytes, for cache fingerprints.
using kanana::fnv1a64;  // base/hash.h
using kanana::hex64;

}  // namespace kanana::posttrain
