// The "dpo" recipe type: Direct Preference Optimization against a frozen reference model,
// offline on preference JSONL, or online (Kanana's last post-training stage, kanana-facts.md §6).
//
//   "dpo": {"train": "prefs.jsonl", "val_fraction": 0.1, "tokenizer": ..., "epochs": 1,
//           "beta": 0.1, "loss": "sigmoid" | "ipo", "label_smoothing": 0.0,
//           "max_prompt_len": 0,            // 0 = seq_len / 2 (TRL's rule when a pair is too long)
//           "rpo_alpha": 0.0,               // + α·NLL of the chosen reply per token (RPO, TRL's
//                                           //   rpo_alpha): keeps the chosen likelihood from
//                                           //   collapsing once the DPO loss saturates
//           "reference": "folder",          // default: model.init_from (the SFT model)
//           "online": {...}}                // optional, below
//
// Offline: the reference log-probs of every pair are computed once, before the first step,
// and cached in <run_dir>/reference_logps.json (keyed by a fingerprint of the tokenized pairs
// and of the reference weights' file); the reference model is then freed, and a resumed or
// re-run job reads the cache instead of recomputing.
//
// Online ("online": {"reward_model": "rm-folder", "prompts": "prompts.jsonl", "rounds": 4,
//                    "prompts_per_round": 64, "samples": 4, "max_new_tokens": 64,
//                    "temperature": 1.0, "top_p": 1.0, "top_k": 0, "steps_per_round": 0}):
// each round samples `samples` replies per prompt from the current policy, scores them with the
// reward model, pairs the best (chosen) with the worst (rejected), skips ties, computes their
// reference log-probs and trains steps_per_round steps (default: one pass) on them. The
// reference stays fixed to the model the run starts from — the offline-DPO model, as Kanana
// did, because updating it inflated reply length. Each round's pairs (texts, ids, rewards,
// reference log-probs) are written to <run_dir>/online/round-NNNN.json before training on
// them, so a resumed run trains on exactly the same pairs. Sampling is synchronous (Kanana's
// was asynchronous). Every rank samples all prompts with the same seed and takes its rows.
//
// IPO uses length-averaged log-probs (as TRL does); sigmoid uses sums.
#include <torch/torch.h>

#include <cmath>
#include <cstdio>

#include "base/files.h"
#include "model/checkpoint.h"
#include "model/generate.h"
#include "posttrain/batching.h"
#include "posttrain/losses.h"
#include "posttrain/reward_model.h"
#include "posttrain/task_support.h"
#include "train/autocast.h"
#include "train/lr_schedule.h"
#include "train/task.h"

namespace kanana::posttrain {
namespace {

namespace fs = std::filesystem;
using train::Recipe;

struct DpoItem {
  std::vector<int32_t> prompt;
  PromptReply chosen, rejected;  // reply + reply_mask
  double ref_chosen = 0, ref_rejected = 0;
  double count_chosen = 0, count_rejected = 0;  // counted reply tokens
};

double counted(const std::vector<uint8_t>& mask) { return double(std::count(mask.begin(), mask.end(), uint8_t(1))); }

Json ids_json(const std::vector<int32_t>& v) { return Json(v); }

class DpoTask final : public train::Task {
 public:
  explicit DpoTask(const Recipe& r) : recipe_(r), opt_(std::any_cast<DpoTaskOptions>(r.task_options)) {}

  Status setup(const train::TaskContext& ctx) override {
    ctx_ = ctx;
    KANANA_ASSIGN_OR_RETURN(model_, train::build_recipe_model(recipe_, ctx.dtype, ctx.device));
    KANANA_ASSIGN_OR_RETURN(tok_, load_task_tokenizer(recipe_, opt_.data, model_->config().vocab_size));
    if (ctx.rank == 0) KANANA_RETURN_IF_ERROR(keep_tokenizer_in_run(tok_, ctx.run_dir));
    pad_ = padding_id(*tok_.tokenizer);
    max_prompt_ = opt_.max_prompt_len > 0 ? opt_.max_prompt_len : recipe_.seq_len / 2;

    // Preference data (offline training pairs, validation pairs).
    KANANA_ASSIGN_OR_RETURN(auto data, read_train_val<PreferencePair>(
                                           opt_.data, recipe_.seed, ctx, "preference",
                                           [](const std::filesystem::path& f, const ReadOptions& o) {
                                             return read_preference_jsonl(f, o);
                                           }));
    std::vector<PreferencePair>& train_p = data.train;
    std::vector<PreferencePair>& val_p = data.val;
    if (!opt_.online.enabled) {
      KANANA_ASSIGN_OR_RETURN(train_, tokenize(train_p));
      if (train_.empty()) return invalid_argument("no usable preference pair for DPO");
    }
    KANANA_ASSIGN_OR_RETURN(val_, tokenize(val_p));

    // The frozen reference.
    KANANA_ASSIGN_OR_RETURN(auto reference, load_reference());
    pairs_per_step_ = recipe_.micro_batch_size * recipe_.grad_accum;
    if (!opt_.online.enabled) {
      KANANA_RETURN_IF_ERROR(reference_logps_cached(reference));
      total_steps_ = steps_for(opt_.data, int64_t(train_.size()), pairs_per_step_ * ctx.world_size);
      stream_ = IndexStream(int64_t(train_.size()), recipe_.seed);
      ctx.log("info", "dpo: " + std::to_string(train_.size()) + " training pairs, " + std::to_string(val_.size()) +
                          " validation pairs, " + std::to_string(total_steps_) + " steps, beta " +
                          std::to_string(opt_.loss.beta) + ", loss " + dpo_loss_type_name(opt_.loss.type),
              std::nullopt);
      return Status::ok();  // the reference model is released here
    }

    // Online: keep the reference, load the reward model and the prompts.
    reference_ = reference;
    reference_->eval();
    {
      std::vector<DpoItem*> all;
      for (auto& v : val_) all.push_back(&v);
      compute_reference(reference_, all);
    }
    RewardModelOptions rmo;
    rmo.device = ctx.device.str();
    rmo.max_length = recipe_.seq_len;
    rmo.batch_size = std::max<int64_t>(1, recipe_.micro_batch_size * 2);
    KANANA_ASSIGN_OR_RETURN(rm_, RewardModel::load(opt_.online.reward_model, rmo));
    std::vector<fs::path> prompt_files;
    if (!opt_.online.prompts.empty()) prompt_files = {opt_.online.prompts};
    else prompt_files = opt_.data.train;
    ReadOptions ro;
    ro.strict = opt_.data.strict;
    for (const auto& f : prompt_files) {
      KANANA_ASSIGN_OR_RETURN(auto d, read_prompt_jsonl(f, ro));
      report_problems(ctx, "prompt", d.problems);
      for (auto& e : d.items) prompts_.push_back(std::move(e));
    }
    if (prompts_.empty()) return invalid_argument("online DPO has no prompts (give online.prompts or dpo.train)");
    prompt_stream_ = IndexStream(int64_t(prompts_.size()), recipe_.seed ^ 0x0A11CE);
    steps_per_round_ = opt_.online.steps_per_round > 0
                           ? opt_.online.steps_per_round
                           : std::max<int64_t>(1, (opt_.online.prompts_per_round + pairs_per_step_ * ctx.world_size - 1) /
                                                      (pairs_per_step_ * ctx.world_size));
    total_steps_ = opt_.online.rounds * steps_per_round_;
    ctx.log("info", "online dpo: " + std::to_string(prompts_.size()) + " prompts, " + std::to_string(opt_.online.rounds) +
                        " rounds of " + std::to_string(opt_.online.prompts_per_round) + " prompts x " +
                        std::to_string(opt_.online.samples) + " samples, " + std::to_string(steps_per_round_) +
                        " steps per round; reference fixed to " + reference_source(), std::nullopt);
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
    info.stage_name = opt_.online.enabled ? "online-dpo" : "dpo";
    info.stage_steps = total_steps_;
    std::vector<DpoItem>* items = &train_;
    IndexStream* stream = &stream_;
    int64_t k = step_;
    if (opt_.online.enabled) {
      const int64_t round = step_ / steps_per_round_;
      if (round != round_) KANANA_RETURN_IF_ERROR(start_round(round));
      items = &round_items_;
      stream = &round_stream_;
      k = step_ % steps_per_round_;
    }
    const int64_t base = k * pairs_per_step_ * ctx_.world_size + ctx_.rank * pairs_per_step_;
    current_.clear();
    for (int64_t i = 0; i < pairs_per_step_; ++i) {
      DpoItem* it = &(*items)[size_t(stream->at(base + i))];
      current_.push_back(it);
      info.tokens += int64_t(2 * it->prompt.size() + it->chosen.reply.size() + it->rejected.reply.size());
    }
    ++step_;
    return info;
  }

  Result<train::MicroBatchOutput> micro_batch(int64_t index) override {
    const int64_t mb = recipe_.micro_batch_size;
    std::vector<DpoItem*> items(current_.begin() + index * mb, current_.begin() + (index + 1) * mb);
    DpoOutput d;
    torch::Tensor pc, pr;
    {
      train::AutocastScope autocast(recipe_.runtime.autocast_bf16, ctx_.device);
      std::tie(pc, pr) = pair_logps(model_, items);
      d = loss(items, pc, pr);
    }
    train::MicroBatchOutput o;
    o.loss = d.loss;
    if (opt_.rpo_alpha > 0) {
      std::vector<double> counts;
      for (const auto* it : items) counts.push_back(it->count_chosen);
      auto nll = (-pc / torch::tensor(counts, torch::kFloat64).to(torch::kFloat32).to(pc.device())).mean();
      o.loss = o.loss + nll * opt_.rpo_alpha;
      o.metrics["dpo_loss"] = d.loss.item<double>();
      o.metrics["chosen_nll"] = nll.item<double>();
    }
    o.metrics["reward_accuracy"] = d.accuracy.item<double>();
    o.metrics["reward_margin"] = d.margins.mean().item<double>();
    o.metrics["chosen_reward"] = d.chosen_rewards.mean().item<double>();
    o.metrics["rejected_reward"] = d.rejected_rewards.mean().item<double>();
    o.metrics["logp_chosen"] = pc.detach().mean().item<double>();
    o.metrics["logp_rejected"] = pr.detach().mean().item<double>();
    for (const auto& [k, v] : round_metrics_) o.metrics[k] = v;
    return o;
  }

  std::optional<Json> validate() override {
    if (val_.empty()) return std::nullopt;
    torch::NoGradGuard ng;
    double loss_sum = 0, acc = 0, margin = 0, cr = 0, rr = 0, n = 0;
    for (size_t begin = 0; begin < val_.size(); begin += size_t(recipe_.micro_batch_size)) {
      std::vector<DpoItem*> items;
      for (size_t i = begin; i < std::min(val_.size(), begin + size_t(recipe_.micro_batch_size)); ++i) items.push_back(&val_[i]);
      train::AutocastScope autocast(recipe_.runtime.autocast_bf16, ctx_.device);
      auto [pc, pr] = pair_logps(model_, items);
      DpoOutput d = loss(items, pc, pr);
      const double k = double(items.size());
      loss_sum += d.loss.item<double>() * k;
      acc += d.accuracy.item<double>() * k;
      margin += d.margins.sum().item<double>();
      cr += d.chosen_rewards.sum().item<double>();
      rr += d.rejected_rewards.sum().item<double>();
      n += k;
    }
    return Json{{"val_loss", loss_sum / n}, {"val_reward_accuracy", acc / n}, {"val_reward_margin", margin / n},
                {"val_chosen_reward", cr / n}, {"val_rejected_reward", rr / n}, {"val_pairs", n}};
  }

  Json cursor() const override { return Json{{"step", step_}}; }
  Status restore(const Json& c) override {
    if (!c.is_object() || !c.contains("step") || !c["step"].is_number_integer())
      return data_loss("dpo cursor has no step");
    step_ = c["step"].get<int64_t>();
    return Status::ok();
  }

 private:
  Result<std::vector<DpoItem>> tokenize(const std::vector<PreferencePair>& pairs) {
    std::vector<DpoItem> out;
    int64_t truncated = 0;
    for (const auto& p : pairs) {
      auto t = tokenize_pair(*tok_.tokenizer, tok_.format, p, recipe_.seq_len + 1, max_prompt_);
      if (!t) {
        if (opt_.data.strict) return t.status();
        ctx_.log("warning", "skipped " + t.status().message(), std::nullopt);
        continue;
      }
      truncated += t->truncated ? 1 : 0;
      DpoItem it;
      it.prompt = std::move(t->prompt);
      it.chosen = std::move(t->chosen);
      it.rejected = std::move(t->rejected);
      it.count_chosen = counted(it.chosen.reply_mask);
      it.count_rejected = counted(it.rejected.reply_mask);
      if (it.count_chosen == 0 || it.count_rejected == 0) continue;
      out.push_back(std::move(it));
    }
    if (truncated)
      ctx_.log("warning", std::to_string(truncated) + " preference pairs were longer than seq_len " +
                              std::to_string(recipe_.seq_len) + " and were truncated (prompt to " +
                              std::to_string(max_prompt_) + " tokens, then the replies)", std::nullopt);
    return out;
  }

  std::string reference_source() const {
    if (!opt_.reference.empty()) return opt_.reference.string();
    if (!recipe_.model.init_from.empty()) return recipe_.model.init_from.string();
    return "the fresh initialisation (seed " + std::to_string(recipe_.seed) + ")";
  }

  Result<model::LlamaForCausalLM> load_reference() {
    const fs::path dir = !opt_.reference.empty() ? opt_.reference : recipe_.model.init_from;
    if (dir.empty()) return train::build_recipe_model(recipe_, ctx_.dtype, ctx_.device);
    model::LoadOptions lo;
    lo.dtype = ctx_.dtype;
    lo.device = ctx_.device;
    KANANA_ASSIGN_OR_RETURN(auto loaded, model::load_model(dir, lo));
    if (loaded.config.vocab_size != model_->config().vocab_size)
      return invalid_argument(dir.string() + ": the reference model's vocab_size differs from the policy's");
    return loaded.model;
  }

  // (B,) log-prob sums of the chosen and rejected replies under `m`.
  std::pair<torch::Tensor, torch::Tensor> pair_logps(model::LlamaForCausalLM& m, const std::vector<DpoItem*>& items) {
    std::vector<ReplyRef> rows;
    for (const auto* it : items) rows.push_back({&it->prompt, &it->chosen.reply, &it->chosen.reply_mask});
    for (const auto* it : items) rows.push_back({&it->prompt, &it->rejected.reply, &it->rejected.reply_mask});
    LmBatch b = make_lm_batch(rows, pad_, ctx_.device);
    auto out = m->forward(b.input);
    auto lp = sequence_logprobs(out.logits, b.labels);
    const int64_t n = int64_t(items.size());
    return {lp.narrow(0, 0, n), lp.narrow(0, n, n)};
  }

  DpoOutput loss(const std::vector<DpoItem*>& items, torch::Tensor pc, torch::Tensor pr) {
    std::vector<double> rc, rr, cc, cr;
    for (const auto* it : items) {
      rc.push_back(it->ref_chosen);
      rr.push_back(it->ref_rejected);
      cc.push_back(it->count_chosen);
      cr.push_back(it->count_rejected);
    }
    auto t = [&](const std::vector<double>& v) { return torch::tensor(v, torch::kFloat64).to(torch::kFloat32).to(pc.device()); };
    torch::Tensor ref_c = t(rc), ref_r = t(rr);
    if (opt_.loss.type == DpoLossType::kIpo) {
      pc = pc / t(cc);
      pr = pr / t(cr);
      ref_c = ref_c / t(cc);
      ref_r = ref_r / t(cr);
    }
    return dpo_loss(pc, pr, ref_c, ref_r, opt_.loss);
  }

  void compute_reference(model::LlamaForCausalLM& ref, const std::vector<DpoItem*>& items) {
    torch::NoGradGuard ng;
    for (size_t begin = 0; begin < items.size(); begin += size_t(recipe_.micro_batch_size)) {
      std::vector<DpoItem*> batch(items.begin() + int64_t(begin),
                                  items.begin() + int64_t(std::min(items.size(), begin + size_t(recipe_.micro_batch_size))));
      train::AutocastScope autocast(recipe_.runtime.autocast_bf16, ctx_.device);
      auto [c, r] = pair_logps(ref, batch);
      c = c.to(torch::kFloat64).cpu();
      r = r.to(torch::kFloat64).cpu();
      for (size_t i = 0; i < batch.size(); ++i) {
        batch[i]->ref_chosen = c[int64_t(i)].item<double>();
        batch[i]->ref_rejected = r[int64_t(i)].item<double>();
      }
    }
  }

  // Fingerprint of what the cached reference log-probs depend on.
  std::string reference_fingerprint() const {
    uint64_t h = kFnv1a64Offset;
    auto add = [&](const void* p, size_t n) { h = fnv1a64(p, n, h); };
    auto add_str = [&](const std::string& s) { add(s.data(), s.size()); add("\0", 1); };
    for (const auto* set : {&train_, &val_}) {
      const uint64_t n = set->size();
      add(&n, sizeof n);
      for (const auto& it : *set) {
        for (const auto* v : {&it.prompt, &it.chosen.reply, &it.rejected.reply}) {
          const uint64_t len = v->size();
          add(&len, sizeof len);
          add(v->data(), v->size() * sizeof(int32_t));
        }
        add(it.chosen.reply_mask.data(), it.chosen.reply_mask.size());
        add(it.rejected.reply_mask.data(), it.rejected.reply_mask.size());
      }
    }
    const fs::path dir = !opt_.reference.empty() ? opt_.reference : recipe_.model.init_from;
    if (dir.empty()) {
      add_str(recipe_.json.contains("model") ? recipe_.json["model"].dump() : std::string());
      add_str(std::to_string(recipe_.seed));
    } else {
      std::error_code ec;
      add_str(fs::weakly_canonical(dir, ec).string());
      for (const auto& e : fs::directory_iterator(dir, ec)) {
        if (e.path().extension() != ".safetensors" && e.path().filename() != "config.json") continue;
        add_str(e.path().filename().string());
        const auto size = e.file_size(ec);
        const auto time = e.last_write_time(ec).time_since_epoch().count();
        add(&size, sizeof size);
        add(&time, sizeof time);
      }
    }
    add_str(recipe_.runtime.dtype + (recipe_.runtime.autocast_bf16 ? "+autocast" : ""));
    return hex64(h);
  }

  Status reference_logps_cached(model::LlamaForCausalLM& ref) {
    const fs::path file = ctx_.run_dir.empty() ? fs::path() : ctx_.run_dir / "reference_logps.json";
    const std::string fp = reference_fingerprint();
    if (!file.empty() && fs::is_regular_file(file)) {
      auto j = read_json_file(file);
      if (j.is_ok() && j->value("fingerprint", "") == fp && (*j)["train"].size() == train_.size() &&
          (*j)["val"].size() == val_.size()) {
        for (auto [set, key] : {std::pair{&train_, "train"}, std::pair{&val_, "val"}}) {
          const Json& a = (*j)[key];
          for (size_t i = 0; i < set->size(); ++i) {
            (*set)[i].ref_chosen = a[i][0].get<double>();
            (*set)[i].ref_rejected = a[i][1].get<double>();
          }
        }
        ctx_.log("info", "reference log-probs read from " + file.string(), std::nullopt);
        return Status::ok();
      }
      ctx_.log("info", file.string() + " is for other data or another reference; recomputing", std::nullopt);
    }
    ref->eval();
    std::vector<DpoItem*> all;
    for (auto& it : train_) all.push_back(&it);
    for (auto& it : val_) all.push_back(&it);
    compute_reference(ref, all);
    if (!file.empty() && ctx_.rank == 0) {
      Json j = {{"fingerprint", fp}, {"reference", reference_source()}, {"train", Json::array()}, {"val", Json::array()}};
      for (const auto& it : train_) j["train"].push_back({it.ref_chosen, it.ref_rejected});
      for (const auto& it : val_) j["val"].push_back({it.ref_chosen, it.ref_rejected});
      KANANA_RETURN_IF_ERROR(write_file_atomic(file, j.dump()));
      ctx_.log("info", "reference log-probs of " + std::to_string(all.size()) + " pairs cached in " + file.string(),
               std::nullopt);
    }
    return Status::ok();
  }

  // ---- online rounds ----------------------------------------------------------------

  fs::path round_file(int64_t round) const {
    char name[32];
    std::snprintf(name, sizeof name, "round-%04lld.json", static_cast<long long>(round));
    return ctx_.run_dir / "online" / name;
  }

  Status start_round(int64_t round) {
    round_ = round;
    round_items_.clear();
    round_metrics_.clear();
    const std::string fp = recipe_.hash + ":" + std::to_string(round);
    const fs::path file = ctx_.run_dir.empty() ? fs::path() : round_file(round);
    bool loaded = false;
    if (!file.empty() && fs::is_regular_file(file)) {
      auto j = read_json_file(file);
      if (j.is_ok() && j->value("fingerprint", "") == fp) {
        KANANA_RETURN_IF_ERROR(load_round(*j));
        loaded = true;
        ctx_.log("info", "online round " + std::to_string(round) + ": pairs read from " + file.string(), step_);
      }
    }
    if (!loaded) {
      if (step_ % steps_per_round_ != 0)
        ctx_.log("warning", "online round " + std::to_string(round) + " resumes mid-round without its pair file; "
                            "sampling again from the current policy", step_);
      Json j;
      KANANA_RETURN_IF_ERROR(sample_round(round, &j));
      j["fingerprint"] = fp;
      if (!file.empty() && ctx_.rank == 0) {
        std::error_code ec;
        fs::create_directories(file.parent_path(), ec);
        KANANA_RETURN_IF_ERROR(write_file_atomic(file, j.dump(1)));
      }
      KANANA_RETURN_IF_ERROR(load_round(j));
    }
    if (round_items_.empty())
      return failed_precondition("online round " + std::to_string(round) +
                                 ": every prompt's samples got equal rewards; no pair to train on");
    round_stream_ = IndexStream(int64_t(round_items_.size()), recipe_.seed + 1000003ull * uint64_t(round + 1));
    return Status::ok();
  }

  Status load_round(const Json& j) {
    try {
      for (const auto& p : j.at("pairs")) {
        DpoItem it;
        it.prompt = p.at("prompt_ids").get<std::vector<int32_t>>();
        it.chosen.reply = p.at("chosen_ids").get<std::vector<int32_t>>();
        it.rejected.reply = p.at("rejected_ids").get<std::vector<int32_t>>();
        it.chosen.reply_mask.assign(it.chosen.reply.size(), 1);
        it.rejected.reply_mask.assign(it.rejected.reply.size(), 1);
        it.count_chosen = double(it.chosen.reply.size());
        it.count_rejected = double(it.rejected.reply.size());
        it.ref_chosen = p.at("ref_chosen").get<double>();
        it.ref_rejected = p.at("ref_rejected").get<double>();
        round_items_.push_back(std::move(it));
      }
      for (const auto& [k, v] : j.at("metrics").items()) round_metrics_[k] = v.get<double>();
    } catch (const Json::exception& e) {
      return data_loss("online round file: " + std::string(e.what()));
    }
    return Status::ok();
  }

  Status sample_round(int64_t round, Json* out) {
    const auto& on = opt_.online;
    const int64_t room = std::max<int64_t>(1, recipe_.seq_len - on.max_new_tokens);
    std::vector<std::vector<int32_t>> prompt_ids;
    std::vector<const ChatExample*> prompts;
    for (int64_t j = 0; j < on.prompts_per_round; ++j) {
      const ChatExample* ex = &prompts_[size_t(prompt_stream_.at(round * on.prompts_per_round + j))];
      auto ids = tokenize_prompt(*tok_.tokenizer, tok_.format, ex->messages);
      if (!ids) return ids.status().with_context(ex->origin);
      if (int64_t(ids->size()) > room) ids->erase(ids->begin(), ids->end() - room);
      prompt_ids.push_back(std::move(ids).value());
      prompts.push_back(ex);
    }
    model::GenerationOptions go(on);
    go.num_samples = on.samples;
    go.seed = recipe_.seed * 7919ull + uint64_t(round) + 1;
    std::vector<int32_t> end_ids;
    if (tok_.format.raw) {
      if (auto e = tok_.tokenizer->eos_id()) end_ids = {*e};
    } else {
      end_ids = tok::chat_stop_ids(tok_.format.chat, *tok_.tokenizer);
    }
    go.stop_token_ids = end_ids;
    KANANA_ASSIGN_OR_RETURN(auto gen, model::generate(model_, prompt_ids, go, tok_.tokenizer));

    Json pairs = Json::array();
    double reward_sum = 0, best_sum = 0, worst_sum = 0, len_sum = 0, samples = 0;
    int64_t ties = 0;
    std::vector<DpoItem> items;
    std::vector<Json> item_json;
    for (size_t j = 0; j < prompts.size(); ++j) {
      std::vector<std::string> texts;
      std::vector<std::vector<int32_t>> replies;
      for (int64_t s = 0; s < on.samples; ++s) {
        const auto& seq = gen.sequences[j * size_t(on.samples) + size_t(s)];
        texts.push_back(seq.text);
        std::vector<int32_t> reply = seq.tokens;
        if (seq.stop_reason == "stop_token" && !end_ids.empty()) reply.push_back(end_ids.front());
        replies.push_back(std::move(reply));
        len_sum += double(seq.tokens.size());
      }
      KANANA_ASSIGN_OR_RETURN(auto scores, rm_->score_candidates(prompts[j]->messages, texts));
      const auto order = rank_by_score(scores);
      for (double s : scores) reward_sum += s;
      samples += double(scores.size());
      best_sum += scores[order.front()];
      worst_sum += scores[order.back()];
      if (scores[order.front()] - scores[order.back()] <= 1e-6 || replies[order.front()].empty() ||
          replies[order.back()].empty()) {
        ++ties;
        continue;
      }
      DpoItem it;
      it.prompt = prompt_ids[j];
      it.chosen.reply = replies[order.front()];
      it.rejected.reply = replies[order.back()];
      it.chosen.reply_mask.assign(it.chosen.reply.size(), 1);
      it.rejected.reply_mask.assign(it.rejected.reply.size(), 1);
      it.count_chosen = double(it.chosen.reply.size());
      it.count_rejected = double(it.rejected.reply.size());
      items.push_back(std::move(it));
      item_json.push_back({{"origin", prompts[j]->origin}, {"chosen", texts[order.front()]}, {"rejected", texts[order.back()]},
                           {"chosen_reward", scores[order.front()]}, {"rejected_reward", scores[order.back()]}});
    }
    std::vector<DpoItem*> ptrs;
    for (auto& it : items) ptrs.push_back(&it);
    compute_reference(reference_, ptrs);
    for (size_t i = 0; i < items.size(); ++i) {
      Json p = item_json[i];
      p["prompt_ids"] = ids_json(items[i].prompt);
      p["chosen_ids"] = ids_json(items[i].chosen.reply);
      p["rejected_ids"] = ids_json(items[i].rejected.reply);
      p["ref_chosen"] = items[i].ref_chosen;
      p["ref_rejected"] = items[i].ref_rejected;
      pairs.push_back(std::move(p));
    }
    const double np = double(prompts.size());
    Json metrics = {{"online_round", double(round)},
                    {"online_reward_mean", reward_sum / std::max(samples, 1.0)},
                    {"online_reward_best", best_sum / np},
                    {"online_reward_worst", worst_sum / np},
                    {"online_reply_tokens", len_sum / std::max(samples, 1.0)},
                    {"online_pairs", double(items.size())}};
    ctx_.log("info", "online round " + std::to_string(round) + ": " + std::to_string(items.size()) + " pairs from " +
                         std::to_string(prompts.size()) + " prompts (" + std::to_string(ties) + " ties skipped), mean reward " +
                         std::to_string(metrics["online_reward_mean"].get<double>()) + ", mean reply " +
                         std::to_string(metrics["online_reply_tokens"].get<double>()) + " tokens", step_);
    *out = Json{{"round", round}, {"pairs", std::move(pairs)}, {"metrics", std::move(metrics)}};
    return Status::ok();
  }

  const Recipe recipe_;
  DpoTaskOptions opt_;
  train::TaskContext ctx_;
  model::LlamaForCausalLM model_{nullptr};
  model::LlamaForCausalLM reference_{nullptr};  // online only (offline: freed after the cache)
  std::unique_ptr<RewardModel> rm_;
  TaskTokenizer tok_;
  int32_t pad_ = 0;
  int64_t max_prompt_ = 0;
  std::vector<DpoItem> train_, val_;
  std::vector<DpoItem*> current_;
  IndexStream stream_;
  int64_t pairs_per_step_ = 0, total_steps_ = 0, step_ = 0;
  // online
  std::vector<ChatExample> prompts_;
  IndexStream prompt_stream_, round_stream_;
  std::vector<DpoItem> round_items_;
  std::map<std::string, double> round_metrics_;
  int64_t round_ = -1, steps_per_round_ = 1;
};

const bool dpo_registered = train::register_task_factory("dpo", [](const Recipe& r) -> Result<std::unique_ptr<train::Task>> {
  return std::unique_ptr<train::Task>(new DpoTask(r));
});

}  // namespace
}  // namespace kanana::posttrain
