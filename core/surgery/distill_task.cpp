// The "distill" recipe type: a student (the recipe's "model", typically a pruned checkpoint
// via init_from) learns the teacher's next-token distribution on packed token shards with
// the same staged mixtures as "pretrain" (Kanana distils every pruned student from the 8B
// teacher with KL on the final logits, kanana-facts.md §5).
//
//   "teacher": "models/teacher",            // Hugging Face folder (relative to the recipe)
//   "distill": {"temperature": 1.0,         // T; the KL term is scaled by T²
//               "alpha": 0.0,               // weight of the LM (next-token CE) loss: (1 − α)·T²·KL + α·CE
//               "top_k": 0}                 // keep only the teacher's top-k logits per position (0 = all)
//
// The teacher is loaded in the run's dtype on the run's device, in eval mode, without
// gradients (its parameters are frozen and its forward runs under NoGradGuard). Student and
// teacher may differ in every dimension but the vocabulary: the vocab sizes must match, and
// when both folders carry a tokenizer (and the data's manifest names one) their
// fingerprints must agree. Metrics: kl (at T), ce (student next-token CE on the data),
// z_loss; validation: val_loss (student CE, comparable with a "pretrain" run), val_kl and
// the teacher's own val_loss_teacher.
#include <torch/torch.h>

#include <cmath>

#include "model/checkpoint.h"
#include "surgery/distill_loss.h"
#include "surgery/distill_spec.h"
#include "tokenizer/tokenizer.h"
#include "train/autocast.h"
#include "train/losses.h"
#include "train/packed_stream.h"
#include "train/task.h"

namespace kanana::surgery {
namespace {

namespace fs = std::filesystem;
using train::Recipe;

bool has_tokenizer(const fs::path& dir) {
  std::error_code ec;
  return fs::exists(dir / "tokenizer.json", ec) || fs::exists(dir / "tokenizer.model", ec);
}

class DistillTask final : public train::Task {
 public:
  explicit DistillTask(const Recipe& recipe)
      : recipe_(recipe), options_(std::any_cast<DistillOptions>(recipe.task_options)) {}

  Status setup(const train::TaskContext& ctx) override {
    ctx_ = ctx;
    KANANA_ASSIGN_OR_RETURN(student_, train::build_recipe_model(recipe_, ctx.dtype, ctx.device));
    model::LoadOptions lo;
    lo.dtype = ctx.dtype;
    lo.device = ctx.device;
    KANANA_ASSIGN_OR_RETURN(auto loaded, model::load_model(options_.teacher, lo));
    teacher_ = loaded.model;
    teacher_->eval();
    for (auto& p : teacher_->parameters()) p.set_requires_grad(false);

    const auto& s = student_->config();
    const auto& t = teacher_->config();
    if (s.vocab_size != t.vocab_size)
      return invalid_argument("the teacher " + options_.teacher.string() + " has vocab_size " + std::to_string(t.vocab_size) +
                              " but the student has " + std::to_string(s.vocab_size) +
                              ": distillation needs one tokenizer for both");
    if (t.bidirectional || s.bidirectional) return invalid_argument("distillation needs causal language models");

    KANANA_RETURN_IF_ERROR(data_.open(recipe_, ctx, s.vocab_size));
    KANANA_RETURN_IF_ERROR(check_tokenizers(data_.manifest().tokenizer_fingerprint));
    ctx.log("info",
            "distilling from " + options_.teacher.string() + " (" + std::to_string(model::parameter_count(t)) +
                " parameters) into a " + std::to_string(model::parameter_count(s)) + "-parameter student, T=" +
                std::to_string(options_.temperature) + ", alpha=" + std::to_string(options_.alpha) +
                (options_.top_k > 0 ? ", top-" + std::to_string(options_.top_k) + " teacher logits" : ""),
            std::nullopt);
    return Status::ok();
  }

  model::LlamaForCausalLM& model() override { return student_; }
  // The teacher's tokenizer (checked equal to the student's and the data's in setup), else the packs'.
  fs::path tokenizer_source() const override {
    if (auto t = tok::model_tokenizer_path(options_.teacher); t.is_ok()) return *t;
    const fs::path p = data_.manifest().tokenizer_path;
    std::error_code ec;
    return !p.empty() && fs::exists(p, ec) ? p : fs::path();
  }
  double flops_per_token() const override {
    // Student forward + backward, plus the teacher's forward (a third of its training cost).
    return train::causal_lm_flops_per_token(const_cast<model::LlamaForCausalLM&>(student_), recipe_.seq_len) +
           train::causal_lm_flops_per_token(const_cast<model::LlamaForCausalLM&>(teacher_), recipe_.seq_len) / 3.0;
  }
  bool finished() const override { return data_.finished(); }
  Result<train::StepInfo> begin_step() override { return data_.next_step(); }

  Result<train::MicroBatchOutput> micro_batch(int64_t index) override {
    auto mb = data_.micro_batch(index);  // (micro, seq + 1)
    auto input = mb.narrow(1, 0, recipe_.seq_len);
    auto targets = mb.narrow(1, 1, recipe_.seq_len);
    TeacherLogits teacher = teacher_forward(input);
    train::MicroBatchOutput o;
    train::AutocastScope autocast(recipe_.runtime.autocast_bf16, ctx_.device);
    auto out = student_->forward(input);
    auto kd = distill_kl(out.logits, teacher, options_.temperature);
    auto lm = train::causal_lm_loss(out.logits, targets, recipe_.z_loss);
    o.loss = (1.0 - options_.alpha) * kd.loss + options_.alpha * lm.ce + lm.z_loss;
    o.metrics["kl"] = kd.kl.item<double>();
    o.metrics["ce"] = lm.ce.item<double>();
    o.metrics["z_loss"] = lm.z_loss.item<double>();
    return o;
  }

  std::optional<Json> validate() override {
    torch::NoGradGuard no_grad;
    double ce_sum = 0, kl_sum = 0, teacher_sum = 0, count = 0;
    const bool ok = data_.for_each_validation_batch([&](const torch::Tensor& batch) {
      auto input = batch.narrow(1, 0, recipe_.seq_len);
      auto targets = batch.narrow(1, 1, recipe_.seq_len);
      train::AutocastScope autocast(recipe_.runtime.autocast_bf16, ctx_.device);
      auto student_logits = student_->forward(input).logits;
      auto teacher_logits = teacher_->forward(input).logits;
      auto lo = train::causal_lm_loss(student_logits, targets, 0.0);
      auto lt = train::causal_lm_loss(teacher_logits, targets, 0.0);
      // Validation KL at T = 1 over the full vocabulary: the distance actually closed.
      auto kd = distill_kl(student_logits, teacher_targets(teacher_logits, 0), 1.0);
      const double n = double(lo.tokens);
      ce_sum += lo.ce.item<double>() * n;
      teacher_sum += lt.ce.item<double>() * n;
      kl_sum += kd.kl.item<double>() * n;
      count += n;
    });
    if (!ok) return std::nullopt;
    if (count <= 0) return std::nullopt;
    const double loss = ce_sum / count;
    return Json{{"val_loss", loss}, {"val_ppl", std::exp(loss)}, {"val_kl", kl_sum / count},
                {"val_loss_teacher", teacher_sum / count}};
  }

  Json cursor() const override { return data_.cursor(); }
  Status restore(const Json& cursor) override { return data_.restore(cursor); }

 private:
  TeacherLogits teacher_forward(const torch::Tensor& input) {
    torch::NoGradGuard no_grad;
    train::AutocastScope autocast(recipe_.runtime.autocast_bf16, ctx_.device);
    auto logits = teacher_->forward(input).logits;  // (micro, seq, vocab)
    return teacher_targets(logits, options_.top_k);
  }

  // Tokenizer files next to the teacher / the student's init_from, and the data's manifest,
  // must name the same tokenizer when they name one.
  Status check_tokenizers(const std::string& data_fingerprint) {
    std::string teacher_fp, student_fp;
    if (has_tokenizer(options_.teacher)) {
      KANANA_ASSIGN_OR_RETURN(auto tok, tok::load_tokenizer(options_.teacher));
      teacher_fp = tok->fingerprint();
    }
    if (!recipe_.model.init_from.empty() && has_tokenizer(recipe_.model.init_from)) {
      KANANA_ASSIGN_OR_RETURN(auto tok, tok::load_tokenizer(recipe_.model.init_from));
      student_fp = tok->fingerprint();
    }
    if (!teacher_fp.empty() && !student_fp.empty() && teacher_fp != student_fp)
      return invalid_argument("the teacher's tokenizer (" + teacher_fp + ") differs from the student's (" + student_fp +
                              "): distillation needs one tokenizer for both");
    if (!teacher_fp.empty() && !data_fingerprint.empty() && teacher_fp != data_fingerprint)
      return invalid_argument("the training data was tokenized with " + data_fingerprint + " but the teacher's tokenizer is " +
                              teacher_fp);
    return Status::ok();
  }

  const Recipe recipe_;
  const DistillOptions options_;
  train::TaskContext ctx_;
  model::LlamaForCausalLM student_{nullptr};
  model::LlamaForCausalLM teacher_{nullptr};
  train::PackedStream data_;
};

const bool distill_registered = train::register_task_factory("distill", [](const Recipe& r) -> Result<std::unique_ptr<train::Task>> {
  return std::unique_ptr<train::Task>(new DistillTask(r));
});

}  // namespace
}  // namespace kanana::surgery
