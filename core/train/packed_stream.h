// The data side of the recipe types that train on packed token shards ("pretrain",
// "distill"): the staged mixture that yields each step's rows (with its LR and stage
// bookkeeping), and the validation windows of the packs' val splits. A Task owns one and
// adds its model(s) and loss.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "shards/mixture.h"
#include "shards/sampler.h"
#include "train/recipe.h"
#include "train/task.h"

namespace kanana::train {

class PackedStream {
 public:
  // Opens the recipe's stages for this rank and its validation packs (unusable ones are
  // logged through ctx and skipped); the data's vocabulary must fit model_vocab_size.
  Status open(const Recipe& recipe, const TaskContext& ctx, int64_t model_vocab_size);

  const shards::Manifest& manifest() const { return mixture_->source_data(0)->manifest(); }
  bool finished() const { return mixture_->finished(); }
  // Loads this rank's rows of the next global batch; the step's LR comes from the stage's schedule.
  Result<StepInfo> next_step();
  // Micro-batch `index` of the current step: (micro_batch_size, seq_len + 1) int64 on the device.
  torch::Tensor micro_batch(int64_t index) const;
  // Calls fn on every validation batch (rows ≤ micro_batch_size, seq_len + 1) in a fixed order;
  // false when there is no validation data or a window could not be read.
  bool for_each_validation_batch(const std::function<void(const torch::Tensor&)>& fn);

  Json cursor() const { return mixture_->cursor(); }
  Status restore(const Json& cursor) { return mixture_->restore(cursor); }

 private:
  struct ValSet {
    std::unique_ptr<shards::SequenceSampler> sampler;
    int64_t windows = 0;
  };

  const Recipe* recipe_ = nullptr;
  torch::Device device_ = torch::kCPU;
  std::unique_ptr<shards::MixtureSampler> mixture_;
  std::vector<ValSet> val_sets_;
  std::vector<int64_t> buffer_;
  torch::Tensor data_;
  int64_t rows_ = 0;
};

}  // namespace kanana::train
