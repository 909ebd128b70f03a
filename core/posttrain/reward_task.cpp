// The "reward" recipe type: a Bradley–Terry reward model (reward_model.h) trained on
// preference pairs: a Llama backbone (usually the SFT model, model.init_from) plus a scalar
// head "score.weight" that the loop optimises and checkpoints as an extra tensor.
//
//   "reward": {"train": "prefs.jsonl", "val_fraction": 0.1, "tokenizer": ..., "epochs": 1}
//
// A micro-batch holds micro_batch_size pairs (2× rows: chosen and rejected, each prompt + reply
// ending with the end-of-turn marker, left-truncated to seq_len like RewardModel scores them).
// Loss −log σ(r_c − r_r); metrics rm_accuracy, rm_margin; validation val_loss, val_accuracy.
#include <torch/torch.h>

#include "posttrain/batching.h"
#include "posttrain/losses.h"
#include "posttrain/reward_head.h"
#include "posttrain/task_support.h"
#include "train/autocast.h"
#include "train/lr_schedule.h"
#include "train/task.h"

namespace kanana::posttrain {
namespace {

namespace fs = std::filesystem;
using train::Recipe;

struct RmPair {
  std::vector<int32_t> chosen, rejected;  // prompt + reply
};

class RewardTask final : public train::Task {
 public:
  explicit RewardTask(const Recipe& r) : recipe_(r), opt_(std::any_cast<RewardOptions>(r.task_options)) {}

  Status setup(const train::TaskContext& ctx) override {
    ctx_ = ctx;
    KANANA_ASSIGN_OR_RETURN(model_, train::build_recipe_model(recipe_, ctx.dtype, ctx.device));
    score_ = init_score_head(model_->config(), recipe_.seed ^ 0x5C0E5C0Eull, ctx.dtype, ctx.device);
    KANANA_ASSIGN_OR_RETURN(tok_, load_task_tokenizer(recipe_, opt_.data, model_->config().vocab_size));
    if (ctx.rank == 0) KANANA_RETURN_IF_ERROR(keep_tokenizer_in_run(tok_, ctx.run_dir));
    pad_ = padding_id(*tok_.tokenizer);

    KANANA_ASSIGN_OR_RETURN(auto data, read_train_val<PreferencePair>(
                                           opt_.data, recipe_.seed, ctx, "preference",
                                           [](const std::filesystem::path& f, const ReadOptions& o) {
                                             return read_preference_jsonl(f, o);
                                           }));
    std::vector<PreferencePair>& train_p = data.train;
    std::vector<PreferencePair>& val_p = data.val;
    KANANA_ASSIGN_OR_RETURN(train_, tokenize(train_p));
    KANANA_ASSIGN_OR_RETURN(val_, tokenize(val_p));
    if (train_.empty()) return invalid_argument("no usable preference pair for the reward model");
    pairs_per_step_ = recipe_.micro_batch_size * recipe_.grad_accum;
    total_steps_ = steps_for(opt_.data, int64_t(train_.size()), pairs_per_step_ * ctx.world_size);
    stream_ = IndexStream(int64_t(train_.size()), recipe_.seed);
    ctx.log("info", "reward: " + std::to_string(train_.size()) + " training pairs, " + std::to_string(val_.size()) +
                        " validation pairs, " + std::to_string(total_steps_) + " steps", std::nullopt);
    return Status::ok();
  }

  model::LlamaForCausalLM& model() override { return model_; }
  std::vector<std::pair<std::string, torch::Tensor>> extra_parameters() override { return {{kScoreWeightName, score_}}; }
  std::filesystem::path tokenizer_source() const override { return tok_.path; }
  double flops_per_token() const override {
    return train::causal_lm_flops_per_token(const_cast<model::LlamaForCausalLM&>(model_), recipe_.seq_len);
  }
  bool finished() const override { return step_ >= total_steps_; }

  Result<train::StepInfo> begin_step() override {
    train::StepInfo info;
    info.lr = train::lr_at(recipe_.schedules[0], step_, total_steps_);
    info.stage_started = step_ == 0;
    info.stage_name = "reward";
    info.stage_steps = total_steps_;
    const int64_t base = step_ * pairs_per_step_ * ctx_.world_size + ctx_.rank * pairs_per_step_;
    current_.clear();
    for (int64_t i = 0; i < pairs_per_step_; ++i) {
      const RmPair& p = train_[size_t(stream_.at(base + i))];
      current_.push_back(&p);
      info.tokens += int64_t(p.chosen.size() + p.rejected.size());
    }
    ++step_;
    return info;
  }

  Result<train::MicroBatchOutput> micro_batch(int64_t index) override {
    const int64_t mb = recipe_.micro_batch_size;
    std::vector<const RmPair*> pairs(current_.begin() + index * mb, current_.begin() + (index + 1) * mb);
    RewardLossOutput lo;
    torch::Tensor rc, rr;
    {
      train::AutocastScope autocast(recipe_.runtime.autocast_bf16, ctx_.device);
      std::tie(rc, rr) = rewards(pairs);
      lo = bradley_terry_loss(rc, rr);
    }
    train::MicroBatchOutput o;
    o.loss = lo.loss;
    o.metrics["rm_accuracy"] = lo.accuracy.item<double>();
    o.metrics["rm_margin"] = lo.margin.item<double>();
    o.metrics["reward_chosen"] = rc.mean().item<double>();
    o.metrics["reward_rejected"] = rr.mean().item<double>();
    return o;
  }

  std::optional<Json> validate() override {
    if (val_.empty()) return std::nullopt;
    torch::NoGradGuard ng;
    double loss = 0, correct = 0, margin = 0;
    for (size_t begin = 0; begin < val_.size(); begin += size_t(recipe_.micro_batch_size)) {
      std::vector<const RmPair*> pairs;
      for (size_t i = begin; i < std::min(val_.size(), begin + size_t(recipe_.micro_batch_size)); ++i) pairs.push_back(&val_[i]);
      train::AutocastScope autocast(recipe_.runtime.autocast_bf16, ctx_.device);
      auto [rc, rr] = rewards(pairs);
      auto d = (rc - rr).to(torch::kFloat64);
      loss += (-torch::log_sigmoid(d)).sum().item<double>();
      correct += (d > 0).sum().item<double>();
      margin += d.sum().item<double>();
    }
    const double n = double(val_.size());
    return Json{{"val_loss", loss / n}, {"val_accuracy", correct / n}, {"val_margin", margin / n}, {"val_pairs", n}};
  }

  Json cursor() const override { return Json{{"step", step_}}; }
  Status restore(const Json& c) override {
    if (!c.is_object() || !c.contains("step") || !c["step"].is_number_integer())
      return data_loss("reward cursor has no step");
    step_ = c["step"].get<int64_t>();
    return Status::ok();
  }

 private:
  Result<std::vector<RmPair>> tokenize(const std::vector<PreferencePair>& pairs) {
    std::vector<RmPair> out;
    int64_t truncated = 0;
    for (const auto& p : pairs) {
      // No cut here: the whole sequence is left-truncated below, keeping the reply's end.
      auto t = tokenize_pair(*tok_.tokenizer, tok_.format, p, std::numeric_limits<int32_t>::max(),
                             std::numeric_limits<int32_t>::max());
      if (!t) {
        if (opt_.data.strict) return t.status();
        ctx_.log("warning", "skipped " + t.status().message(), std::nullopt);
        continue;
      }
      RmPair r;
      for (auto [reply, dst] : {std::pair{&t->chosen.reply, &r.chosen}, std::pair{&t->rejected.reply, &r.rejected}}) {
        *dst = t->prompt;
        dst->insert(dst->end(), reply->begin(), reply->end());
        if (int64_t(dst->size()) > recipe_.seq_len) {
          dst->erase(dst->begin(), dst->end() - recipe_.seq_len);
          ++truncated;
        }
      }
      out.push_back(std::move(r));
    }
    if (truncated)
      ctx_.log("warning", std::to_string(truncated) + " reward-model sequences were longer than seq_len " +
                              std::to_string(recipe_.seq_len) + " and lost their start", std::nullopt);
    return out;
  }

  std::pair<torch::Tensor, torch::Tensor> rewards(const std::vector<const RmPair*>& pairs) {
    std::vector<const std::vector<int32_t>*> rows;
    for (const auto* p : pairs) rows.push_back(&p->chosen);
    for (const auto* p : pairs) rows.push_back(&p->rejected);
    SeqBatch b = make_seq_batch(rows, pad_, ctx_.device);
    auto r = reward_forward(model_, score_, b.ids, b.lengths);  // (2B,)
    const int64_t n = int64_t(pairs.size());
    return {r.narrow(0, 0, n), r.narrow(0, n, n)};
  }

  const Recipe recipe_;
  RewardOptions opt_;
  train::TaskContext ctx_;
  model::LlamaForCausalLM model_{nullptr};
  torch::Tensor score_;
  TaskTokenizer tok_;
  int32_t pad_ = 0;
  std::vector<RmPair> train_, val_;
  std::vector<const RmPair*> current_;
  IndexStream stream_;
  int64_t pairs_per_step_ = 0, total_steps_ = 0, step_ = 0;
};

const bool reward_registered = train::register_task_factory("reward", [](const Recipe& r) -> Result<std::unique_ptr<train::Task>> {
  return std::unique_ptr<train::Task>(new RewardTask(r));
});

}  // namespace
}  // namespace kanana::posttrain
