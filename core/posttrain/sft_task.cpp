// The "sft" recipe type: supervised fine-tuning on chat JSONL, loss on assistant tokens only,
// short conversations packed into seq_len rows (chat_data.h).
//
//   "sft": {"train": "chat.jsonl", "val_fraction": 0.05, "tokenizer": "tok.model",
//           "chat_template": "auto", "epochs": 2, "max_steps": 0, "packing": true,
//           "attention": "document" | "row"}
// Packed rows restart positions at every conversation; "document" (the default) also keeps
// attention inside each conversation (posttrain/packed_forward.h), so a packed row computes
// exactly what its conversations would alone; "row" lets later conversations see earlier
// ones in the same row (cheaper mask, the common packing shortcut).
//
// One step = micro_batch_size · grad_accum rows per rank; rows come from an epoch-shuffled
// stream, so the cursor is just the step. Loss: CE (+ the recipe's z-loss) averaged over the
// assistant tokens of a micro-batch.
#include <torch/torch.h>

#include <cmath>

#include "posttrain/packed_forward.h"
#include "posttrain/task_support.h"
#include "train/autocast.h"
#include "train/losses.h"
#include "train/lr_schedule.h"
#include "train/task.h"

namespace kanana::posttrain {
namespace {

namespace fs = std::filesystem;
using train::Recipe;

class SftTask final : public train::Task {
 public:
  explicit SftTask(const Recipe& r) : recipe_(r), opt_(std::any_cast<SftOptions>(r.task_options)) {}

  Status setup(const train::TaskContext& ctx) override {
    ctx_ = ctx;
    KANANA_ASSIGN_OR_RETURN(model_, train::build_recipe_model(recipe_, ctx.dtype, ctx.device));
    KANANA_ASSIGN_OR_RETURN(tok_, load_task_tokenizer(recipe_, opt_.data, model_->config().vocab_size));
    if (ctx.rank == 0) KANANA_RETURN_IF_ERROR(keep_tokenizer_in_run(tok_, ctx.run_dir));

    KANANA_ASSIGN_OR_RETURN(auto data, read_train_val<ChatExample>(
                                           opt_.data, recipe_.seed, ctx, "SFT",
                                           [](const std::filesystem::path& f, const ReadOptions& o) {
                                             return read_chat_jsonl(f, o);
                                           }));
    std::vector<ChatExample>& train_ex = data.train;
    std::vector<ChatExample>& val_ex = data.val;
    KANANA_ASSIGN_OR_RETURN(train_rows_, make_rows(train_ex, "training"));
    if (train_rows_.rows == 0) return invalid_argument("no SFT training conversation with assistant tokens");
    if (!val_ex.empty()) {
      KANANA_ASSIGN_OR_RETURN(val_rows_, make_rows(val_ex, "validation"));
    }
    rows_per_step_ = recipe_.micro_batch_size * recipe_.grad_accum;
    total_steps_ = steps_for(opt_.data, train_rows_.rows, rows_per_step_ * ctx.world_size);
    stream_ = IndexStream(train_rows_.rows, recipe_.seed);
    ctx.log("info", "sft: " + std::to_string(train_ex.size()) + " conversations in " + std::to_string(train_rows_.rows) +
                        " rows of " + std::to_string(recipe_.seq_len) + (opt_.packing ? (opt_.document_attention ? " (packed, attention within each conversation)" : " (packed)") : "") + ", " +
                        std::to_string(val_rows_.rows) + " validation rows, " + std::to_string(total_steps_) +
                        " steps; chat template " + tok::chat_template_name(tok_.format.chat),
            std::nullopt);
    return Status::ok();
  }

  model::LlamaForCausalLM& model() override { return model_; }
  std::filesystem::path tokenizer_source() const override { return tok_.path; }
  double flops_per_token() const override {
    return train::causal_lm_flops_per_token(const_cast<model::LlamaForCausalLM&>(model_), recipe_.seq_len);
  }
  bool finished() const override { return step_ >= total_steps_; }

  Result<train::StepInfo> begin_step() override {
    train::StepInfo info;
    info.lr = train::lr_at(recipe_.schedules[0], step_, total_steps_);
    info.stage_started = step_ == 0;
    info.stage_name = "sft";
    info.stage_steps = total_steps_;
    const int64_t base = step_ * rows_per_step_ * ctx_.world_size + ctx_.rank * rows_per_step_;
    std::vector<int64_t> rows(static_cast<size_t>(rows_per_step_));
    for (int64_t i = 0; i < rows_per_step_; ++i) rows[size_t(i)] = stream_.at(base + i);
    batch_ = gather(train_rows_, rows);
    info.tokens = batch_.positions_used;
    ++step_;
    return info;
  }

  Result<train::MicroBatchOutput> micro_batch(int64_t index) override {
    const int64_t mb = recipe_.micro_batch_size;
    auto input = batch_.input.narrow(0, index * mb, mb);
    auto labels = batch_.labels.narrow(0, index * mb, mb);
    train::LossOutput lo;
    {
      train::AutocastScope autocast(recipe_.runtime.autocast_bf16, ctx_.device);
      auto logits = forward(input, batch_.positions.narrow(0, index * mb, mb), batch_.segments.narrow(0, index * mb, mb));
      lo = train::causal_lm_loss(logits, labels, recipe_.z_loss);
    }
    train::MicroBatchOutput o;
    o.loss = lo.loss;
    o.metrics["ce_loss"] = lo.ce.item<double>();
    o.metrics["z_loss"] = lo.z_loss.item<double>();
    o.metrics["target_tokens"] = double(lo.tokens);
    return o;
  }

  std::optional<Json> validate() override {
    if (val_rows_.rows == 0) return std::nullopt;
    torch::NoGradGuard ng;
    double ce_sum = 0, count = 0;
    for (int64_t begin = 0; begin < val_rows_.rows; begin += recipe_.micro_batch_size) {
      const int64_t n = std::min<int64_t>(recipe_.micro_batch_size, val_rows_.rows - begin);
      std::vector<int64_t> rows(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) rows[size_t(i)] = begin + i;
      Batch b = gather(val_rows_, rows);
      train::AutocastScope autocast(recipe_.runtime.autocast_bf16, ctx_.device);
      auto lo = train::causal_lm_loss(forward(b.input, b.positions, b.segments), b.labels, 0.0);
      ce_sum += lo.ce.item<double>() * double(lo.tokens);
      count += double(lo.tokens);
    }
    if (count <= 0) return std::nullopt;
    return Json{{"val_loss", ce_sum / count}, {"val_ppl", std::exp(ce_sum / count)}, {"val_tokens", count}};
  }

  Json cursor() const override { return Json{{"step", step_}}; }
  Status restore(const Json& c) override {
    if (!c.is_object() || !c.contains("step") || !c["step"].is_number_integer())
      return data_loss("sft cursor has no step");
    step_ = c["step"].get<int64_t>();
    return Status::ok();
  }

 private:
  torch::Tensor forward(const torch::Tensor& input, const torch::Tensor& positions, const torch::Tensor& segments) {
    if (opt_.document_attention && opt_.packing) return packed_forward(model_, input, positions, segments);
    model::ForwardOptions fo;
    fo.position_ids = positions;
    return model_->forward(input, fo).logits;
  }

  struct Batch {
    torch::Tensor input, labels, positions, segments;
    int64_t targets = 0;
    int64_t positions_used = 0;  // non-padding positions (what the forward pass processes)
  };

  Result<SftRows> make_rows(const std::vector<ChatExample>& examples, const std::string& what) {
    std::vector<SftSequence> seqs;
    seqs.reserve(examples.size());
    int64_t truncated = 0, empty = 0;
    for (const auto& ex : examples) {
      auto chat = tokenize_chat(*tok_.tokenizer, tok_.format.chat, ex.messages);
      if (!chat) {
        if (opt_.data.strict) return chat.status().with_context(ex.origin);
        ctx_.log("warning", "skipped " + ex.origin + ": " + chat.status().message(), std::nullopt);
        continue;
      }
      bool cut = false;
      SftSequence s = make_sft_sequence(*chat, recipe_.seq_len, &cut);
      truncated += cut ? 1 : 0;
      if (s.targets() == 0) {
        ++empty;
        continue;
      }
      seqs.push_back(std::move(s));
    }
    if (truncated)
      ctx_.log("warning", what + ": " + std::to_string(truncated) + " conversations longer than seq_len " +
                              std::to_string(recipe_.seq_len) + " were truncated", std::nullopt);
    if (empty)
      ctx_.log("warning", what + ": " + std::to_string(empty) + " conversations had no assistant token within seq_len; skipped",
               std::nullopt);
    return pack_sft_sequences(seqs, recipe_.seq_len, opt_.packing, padding_id(*tok_.tokenizer));
  }

  Batch gather(const SftRows& rows, const std::vector<int64_t>& which) const {
    const int64_t n = int64_t(which.size()), s = rows.seq_len;
    torch::Tensor input = torch::empty({n, s}, torch::kInt64), labels = torch::empty({n, s}, torch::kInt64),
                  positions = torch::empty({n, s}, torch::kInt64), segments = torch::empty({n, s}, torch::kInt64);
    auto in = input.accessor<int64_t, 2>(), lb = labels.accessor<int64_t, 2>(), ps = positions.accessor<int64_t, 2>(),
         sg = segments.accessor<int64_t, 2>();
    Batch b;
    for (int64_t i = 0; i < n; ++i) {
      const size_t off = size_t(which[size_t(i)] * s);
      for (int64_t t = 0; t < s; ++t) {
        in[i][t] = rows.input[off + size_t(t)];
        lb[i][t] = rows.labels[off + size_t(t)];
        ps[i][t] = rows.positions[off + size_t(t)];
        sg[i][t] = rows.segments[off + size_t(t)];
      }
      b.targets += rows.targets[size_t(which[size_t(i)])];
      for (int64_t t = 0; t < s; ++t) b.positions_used += rows.segments[off + size_t(t)] >= 0 ? 1 : 0;
    }
    b.input = input.to(ctx_.device);
    b.labels = labels.to(ctx_.device);
    b.positions = positions.to(ctx_.device);
    b.segments = segments.to(ctx_.device);
    return b;
  }

  const Recipe recipe_;
  SftOptions opt_;
  train::TaskContext ctx_;
  model::LlamaForCausalLM model_{nullptr};
  TaskTokenizer tok_;
  SftRows train_rows_, val_rows_;
  IndexStream stream_;
  Batch batch_;
  int64_t rows_per_step_ = 0, total_steps_ = 0, step_ = 0;
};

const bool sft_registered = train::register_task_factory("sft", [](const Recipe& r) -> Result<std::unique_ptr<train::Task>> {
  return std::unique_ptr<train::Task>(new SftTask(r));
});

}  // namespace
}  // namespace kanana::posttrain
