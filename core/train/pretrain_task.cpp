// The "pretrain" recipe type: causal-LM training on packed token shards drawn from staged
// mixtures (shards/mixture.h), CE + z-loss, validation on the packs' val splits.
#include <torch/torch.h>

#include <cmath>

#include "shards/mixture.h"
#include "shards/sampler.h"
#include "train/autocast.h"
#include "train/losses.h"
#include "train/task.h"

namespace kanana::train {
namespace {

class PretrainTask final : public Task {
 public:
  explicit PretrainTask(const Recipe& recipe) : recipe_(recipe) {}

  Status setup(const TaskContext& ctx) override {
    ctx_ = ctx;
    KANANA_ASSIGN_OR_RETURN(model_, build_recipe_model(recipe_, ctx.dtype, ctx.device));
    const auto& cfg = model_->config();

    shards::MixtureOptions mo;
    mo.seq_len = recipe_.seq_len;
    mo.batch_size = recipe_.micro_batch_size * recipe_.grad_accum;
    mo.seed = recipe_.seed;
    mo.rank = ctx.rank;
    mo.world_size = ctx.world_size;
    KANANA_ASSIGN_OR_RETURN(mixture_, shards::MixtureSampler::open(recipe_.stages, mo));
    const int64_t data_vocab = mixture_->source_data(0)->manifest().vocab_size;
    if (data_vocab > cfg.vocab_size)
      return invalid_argument("the data's tokenizer has " + std::to_string(data_vocab) +
                              " tokens but the model's vocab_size is " + std::to_string(cfg.vocab_size));
    rows_ = recipe_.micro_batch_size * recipe_.grad_accum;
    buffer_.resize(size_t(rows_ * (recipe_.seq_len + 1)));

    // Validation windows (in stream order, the same every time).
    for (const auto& pack : recipe_.validation.packs) {
      auto set = shards::ShardSet::open(pack, shards::Split::kValidation);
      if (!set || (*set)->num_tokens() < uint64_t(recipe_.seq_len) + 1) {
        ctx.log("warning", "no usable validation split in " + pack.string() +
                               (set ? std::string() : " (" + set.status().message() + ")"), std::nullopt);
        continue;
      }
      shards::SamplerOptions so;
      so.seq_len = recipe_.seq_len;
      so.batch_size = recipe_.micro_batch_size;
      so.shuffle = false;
      KANANA_ASSIGN_OR_RETURN(auto sampler, shards::SequenceSampler::create(*set, so));
      ValSet v;
      v.windows = std::min<int64_t>(int64_t(sampler->num_windows()), recipe_.validation.batches * recipe_.micro_batch_size);
      v.sampler = std::move(sampler);
      val_sets_.push_back(std::move(v));
    }
    return Status::ok();
  }

  model::LlamaForCausalLM& model() override { return model_; }
  double flops_per_token() const override {
    return causal_lm_flops_per_token(const_cast<model::LlamaForCausalLM&>(model_), recipe_.seq_len);
  }
  bool finished() const override { return mixture_->finished(); }

  Result<StepInfo> begin_step() override {
    const size_t stage = mixture_->stage_index();
    const int64_t step_in_stage = int64_t(mixture_->steps_done_in_stage());
    KANANA_ASSIGN_OR_RETURN(auto batch, mixture_->next_batch(buffer_.data()));
    StepInfo info;
    info.stage = int64_t(stage);
    info.stage_started = batch.stage_started;
    info.stage_name = recipe_.stages[stage].name;
    info.stage_steps = int64_t(mixture_->stage_steps(stage));
    info.num_stages = int64_t(recipe_.stages.size());
    info.lr = lr_at(recipe_.schedules[stage], step_in_stage, info.stage_steps);
    info.tokens = rows_ * recipe_.seq_len;
    data_ = torch::from_blob(buffer_.data(), {rows_, recipe_.seq_len + 1}, torch::kInt64).clone().to(ctx_.device);
    return info;
  }

  Result<MicroBatchOutput> micro_batch(int64_t index) override {
    torch::Tensor mb = data_.narrow(0, index * recipe_.micro_batch_size, recipe_.micro_batch_size);  // (micro, seq + 1)
    LossOutput lo;
    {
      AutocastScope autocast(recipe_.runtime.autocast_bf16, ctx_.device);
      auto out = model_->forward(mb.narrow(1, 0, recipe_.seq_len));
      lo = causal_lm_loss(out.logits, mb.narrow(1, 1, recipe_.seq_len), recipe_.z_loss);
    }
    MicroBatchOutput o;
    o.loss = lo.loss;
    o.metrics["ce_loss"] = lo.ce.item<double>();
    o.metrics["z_loss"] = lo.z_loss.item<double>();
    return o;
  }

  std::optional<Json> validate() override {
    if (val_sets_.empty()) return std::nullopt;
    torch::NoGradGuard no_grad;
    double ce_sum = 0, count = 0;
    std::vector<int32_t> row(size_t(recipe_.seq_len + 1));
    for (auto& v : val_sets_) {
      for (int64_t begin = 0; begin < v.windows; begin += recipe_.micro_batch_size) {
        const int64_t rows = std::min<int64_t>(recipe_.micro_batch_size, v.windows - begin);
        torch::Tensor batch = torch::empty({rows, recipe_.seq_len + 1}, torch::kInt64);  // (rows, seq + 1)
        auto acc = batch.accessor<int64_t, 2>();
        for (int64_t r = 0; r < rows; ++r) {
          if (!v.sampler->window(uint64_t(begin + r), row.data()).is_ok()) return std::nullopt;
          for (int64_t i = 0; i <= recipe_.seq_len; ++i) acc[r][i] = row[size_t(i)];
        }
        batch = batch.to(ctx_.device);
        AutocastScope autocast(recipe_.runtime.autocast_bf16, ctx_.device);
        auto out = model_->forward(batch.narrow(1, 0, recipe_.seq_len));
        auto lo = causal_lm_loss(out.logits, batch.narrow(1, 1, recipe_.seq_len), 0.0);
        ce_sum += lo.ce.item<double>() * double(lo.tokens);
        count += double(lo.tokens);
      }
    }
    if (count <= 0) return std::nullopt;
    const double loss = ce_sum / count;
    return Json{{"val_loss", loss}, {"val_ppl", std::exp(loss)}};
  }

  Json cursor() const override { return mixture_->cursor(); }
  Status restore(const Json& cursor) override { return mixture_->restore(cursor); }

 private:
  struct ValSet {
    std::unique_ptr<shards::SequenceSampler> sampler;
    int64_t windows = 0;
  };

  const Recipe recipe_;
  TaskContext ctx_;
  model::LlamaForCausalLM model_{nullptr};
  std::unique_ptr<shards::MixtureSampler> mixture_;
  std::vector<ValSet> val_sets_;
  std::vector<int64_t> buffer_;
  torch::Tensor data_;
  int64_t rows_ = 0;
};

const bool registered = register_task_type({
    .name = "pretrain",
    .summary = "causal-LM pre-training on packed token shards, staged mixtures",
    .uses_stages = true,
    .keys = {},
    .parse = nullptr,
    .create = [](const Recipe& r) -> Result<std::unique_ptr<Task>> { return std::unique_ptr<Task>(new PretrainTask(r)); },
});

}  // namespace
}  // namespace kanana::train
