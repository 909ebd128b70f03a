// Packed-shard data for training tasks; see packed_stream.h.
#include "train/packed_stream.h"

#include <algorithm>

namespace kanana::train {

Status PackedStream::open(const Recipe& recipe, const TaskContext& ctx, int64_t model_vocab_size) {
  recipe_ = &recipe;
  device_ = ctx.device;
  shards::MixtureOptions mo;
  mo.seq_len = recipe.seq_len;
  mo.batch_size = recipe.micro_batch_size * recipe.grad_accum;
  mo.seed = recipe.seed;
  mo.rank = ctx.rank;
  mo.world_size = ctx.world_size;
  KANANA_ASSIGN_OR_RETURN(mixture_, shards::MixtureSampler::open(recipe.stages, mo));
  const int64_t data_vocab = manifest().vocab_size;
  if (data_vocab > model_vocab_size)
    return invalid_argument("the data's tokenizer has " + std::to_string(data_vocab) +
                            " tokens but the model's vocab_size is " + std::to_string(model_vocab_size));
  rows_ = recipe.micro_batch_size * recipe.grad_accum;
  buffer_.resize(size_t(rows_ * (recipe.seq_len + 1)));

  // Validation windows (in stream order, the same every time).
  for (const auto& pack : recipe.validation.packs) {
    auto set = shards::ShardSet::open(pack, shards::Split::kValidation);
    if (!set || (*set)->num_tokens() < uint64_t(recipe.seq_len) + 1) {
      ctx.log("warning", "no usable validation split in " + pack.string() +
                             (set ? std::string() : " (" + set.status().message() + ")"), std::nullopt);
      continue;
    }
    shards::SamplerOptions so;
    so.seq_len = recipe.seq_len;
    so.batch_size = recipe.micro_batch_size;
    so.shuffle = false;
    KANANA_ASSIGN_OR_RETURN(auto sampler, shards::SequenceSampler::create(*set, so));
    ValSet v;
    v.windows = std::min<int64_t>(int64_t(sampler->num_windows()), recipe.validation.batches * recipe.micro_batch_size);
    v.sampler = std::move(sampler);
    val_sets_.push_back(std::move(v));
  }
  return Status::ok();
}

Result<StepInfo> PackedStream::next_step() {
  const Recipe& r = *recipe_;
  const size_t stage = mixture_->stage_index();
  const int64_t step_in_stage = int64_t(mixture_->steps_done_in_stage());
  KANANA_ASSIGN_OR_RETURN(auto batch, mixture_->next_batch(buffer_.data()));
  StepInfo info;
  info.stage = int64_t(stage);
  info.stage_started = batch.stage_started;
  info.stage_name = r.stages[stage].name;
  info.stage_steps = int64_t(mixture_->stage_steps(stage));
  info.num_stages = int64_t(r.stages.size());
  info.lr = lr_at(r.schedules[stage], step_in_stage, info.stage_steps);
  info.tokens = rows_ * r.seq_len;
  data_ = torch::from_blob(buffer_.data(), {rows_, r.seq_len + 1}, torch::kInt64).clone().to(device_);
  return info;
}

torch::Tensor PackedStream::micro_batch(int64_t index) const {
  return data_.narrow(0, index * recipe_->micro_batch_size, recipe_->micro_batch_size);
}

bool PackedStream::for_each_validation_batch(const std::function<void(const torch::Tensor&)>& fn) {
  if (val_sets_.empty()) return false;
  const int64_t seq = recipe_->seq_len, micro = recipe_->micro_batch_size;
  std::vector<int32_t> row(size_t(seq + 1));
  for (auto& v : val_sets_) {
    for (int64_t begin = 0; begin < v.windows; begin += micro) {
      const int64_t rows = std::min<int64_t>(micro, v.windows - begin);
      torch::Tensor batch = torch::empty({rows, seq + 1}, torch::kInt64);  // (rows, seq + 1)
      auto acc = batch.accessor<int64_t, 2>();
      for (int64_t r = 0; r < rows; ++r) {
        if (!v.sampler->window(uint64_t(begin + r), row.data()).is_ok()) return false;
        for (int64_t i = 0; i <= seq; ++i) acc[r][i] = row[size_t(i)];
      }
      fn(batch.to(device_));
    }
  }
  return true;
}

}  // namespace kanana::train
