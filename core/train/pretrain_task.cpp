// The "pretrain" recipe type: causal-LM training on packed token shards drawn from staged
// mixtures (shards/mixture.h), CE + z-loss, validation on the packs' val splits.
#include <torch/torch.h>

#include <cmath>

#include "train/autocast.h"
#include "train/losses.h"
#include "train/packed_stream.h"
#include "train/task.h"

namespace kanana::train {
namespace {

class PretrainTask final : public Task {
 public:
  explicit PretrainTask(const Recipe& recipe) : recipe_(recipe) {}

  Status setup(const TaskContext& ctx) override {
    ctx_ = ctx;
    KANANA_ASSIGN_OR_RETURN(model_, build_recipe_model(recipe_, ctx.dtype, ctx.device));
    return data_.open(recipe_, ctx, model_->config().vocab_size);
  }

  model::LlamaForCausalLM& model() override { return model_; }
  std::filesystem::path tokenizer_source() const override {
    // The packs' manifest names the tokenizer they were made with (absolute, see pack.cpp).
    const std::filesystem::path p = data_.manifest().tokenizer_path;
    std::error_code ec;
    return !p.empty() && std::filesystem::exists(p, ec) ? p : std::filesystem::path();
  }
  double flops_per_token() const override {
    return causal_lm_flops_per_token(const_cast<model::LlamaForCausalLM&>(model_), recipe_.seq_len);
  }
  bool finished() const override { return data_.finished(); }
  Result<StepInfo> begin_step() override { return data_.next_step(); }

  Result<MicroBatchOutput> micro_batch(int64_t index) override {
    torch::Tensor mb = data_.micro_batch(index);  // (micro, seq + 1)
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
    torch::NoGradGuard no_grad;
    double ce_sum = 0, count = 0;
    const bool ok = data_.for_each_validation_batch([&](const torch::Tensor& batch) {
      AutocastScope autocast(recipe_.runtime.autocast_bf16, ctx_.device);
      auto out = model_->forward(batch.narrow(1, 0, recipe_.seq_len));
      auto lo = causal_lm_loss(out.logits, batch.narrow(1, 1, recipe_.seq_len), 0.0);
      ce_sum += lo.ce.item<double>() * double(lo.tokens);
      count += double(lo.tokens);
    });
    if (!ok || count <= 0) return std::nullopt;
    const double loss = ce_sum / count;
    return Json{{"val_loss", loss}, {"val_ppl", std::exp(loss)}};
  }

  Json cursor() const override { return data_.cursor(); }
  Status restore(const Json& cursor) override { return data_.restore(cursor); }

 private:
  const Recipe recipe_;
  TaskContext ctx_;
  model::LlamaForCausalLM model_{nullptr};
  PackedStream data_;
};

const bool pretrain_registered = register_task_factory("pretrain", [](const Recipe& r) -> Result<std::unique_ptr<Task>> {
  return std::unique_ptr<Task>(new PretrainTask(r));
});

}  // namespace
}  // namespace kanana::train
