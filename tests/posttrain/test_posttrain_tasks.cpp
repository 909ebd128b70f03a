// The post-training recipe types through the ONE generic trainer (train/task.h) on a debug
// model and a byte-level ChatML tokenizer: SFT (malformed line reported, loss falls, resume is
// bit-exact), reward model (held-out accuracy, best-of-N through RewardModel, HF export),
// offline DPO (first loss is log 2 because the cached reference equals the initial policy,
// accuracy rises, cache reused on resume), online DPO (rounds sampled, scored, paired, written
// and replayed on resume), and recipe errors naming the field.
#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

#include "byte_tokenizer.h"
#include "jobs/events.h"
#include "model/presets.h"
#include "posttrain/packed_forward.h"
#include "posttrain/reward_head.h"
#include "posttrain/reward_model.h"
#include "test_support.h"
#include "train/recipe.h"
#include "train/trainer.h"

using namespace kanana;
using namespace kanana::train;
namespace fs = std::filesystem;

namespace {

std::string chat_line(const std::string& user, const std::string& assistant) {
  return Json{{"messages", {{{"role", "user"}, {"content", user}}, {{"role", "assistant"}, {"content", assistant}}}}}.dump();
}

// Replies the preference prefers start with "yes", the others with "no".
std::string pref_line(int i) {
  const std::string p = "q" + std::to_string(i % 7) + " " + std::to_string(i);
  return Json{{"prompt", p}, {"chosen", "yes " + std::to_string(i % 5)}, {"rejected", "no " + std::to_string(i % 3)}}.dump();
}

Json events_of(const fs::path& run) {
  Json out = Json::array();
  auto e = jobs::read_events(run / jobs::kEventsFileName);
  if (!e.is_ok()) return out;
  for (const auto& ev : e->events) out.push_back(ev.json);
  return out;
}

std::optional<double> last_metric(const fs::path& run, const std::string& key) {
  std::optional<double> v;
  for (const auto& e : events_of(run))
    if (e.value("type", "") == "metric" && e["metrics"].contains(key)) v = e["metrics"][key].get<double>();
  return v;
}

bool logged(const fs::path& run, const std::string& needle) {
  for (const auto& e : events_of(run))
    if (e.value("type", "") == "log" && e.value("message", "").find(needle) != std::string::npos) return true;
  return false;
}

}  // namespace

class TestPosttrainTasks : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  fs::path root_, reward_ckpt_;

  Json base_recipe(const std::string& type) const {
    return {{"type", type}, {"name", type + "-test"}, {"model", {{"preset", "debug"}}}, {"seq_len", 48},
            {"micro_batch_size", 4}, {"grad_accum", 1}, {"seed", 5}, {"z_loss", 0.0},
            {"schedule", {{"kind", "constant"}, {"peak_lr", 3e-3}, {"warmup_steps", 0}}},
            {"checkpoint", {{"interval", 0}, {"keep_last", 2}}}, {"runtime", {{"peak_tflops", 1.0}, {"log_interval", 1}}}};
  }
  Result<Recipe> parse(const Json& j) const { return parse_recipe(j, (root_ / "r.json").string(), root_); }
  Result<TrainResult> run(const Json& j, const std::string& dir, int64_t max_steps = 0, bool resume = false) {
    auto r = parse(j);
    if (!r.is_ok()) return r.status();
    TrainOptions o;
    o.run_dir = root_ / dir;
    o.max_steps = max_steps;
    o.resume = resume;
    return run_training(*r, o);
  }

 private Q_SLOTS:
  void initTestCase() {
    torch::set_num_threads(1);
    QVERIFY(tmp_.isValid());
    root_ = tmp_.path().toStdString();
    QVERIFY(test::write_byte_tokenizer(root_ / "tok"));
    {
      std::ofstream sft(root_ / "sft.jsonl");
      for (int i = 0; i < 30; ++i) {
        sft << chat_line("repeat " + std::to_string(i % 6), "ok " + std::to_string(i % 6) + " ok") << "\n";
        if (i == 1) sft << "{\"messages\": [{\"role\": \"user\"}, {\"role\": \"bot\", \"content\": \"x\"}]}\n";  // line 3
      }
    }
    std::ofstream prefs(root_ / "prefs.jsonl");
    for (int i = 0; i < 60; ++i) prefs << pref_line(i) << "\n";
  }

  void packedRowsComputeWhatEachConversationComputesAlone() {
    auto m = model::init_model(*model::preset_config("debug"), 9);
    QVERIFY(m.is_ok());
    torch::NoGradGuard ng;
    auto a = torch::randint(0, 500, {1, 9}, torch::kInt64), b = torch::randint(0, 500, {1, 6}, torch::kInt64);
    const int64_t pad = 3;
    auto row = torch::cat({a, b, torch::full({1, pad}, 0, torch::kInt64)}, 1);  // (1, 18)
    auto pos = torch::cat({torch::arange(9), torch::arange(6), torch::arange(6, 6 + pad)}).view({1, -1});
    auto seg = torch::cat({torch::zeros({9}), torch::ones({6}), torch::full({pad}, -1)}).to(torch::kInt64).view({1, -1});
    auto packed = posttrain::packed_forward(*m, row, pos, seg);
    auto alone_a = (*m)->forward(a).logits, alone_b = (*m)->forward(b).logits;
    QVERIFY((packed.narrow(1, 0, 9) - alone_a).abs().max().item<double>() < 1e-5);
    QVERIFY((packed.narrow(1, 9, 6) - alone_b).abs().max().item<double>() < 1e-5);
    QVERIFY(torch::isfinite(packed).all().item<bool>());
    // Row attention (positions reset, mask causal over the row) does not isolate b.
    model::ForwardOptions fo;
    fo.position_ids = pos;
    auto row_attn = (*m)->forward(row, fo).logits;
    QVERIFY((row_attn.narrow(1, 9, 6) - alone_b).abs().max().item<double>() > 1e-3);
    // One segment without padding: the plain forward.
    auto one = posttrain::packed_forward(*m, a, torch::arange(9).view({1, -1}), torch::zeros({1, 9}, torch::kInt64));
    QVERIFY((one - alone_a).abs().max().item<double>() < 1e-5);
  }

  void sftTrainsReportsBadLinesAndResumesExactly() {
    Json j = base_recipe("sft");
    j["sft"] = {{"train", "sft.jsonl"}, {"tokenizer", "tok"}, {"val_fraction", 0.2}, {"max_steps", 8}};
    j["seq_len"] = 128;  // ~35 tokens per conversation: several per row
    j["validation"] = {{"interval", 4}};
    auto full = run(j, "sft-full");
    QVERIFY2(full.is_ok(), full.status().message().c_str());
    QCOMPARE(full->final_step, int64_t(8));
    QVERIFY2(full->steps.back().loss < full->steps.front().loss * 0.8, "SFT loss should fall on repeated replies");
    QVERIFY(full->last_val_loss.has_value());
    QVERIFY(logged(root_ / "sft-full", "sft.jsonl:3: field 'messages[1].role'"));
    QVERIFY(fs::is_regular_file(root_ / "sft-full" / "tokenizer" / "tokenizer.json"));
    QVERIFY(last_metric(root_ / "sft-full", "target_tokens").value_or(0) > 0);

    Json row = j;
    row["sft"]["attention"] = "row";
    row["sft"]["max_steps"] = 2;
    auto row_run = run(row, "sft-row");
    QVERIFY2(row_run.is_ok(), row_run.status().message().c_str());
    QVERIFY(row_run->steps[0].loss != full->steps[0].loss);  // same rows, other attention

    auto first = run(j, "sft-split", 3);
    QVERIFY2(first.is_ok(), first.status().message().c_str());
    auto second = run(j, "sft-split", 0, true);
    QVERIFY2(second.is_ok(), second.status().message().c_str());
    QCOMPARE(int(first->steps.size() + second->steps.size()), 8);
    for (size_t i = 0; i < 8; ++i)
      QCOMPARE(i < 3 ? first->steps[i].loss : second->steps[i - 3].loss, full->steps[i].loss);
  }

  void rewardModelLearnsAndScoresBestOfN() {
    Json j = base_recipe("reward");
    j["reward"] = {{"train", "prefs.jsonl"}, {"tokenizer", "tok"}, {"val_fraction", 0.2}, {"max_steps", 25}};
    auto r = run(j, "rm");
    QVERIFY2(r.is_ok(), r.status().message().c_str());
    const auto acc = last_metric(root_ / "rm", "val_accuracy");
    QVERIFY(acc.has_value());
    qInfo("reward model held-out accuracy %.3f, val loss %.3f", *acc, r->last_val_loss.value_or(-1));
    QVERIFY2(*acc >= 0.9, std::to_string(*acc).c_str());
    QVERIFY(fs::is_regular_file(r->last_checkpoint / "extra.safetensors"));
    reward_ckpt_ = r->last_checkpoint;

    // Best-of-N through the torch-free API; the tokenizer comes with the checkpoint (the trainer
    // copies it into every checkpoint folder).
    auto rm = posttrain::RewardModel::load(reward_ckpt_);
    QVERIFY2(rm.is_ok(), rm.status().message().c_str());
    QVERIFY2((*rm)->tokenizer_path().string().rfind(reward_ckpt_.string(), 0) == 0, (*rm)->tokenizer_path().c_str());
    std::vector<tok::ChatMessage> prompt = {{"user", "q3 100", {}, {}, {}}};
    auto best = (*rm)->best_of_n(prompt, {"no 1", "yes 2", "no 0"});
    QVERIFY2(best.is_ok(), best.status().message().c_str());
    QCOMPARE(best->best, size_t(1));
    QCOMPARE(best->ranking.size(), size_t(3));
    QVERIFY(!(*rm)->best_of_n(prompt, {}).is_ok());

    // Export in the HF LlamaForSequenceClassification layout and load that: same scores.
    auto w = posttrain::load_reward_weights(reward_ckpt_, torch::kFloat32, torch::kCPU);
    QVERIFY(w.is_ok());
    const fs::path hf = root_ / "rm-hf";
    QVERIFY(posttrain::save_reward_model(hf, w->model, w->score).is_ok());
    auto cfg = read_json_file(hf / "config.json");
    QCOMPARE(QString::fromStdString((*cfg)["architectures"][0].get<std::string>()), QString("LlamaForSequenceClassification"));
    posttrain::RewardModelOptions ro;
    ro.tokenizer = root_ / "tok";
    auto rm2 = posttrain::RewardModel::load(hf, ro);
    QVERIFY2(rm2.is_ok(), rm2.status().message().c_str());
    auto s1 = (*rm)->score_candidates(prompt, {"yes 2", "no 0"});
    auto s2 = (*rm2)->score_candidates(prompt, {"yes 2", "no 0"});
    QVERIFY(s1.is_ok() && s2.is_ok());
    for (size_t i = 0; i < 2; ++i) QVERIFY(std::abs((*s1)[i] - (*s2)[i]) < 1e-5);
    // Not a reward model: a clear error.
    QVERIFY(!posttrain::RewardModel::load(root_ / "sft-full" / "checkpoints" / "step-0000008", ro).is_ok());
  }

  void offlineDpoStartsAtLog2RaisesAccuracyAndReusesTheCache() {
    Json j = base_recipe("dpo");
    j["dpo"] = {{"train", "prefs.jsonl"}, {"tokenizer", "tok"}, {"val_fraction", 0.2}, {"max_steps", 12}, {"beta", 0.5}};
    j["validation"] = {{"interval", 12}};
    auto full = run(j, "dpo-full");
    QVERIFY2(full.is_ok(), full.status().message().c_str());
    // Policy == reference at step 1, so every pair's loss is −log σ(0) = log 2.
    QVERIFY2(std::abs(full->steps.front().loss - std::log(2.0)) < 1e-5, std::to_string(full->steps.front().loss).c_str());
    QVERIFY(full->steps.back().loss < 0.5);
    const auto acc = last_metric(root_ / "dpo-full", "val_reward_accuracy");
    QVERIFY(acc.has_value());
    qInfo("offline DPO held-out reward accuracy %.3f", *acc);
    QVERIFY(*acc >= 0.9);
    QVERIFY(fs::is_regular_file(root_ / "dpo-full" / "reference_logps.json"));
    QVERIFY(last_metric(root_ / "dpo-full", "reward_margin").value_or(0) > 0);

    auto first = run(j, "dpo-split", 5);
    QVERIFY(first.is_ok());
    auto second = run(j, "dpo-split", 0, true);
    QVERIFY2(second.is_ok(), second.status().message().c_str());
    QVERIFY(logged(root_ / "dpo-split", "reference log-probs read from"));
    for (size_t i = 0; i < 12; ++i) QCOMPARE(i < 5 ? first->steps[i].loss : second->steps[i - 5].loss, full->steps[i].loss);

    // RPO: the DPO loss plus α · the chosen replies' per-token NLL.
    Json rpo = j;
    rpo["dpo"]["rpo_alpha"] = 0.5;
    rpo["dpo"]["max_steps"] = 1;
    auto rp = run(rpo, "dpo-rpo");
    QVERIFY2(rp.is_ok(), rp.status().message().c_str());
    const auto nll = last_metric(root_ / "dpo-rpo", "chosen_nll");
    QVERIFY(nll.has_value() && *nll > 1.0);
    QVERIFY(std::abs(rp->steps.front().loss - (std::log(2.0) + 0.5 * *nll)) < 1e-4);

    // IPO variant runs and starts at (1/(2β))².
    j["dpo"]["loss"] = "ipo";
    j["dpo"]["max_steps"] = 2;
    auto ipo = run(j, "dpo-ipo");
    QVERIFY2(ipo.is_ok(), ipo.status().message().c_str());
    QVERIFY(std::abs(ipo->steps.front().loss - 1.0) < 1e-5);
  }

  void onlineDpoSamplesScoresPairsAndReplaysOnResume() {
    if (reward_ckpt_.empty()) QSKIP("needs the reward model of rewardModelLearnsAndScoresBestOfN");
    Json j = base_recipe("dpo");
    j["dpo"] = {{"train", "prefs.jsonl"}, {"tokenizer", "tok"}, {"beta", 0.5},
                {"online", {{"reward_model", reward_ckpt_.string()}, {"rounds", 2}, {"prompts_per_round", 6},
                            {"samples", 3}, {"max_new_tokens", 6}, {"steps_per_round", 2}}}};
    auto full = run(j, "online-full");
    QVERIFY2(full.is_ok(), full.status().message().c_str());
    QCOMPARE(full->final_step, int64_t(4));
    for (const char* f : {"round-0000.json", "round-0001.json"}) {
      auto round = read_json_file(root_ / "online-full" / "online" / f);
      QVERIFY2(round.is_ok(), f);
      QVERIFY((*round)["pairs"].size() >= 1);
      const Json& p = (*round)["pairs"][0];
      QVERIFY(p["chosen_reward"].get<double>() > p["rejected_reward"].get<double>());
      QVERIFY(p.contains("ref_chosen") && p.contains("chosen"));
    }
    QVERIFY(last_metric(root_ / "online-full", "online_reward_mean").has_value());
    QVERIFY(last_metric(root_ / "online-full", "online_reply_tokens").has_value());
    // The reference is the starting model, so the first step's loss is log 2.
    QVERIFY(std::abs(full->steps.front().loss - std::log(2.0)) < 1e-5);

    auto first = run(j, "online-split", 3);
    QVERIFY(first.is_ok());
    auto second = run(j, "online-split", 0, true);
    QVERIFY2(second.is_ok(), second.status().message().c_str());
    QVERIFY(logged(root_ / "online-split", "pairs read from"));
    for (size_t i = 0; i < 4; ++i) QCOMPARE(i < 3 ? first->steps[i].loss : second->steps[i - 3].loss, full->steps[i].loss);
  }

  void recipeErrorsNameTheField() {
    auto expect = [&](Json j, const char* field) {
      auto r = parse(j);
      QVERIFY2(!r.is_ok(), field);
      QVERIFY2(r.status().message().find(field) != std::string::npos, r.status().message().c_str());
    };
    Json sft = base_recipe("sft");
    expect(sft, "'sft'");
    sft["sft"] = {{"tokenizer", "tok"}};
    expect(sft, "sft.train");
    sft["sft"] = {{"train", "sft.jsonl"}, {"prompt_format", "raw"}};
    expect(sft, "sft.prompt_format");
    sft["sft"] = {{"train", "sft.jsonl"}, {"epochs", 0}};
    expect(sft, "sft.epochs");
    Json rm = base_recipe("reward");
    rm["reward"] = {{"train", "prefs.jsonl"}, {"beta", 1}};
    expect(rm, "reward.beta");
    Json dpo = base_recipe("dpo");
    dpo["dpo"] = {{"train", "prefs.jsonl"}, {"beta", 0}};
    expect(dpo, "dpo.beta");
    dpo["dpo"] = {{"train", "prefs.jsonl"}, {"rpo_alpha", -1}};
    expect(dpo, "dpo.rpo_alpha");
    dpo["dpo"] = {{"train", "prefs.jsonl"}, {"loss", "ipo"}, {"label_smoothing", 0.1}};
    expect(dpo, "dpo.label_smoothing");
    dpo["dpo"] = {{"train", "prefs.jsonl"}, {"online", {{"reward_model", "rm"}, {"samples", 1}}}};
    expect(dpo, "dpo.online.samples");
    dpo["dpo"] = {{"online", {{"samples", 2}}}};
    expect(dpo, "dpo.online.reward_model");
    dpo["dpo"] = {{"train", "prefs.jsonl"}, {"val", "prefs.jsonl"}, {"val_fraction", 0.1}};
    expect(dpo, "dpo.val_fraction");
    // Data problems surface when the run starts: a missing file names itself.
    dpo["dpo"] = {{"train", "missing.jsonl"}, {"tokenizer", "tok"}};
    auto r = run(dpo, "dpo-missing");
    QVERIFY(!r.is_ok());
    QVERIFY2(r.status().message().find("missing.jsonl") != std::string::npos, r.status().message().c_str());
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestPosttrainTasks)
#include "test_posttrain_tasks.moc"
