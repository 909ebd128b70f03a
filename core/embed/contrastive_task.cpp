// The "contrastive" recipe type: an embedding model (Kanana2Vec layout: the decoder with
// bidirectional attention, mean pooling, L2-normalised) trained with InfoNCE on
// (query, positive) pairs, every other positive of the micro-batch being a negative.
//
//   "model": {"init_from": "instruct-or-embedding checkpoint"} | {"preset": ...} | {"config": ...},
//   "seq_len": 128,                 // tokens per text (instruction included for queries)
//   "micro_batch_size": 32,         // pairs per micro-batch = 31 negatives per query
//   "schedule": {...},
//   "contrastive": {"train": "pairs.jsonl" | [...], "val": "val.jsonl" | "val_fraction": 0.05,
//                   "tokenizer": "...", "epochs": 1, "max_steps": 0, "temperature": 0.05,
//                   "symmetric": true, "query_task": "Given a question, ...", "max_val_pairs": 1000,
//                   "strict": false}
//
// A causal model is converted first (to_embedding_layout: same weights, bidirectional, no
// lm_head), LLM2Vec's first step; checkpoints are kanana2vec folders that load_embedder reads.
// Negatives are in-batch per micro-batch and per rank (no cross-rank gathering, no gradient
// cache): grad_accum and data parallelism add pairs per step, not negatives per query.
// Validation: InfoNCE over the whole validation set (every other positive a negative), its
// recall@1 and MRR.
#include <torch/torch.h>

#include <cmath>
#include <random>

#include "base/json.h"
#include "embed/contrastive.h"
#include "embed/contrastive_spec.h"
#include "embed/embedder.h"
#include "embed/embedding_model.h"
#include "train/autocast.h"
#include "train/lr_schedule.h"
#include "train/task.h"

namespace kanana::embed {
namespace {

namespace fs = std::filesystem;
using train::Recipe;

struct TokenPair {
  EmbedInput query, positive;
};

// Seeded Fisher–Yates over 0..n-1 (same order on every platform: no std::shuffle).
std::vector<int64_t> permutation(int64_t n, uint64_t seed) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) p[size_t(i)] = i;
  std::mt19937_64 rng(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    const int64_t j = int64_t(rng() % uint64_t(i + 1));
    std::swap(p[size_t(i)], p[size_t(j)]);
  }
  return p;
}

class ContrastiveTask final : public train::Task {
 public:
  explicit ContrastiveTask(const Recipe& r) : recipe_(r), opt_(std::any_cast<ContrastiveOptions>(r.task_options)) {}

  Status setup(const train::TaskContext& ctx) override {
    ctx_ = ctx;
    KANANA_ASSIGN_OR_RETURN(auto built, train::build_recipe_model(recipe_, ctx.dtype, ctx.device));
    const auto& bc = built->config();
    if (bc.bidirectional && bc.tie_word_embeddings) {
      model_ = built;
    } else {
      KANANA_ASSIGN_OR_RETURN(model_, to_embedding_layout(built));
      built = nullptr;  // free the causal copy
    }
    const fs::path tok_path = !opt_.tokenizer.empty() ? opt_.tokenizer : recipe_.model.init_from;
    if (tok_path.empty())
      return invalid_argument(recipe_.file.string() +
                              ": field 'contrastive.tokenizer' is required (the model has no init_from folder to take it from)");
    KANANA_ASSIGN_OR_RETURN(tokenizer_, load_model_tokenizer(tok_path, opt_.tokenizer));
    if (tokenizer_->vocab_size() > model_->config().vocab_size)
      return invalid_argument(tok_path.string() + ": the tokenizer has " + std::to_string(tokenizer_->vocab_size()) +
                              " tokens but the model's vocab_size is " + std::to_string(model_->config().vocab_size));
    if (ctx.rank == 0) KANANA_RETURN_IF_ERROR(keep_tokenizer(tok_path));
    pad_ = embedding_pad_id(*tokenizer_);
    instruction_ = format_instruction(opt_.query_task);

    std::vector<TextPair> train_pairs, val_pairs;
    for (const auto& f : opt_.train) {
      KANANA_ASSIGN_OR_RETURN(auto pf, read_pairs_jsonl(f, opt_.strict));
      report(pf.problems, "pair");
      for (auto& p : pf.pairs) train_pairs.push_back(std::move(p));
    }
    if (!opt_.val.empty()) {
      KANANA_ASSIGN_OR_RETURN(auto pf, read_pairs_jsonl(opt_.val, opt_.strict));
      report(pf.problems, "validation pair");
      val_pairs = std::move(pf.pairs);
    } else if (opt_.val_fraction > 0 && train_pairs.size() > 1) {
      const auto perm = permutation(int64_t(train_pairs.size()), recipe_.seed ^ 0xC0A7C0A7ull);
      const size_t n_val = std::max<size_t>(1, size_t(opt_.val_fraction * double(train_pairs.size())));
      std::vector<uint8_t> is_val(train_pairs.size(), 0);
      for (size_t i = 0; i < n_val; ++i) is_val[size_t(perm[i])] = 1;
      std::vector<TextPair> kept;
      for (size_t i = 0; i < train_pairs.size(); ++i) (is_val[i] ? val_pairs : kept).push_back(std::move(train_pairs[i]));
      train_pairs = std::move(kept);
    }
    if (int64_t(val_pairs.size()) > opt_.max_val_pairs) val_pairs.resize(size_t(opt_.max_val_pairs));
    KANANA_ASSIGN_OR_RETURN(train_, tokenize(train_pairs, "training"));
    KANANA_ASSIGN_OR_RETURN(val_, tokenize(val_pairs, "validation"));
    if (int64_t(train_.size()) < 2) return invalid_argument("contrastive: fewer than 2 usable training pairs (in-batch negatives need 2)");
    if (recipe_.micro_batch_size < 2)
      return invalid_argument(recipe_.file.string() + ": field 'micro_batch_size' must be >= 2 for in-batch negatives");
    pairs_per_step_ = recipe_.micro_batch_size * recipe_.grad_accum;
    const int64_t global = pairs_per_step_ * ctx.world_size;
    total_steps_ = opt_.max_steps > 0
                       ? opt_.max_steps
                       : std::max<int64_t>(1, int64_t(std::ceil(opt_.epochs * double(train_.size()) / double(global))));
    ctx.log("info", "contrastive: " + std::to_string(train_.size()) + " training pairs, " + std::to_string(val_.size()) +
                        " validation pairs, " + std::to_string(total_steps_) + " steps, " +
                        std::to_string(recipe_.micro_batch_size - 1) + " in-batch negatives per query",
            std::nullopt);
    return Status::ok();
  }

  model::LlamaForCausalLM& model() override { return model_; }
  double flops_per_token() const override {
    // The causal-LM count includes a (tied) vocabulary projection the embedding model never runs.
    auto& m = const_cast<model::LlamaForCausalLM&>(model_);
    const auto& c = m->config();
    return train::causal_lm_flops_per_token(m, recipe_.seq_len) - 6.0 * double(c.vocab_size * c.hidden_size);
  }
  bool finished() const override { return step_ >= total_steps_; }

  Result<train::StepInfo> begin_step() override {
    train::StepInfo info;
    info.lr = train::lr_at(recipe_.schedules[0], step_, total_steps_);
    info.stage_started = step_ == 0;
    info.stage_name = "contrastive";
    info.stage_steps = total_steps_;
    const int64_t n = int64_t(train_.size());
    const int64_t base = step_ * pairs_per_step_ * ctx_.world_size + ctx_.rank * pairs_per_step_;
    current_.clear();
    for (int64_t i = 0; i < pairs_per_step_; ++i) {
      const int64_t k = base + i;
      const int64_t epoch = k / n;
      if (epoch != perm_epoch_) {
        perm_ = permutation(n, recipe_.seed * 0x9E3779B97F4A7C15ull + uint64_t(epoch));
        perm_epoch_ = epoch;
      }
      const TokenPair& p = train_[size_t(perm_[size_t(k % n)])];
      current_.push_back(&p);
      info.tokens += int64_t(p.query.ids.size() + p.positive.ids.size());
    }
    ++step_;
    return info;
  }

  Result<train::MicroBatchOutput> micro_batch(int64_t index) override {
    const int64_t mb = recipe_.micro_batch_size;
    std::vector<const EmbedInput*> q, p;
    for (int64_t i = index * mb; i < (index + 1) * mb; ++i) {
      q.push_back(&current_[size_t(i)]->query);
      p.push_back(&current_[size_t(i)]->positive);
    }
    InfoNceOutput lo;
    {
      train::AutocastScope autocast(recipe_.runtime.autocast_bf16, ctx_.device);
      auto qv = embed_forward(model_, make_embed_batch(q, pad_, ctx_.device));
      auto pv = embed_forward(model_, make_embed_batch(p, pad_, ctx_.device));
      lo = info_nce_loss(qv, pv, opt_.temperature, opt_.symmetric);
    }
    train::MicroBatchOutput o;
    o.loss = lo.loss;
    o.metrics["contrastive_accuracy"] = lo.accuracy.item<double>();
    o.metrics["positive_cos"] = lo.positive_similarity.item<double>();
    o.metrics["negative_cos"] = lo.negative_similarity.item<double>();
    return o;
  }

  std::optional<Json> validate() override {
    if (val_.size() < 2) return std::nullopt;
    torch::NoGradGuard ng;
    std::vector<torch::Tensor> qs, ps;
    const size_t bs = size_t(recipe_.micro_batch_size);
    for (size_t begin = 0; begin < val_.size(); begin += bs) {
      std::vector<const EmbedInput*> q, p;
      for (size_t i = begin; i < std::min(val_.size(), begin + bs); ++i) {
        q.push_back(&val_[i].query);
        p.push_back(&val_[i].positive);
      }
      train::AutocastScope autocast(recipe_.runtime.autocast_bf16, ctx_.device);
      qs.push_back(embed_forward(model_, make_embed_batch(q, pad_, ctx_.device)));
      ps.push_back(embed_forward(model_, make_embed_batch(p, pad_, ctx_.device)));
    }
    auto q = torch::cat(qs), p = torch::cat(ps);
    auto lo = info_nce_loss(q, p, opt_.temperature, opt_.symmetric);
    auto sim = torch::matmul(q, p.t());                          // (n, n)
    auto rank = sim.gt(sim.diagonal().unsqueeze(1)).sum(1) + 1;  // 1-based rank of each positive
    return Json{{"val_loss", lo.loss.item<double>()},
                {"val_recall@1", rank.eq(1).to(torch::kFloat64).mean().item<double>()},
                {"val_mrr", (1.0 / rank.to(torch::kFloat64)).mean().item<double>()},
                {"val_pairs", int64_t(val_.size())}};
  }

  Json cursor() const override { return Json{{"step", step_}}; }
  Status restore(const Json& c) override {
    if (!c.is_object() || !c.contains("step") || !c["step"].is_number_integer())
      return data_loss("contrastive cursor has no step");
    step_ = c["step"].get<int64_t>();
    return Status::ok();
  }

 private:
  Result<std::vector<TokenPair>> tokenize(const std::vector<TextPair>& pairs, const std::string& what) {
    std::vector<TokenPair> out;
    out.reserve(pairs.size());
    int64_t skipped = 0;
    for (size_t i = 0; i < pairs.size(); ++i) {
      auto q = tokenize_for_embedding(*tokenizer_, pairs[i].query, instruction_, recipe_.seq_len);
      auto p = tokenize_for_embedding(*tokenizer_, pairs[i].positive, "", recipe_.seq_len);
      if (!q.is_ok() || !p.is_ok()) {
        const std::string why = !q.is_ok() ? "query: " + q.status().message() : "positive: " + p.status().message();
        if (opt_.strict) return invalid_argument(what + " pair " + std::to_string(i) + ": " + why);
        ++skipped;
        continue;
      }
      out.push_back({std::move(*q), std::move(*p)});
    }
    if (skipped) ctx_.log("warning", "skipped " + std::to_string(skipped) + " " + what + " pairs that tokenise to nothing", std::nullopt);
    return out;
  }

  void report(const std::vector<std::string>& problems, const std::string& what) {
    if (problems.empty() || !ctx_.log) return;
    for (size_t i = 0; i < std::min<size_t>(problems.size(), 5); ++i)
      ctx_.log("warning", "skipped " + what + ": " + problems[i], std::nullopt);
    if (problems.size() > 5)
      ctx_.log("warning", "skipped " + std::to_string(problems.size() - 5) + " more malformed " + what + " lines", std::nullopt);
  }

  // <run>/tokenizer/ holds the tokenizer, so every checkpoint of the run loads with load_embedder.
  Status keep_tokenizer(const fs::path& from) {
    if (ctx_.run_dir.empty()) return Status::ok();
    std::error_code ec;
    fs::path file = from;
    if (fs::is_directory(file, ec)) {
      for (const char* name : {"tokenizer.json", "tokenizer.model"})
        if (fs::is_regular_file(from / name)) file = from / name;
      if (fs::is_directory(file, ec))
        for (const auto& e : fs::directory_iterator(from, ec))
          if (e.path().extension() == ".model") file = e.path();
    }
    if (!fs::is_regular_file(file, ec)) return Status::ok();
    const fs::path dir = ctx_.run_dir / "tokenizer";
    fs::create_directories(dir, ec);
    const fs::path target = dir / (file.extension() == ".json" ? "tokenizer.json" : "tokenizer.model");
    fs::copy_file(file, target, fs::copy_options::overwrite_existing, ec);
    if (ec) return invalid_argument("copying " + file.string() + " to " + target.string() + ": " + ec.message());
    const fs::path config = file.parent_path() / "tokenizer_config.json";
    if (fs::is_regular_file(config, ec)) fs::copy_file(config, dir / "tokenizer_config.json", fs::copy_options::overwrite_existing, ec);
    return Status::ok();
  }

  const Recipe recipe_;
  ContrastiveOptions opt_;
  train::TaskContext ctx_;
  model::LlamaForCausalLM model_{nullptr};
  std::shared_ptr<const tok::Tokenizer> tokenizer_;
  int32_t pad_ = 0;
  std::string instruction_;
  std::vector<TokenPair> train_, val_;
  std::vector<const TokenPair*> current_;
  std::vector<int64_t> perm_;
  int64_t perm_epoch_ = -1;
  int64_t pairs_per_step_ = 0, total_steps_ = 0, step_ = 0;
};

const bool contrastive_registered = train::register_task_factory("contrastive", [](const Recipe& r) -> Result<std::unique_ptr<train::Task>> {
  return std::unique_ptr<train::Task>(new ContrastiveTask(r));
});

}  // namespace
}  // namespace kanana::embed
