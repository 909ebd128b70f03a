// The training loop end to end on synthetic packs and the `debug` model: two stages with a
// recorded switch, validation metrics, bit-exact resume (2N steps == N + resume + N on one
// thread), corrupt-latest fallback, NaN/inf skipping and the K-in-a-row stop, and 2-rank
// Gloo data parallelism (this binary re-runs itself as the workers) matching 1 rank.
#include <torch/torch.h>

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <cstdlib>
#include <fstream>

#include "../shards/shard_test_util.h"
#include "../tokenizer/tiny_bpe_json.h"
#include "jobs/events.h"
#include "test_support.h"
#include "train/checkpoints.h"
#include "train/recipe.h"
#include "train/trainer.h"
#include "tokenizer/tokenizer.h"

using namespace kanana;
using namespace kanana::train;
namespace fs = std::filesystem;

namespace {

// Two sources (vocab 512 = the debug preset), each with a val split; their manifests name a
// tokenizer file, which the trainer copies into every checkpoint.
void make_packs(const fs::path& root) {
  fs::create_directories(root / "tok");
  std::ofstream(root / "tok" / "tokenizer.json") << test::tiny_bpe_json(false);
  for (int i = 0; i < 2; ++i) {
    auto docs = shards::test::synthetic_docs(300, 11 + i, 512, 5, 60);
    auto m = shards::test::write_synthetic_pack(root / ("src" + std::to_string(i)), docs, "src" + std::to_string(i),
                                                1 << 20, 10, "fp-test", 512, (root / "tok" / "tokenizer.json").string());
    QVERIFY2(m.is_ok(), m.status().message().c_str());
  }
}

// 2 stages: 6 + 4 steps of 4 rows × 16 tokens (global batch 4).
Json recipe_json(const fs::path& root, int micro, int accum) {
  Json src = Json::array({Json{{"name", "src0"}, {"path", (root / "src0").string()}, {"weight", 0.7}},
                          Json{{"name", "src1"}, {"path", (root / "src1").string()}, {"weight", 0.3}}});
  return {{"type", "pretrain"}, {"name", "t"}, {"model", {{"preset", "debug"}}}, {"seq_len", 16},
          {"micro_batch_size", micro}, {"grad_accum", accum}, {"seed", 5}, {"z_loss", 5e-6},
          {"optimizer", {{"weight_decay", 1e-4}}},
          {"stages", {{{"name", "stage1"}, {"token_budget", 6 * 64}, {"sources", src},
                       {"schedule", {{"kind", "cosine"}, {"peak_lr", 3e-3}, {"warmup_steps", 2}}}},
                      {{"name", "stage2"}, {"token_budget", 4 * 64}, {"sources", Json::array({src[1]})},
                       {"schedule", {{"kind", "linear"}, {"peak_lr", 1e-3}, {"min_lr_ratio", 0.0}}}}}},
          {"validation", {{"interval", 5}, {"batches", 2}}},
          {"checkpoint", {{"interval", 2}, {"keep_last", 3}}},
          {"runtime", {{"peak_tflops", 1.0}, {"max_bad_steps", 3}}}};
}

Recipe parse(const Json& j) {
  auto r = parse_recipe(j, "test-recipe.json", {});
  if (!r) qFatal("%s", r.status().message().c_str());
  return *r;
}

std::vector<double> losses(const TrainResult& r) {
  std::vector<double> out;
  for (const auto& s : r.steps) out.push_back(s.loss);
  return out;
}

// Worker mode: RANK/WORLD_SIZE/MASTER_* in the environment, argv = recipe file, run dir, out
// file [--resume]. Writes {"losses": [...], "optimizer_bytes": N}.
int worker_main(int argc, char** argv) {
  if (argc < 4) return 2;
  torch::set_num_threads(1);
  auto recipe = read_recipe(argv[1]);
  auto dist = dist_env_from_environment();
  if (!recipe || !dist) return 3;
  TrainOptions o;
  o.run_dir = argv[2];
  o.dist = *dist;
  o.resume = argc > 4 && std::string(argv[4]) == "--resume";
  auto r = run_training(*recipe, o);
  if (!r) {
    std::fprintf(stderr, "worker %d: %s\n", dist->rank, r.status().to_string().c_str());
    return 1;
  }
  std::ofstream(argv[3]) << Json{{"losses", losses(*r)}, {"optimizer_bytes", r->optimizer_state_bytes}}.dump();
  return 0;
}

struct RankResult {
  std::vector<double> losses;
  int64_t optimizer_bytes = 0;
};

// Runs `recipe` as `world` Gloo ranks (this binary re-executed as the workers) in run_dir.
std::vector<RankResult> run_ranks(const fs::path& recipe, const fs::path& run_dir, int world, bool resume = false) {
  static int runs = 0;
  const int port = 20000 + int((QCoreApplication::applicationPid() * 7 + 131 * ++runs) % 20000);
  std::vector<std::unique_ptr<QProcess>> workers;
  for (int rank = 0; rank < world; ++rank) {
    auto p = std::make_unique<QProcess>();
    auto env = QProcessEnvironment::systemEnvironment();
    env.insert("KANANA_TRAIN_TEST_WORKER", "1");
    env.insert("RANK", QString::number(rank));
    env.insert("LOCAL_RANK", QString::number(rank));
    env.insert("WORLD_SIZE", QString::number(world));
    env.insert("MASTER_ADDR", "127.0.0.1");
    env.insert("MASTER_PORT", QString::number(port));
    p->setProcessEnvironment(env);
    p->setProcessChannelMode(QProcess::ForwardedErrorChannel);
    QStringList args{QString::fromStdString(recipe.string()), QString::fromStdString(run_dir.string()),
                     QString::fromStdString((run_dir.string() + ".rank" + std::to_string(rank) + ".json"))};
    if (resume) args << "--resume";
    p->start(QCoreApplication::applicationFilePath(), args);
    if (!p->waitForStarted()) return {};
    workers.push_back(std::move(p));
  }
  std::vector<RankResult> out;
  for (int rank = 0; rank < world; ++rank) {
    auto& p = workers[size_t(rank)];
    if (!p->waitForFinished(240000) || p->exitCode() != 0) return {};
    auto j = read_json_file(run_dir.string() + ".rank" + std::to_string(rank) + ".json");
    if (!j) return {};
    RankResult r;
    for (const auto& v : (*j)["losses"]) r.losses.push_back(v.get<double>());
    r.optimizer_bytes = (*j)["optimizer_bytes"].get<int64_t>();
    out.push_back(std::move(r));
  }
  return out;
}

// The recorded checksum of model.safetensors in the newest checkpoint of a run.
std::string final_weights_checksum(const fs::path& run_dir) {
  auto cks = list_checkpoints(run_dir);
  if (cks.empty()) return "none";
  auto sums = read_json_file(cks.front() / "checksums.json");
  return sums ? (*sums)["files"]["model.safetensors"].get<std::string>() : "unreadable";
}

void write_recipe(const fs::path& file, Json j) { std::ofstream(file) << j.dump(); }

// The "message" of a log event ("" for other events).
QString message_of(const jobs::Event& e) {
  return e.json.contains("message") && e.json["message"].is_string()
             ? QString::fromStdString(e.json["message"].get<std::string>())
             : QString();
}

}  // namespace

class TestTrainer : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  fs::path root_;

 private Q_SLOTS:
  void initTestCase() {
    torch::set_num_threads(1);
    root_ = tmp_.path().toStdString();
    make_packs(root_ / "packs");
  }

  void stagesValidationAndEvents() {
    const fs::path run = root_ / "run-full";
    TrainOptions o;
    o.run_dir = run;
    auto r = run_training(parse(recipe_json(root_ / "packs", 2, 2)), o);
    QVERIFY2(r.is_ok(), r.status().message().c_str());
    QVERIFY(r->finished);
    QCOMPARE(r->final_step, int64_t(10));
    QCOMPARE(r->tokens, int64_t(10 * 64));
    QVERIFY(r->last_val_loss.has_value() && std::isfinite(*r->last_val_loss));
    QVERIFY(r->steps.back().loss < r->steps.front().loss);  // it learns something
    auto ev = jobs::summarize_events(run / "events.jsonl");
    QVERIFY(ev.is_ok());
    QCOMPARE(ev->last_state.value_or(""), std::string("finished"));
    for (const char* m : {"loss", "z_loss", "lr", "grad_norm", "tokens_per_s", "mfu", "val_loss", "val_ppl"})
      QVERIFY2(ev->last_metrics.contains(m), m);
    auto all = jobs::read_events(run / "events.jsonl");
    int stages = 0;
    for (const auto& e : all->events)
      if (e.type == "stage") {
        QCOMPARE(e.json["index"].get<int64_t>(), int64_t(stages));
        ++stages;
      }
    QCOMPARE(stages, 2);
    // keep_last 3 of checkpoints at 2, 4, 6, 8 and the final 10.
    auto cks = list_checkpoints(run);
    QCOMPARE(cks.size(), size_t(3));
    QCOMPARE(cks.front().filename().string(), std::string("step-0000010"));
    QVERIFY(verify_checkpoint(cks.front()).is_ok());
    QVERIFY(fs::exists(cks.front() / "config.json") && fs::exists(cks.front() / "model.safetensors"));
    // Every checkpoint is self-contained: its tokenizer loads from the folder alone.
    for (const auto& ck : cks) {
      QVERIFY2(fs::exists(ck / "tokenizer.json"), ck.c_str());
      QVERIFY2(tok::load_tokenizer(ck).is_ok(), ck.c_str());
    }
    full_ = losses(*r);
  }

  void resumeIsBitExact() {
    const fs::path run = root_ / "run-resume";
    const Recipe recipe = parse(recipe_json(root_ / "packs", 2, 2));
    TrainOptions o;
    o.run_dir = run;
    o.max_steps = 5;  // stops mid stage 1, checkpoint at step 5
    auto a = run_training(recipe, o);
    QVERIFY2(a.is_ok(), a.status().message().c_str());
    QVERIFY(!a->finished);
    // Without --resume an existing run folder is refused.
    o.max_steps = 0;
    auto refused = run_training(recipe, o);
    QCOMPARE(refused.status().code(), StatusCode::kFailedPrecondition);
    o.resume = true;
    auto b = run_training(recipe, o);
    QVERIFY2(b.is_ok(), b.status().message().c_str());
    std::vector<double> joined = losses(*a);
    for (double l : losses(*b)) joined.push_back(l);
    QCOMPARE(joined.size(), full_.size());
    for (size_t i = 0; i < full_.size(); ++i) QVERIFY2(joined[i] == full_[i], std::to_string(i).c_str());  // exact
  }

  void corruptLatestFallsBack() {
    const fs::path run = root_ / "run-corrupt";
    const Recipe recipe = parse(recipe_json(root_ / "packs", 2, 2));
    TrainOptions o;
    o.run_dir = run;
    o.max_steps = 4;  // checkpoints step-2 and step-4
    QVERIFY(run_training(recipe, o).is_ok());
    {  // flip a byte in the newest weights
      std::fstream f(run / "checkpoints" / "step-0000004" / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(-5, std::ios::end);
      f.put('\x7f');
    }
    auto point = find_resume_point(run);
    QVERIFY(point.is_ok() && point->has_value());
    QCOMPARE((*point)->dir.filename().string(), std::string("step-0000002"));
    QCOMPARE((*point)->messages.size(), size_t(1));
    QVERIFY(QString::fromStdString((*point)->messages[0]).contains("step-0000004 is corrupt"));
    QVERIFY(QString::fromStdString((*point)->messages[0]).contains("falling back to step-0000002"));
    o.resume = true;
    o.max_steps = 0;
    auto r = run_training(recipe, o);
    QVERIFY2(r.is_ok(), r.status().message().c_str());
    QCOMPARE(r->steps.front().step, int64_t(3));
    QVERIFY(r->steps.front().loss == full_[2]);  // continues exactly where step 2 left off
    auto ev = jobs::summarize_events(run / "events.jsonl");
    bool logged = false;
    for (const auto& l : ev->recent_logs) logged |= QString::fromStdString(l).contains("falling back");
    auto all = jobs::read_events(run / "events.jsonl");
    for (const auto& e : all->events)
      if (e.type == "log") logged |= QString::fromStdString(e.json.value("message", "")).contains("falling back to step-0000002");
    QVERIFY(logged);
  }

  void nanStepsAreSkippedThenStop() {
    const Recipe recipe = parse(recipe_json(root_ / "packs", 2, 2));
    {  // one bad step: skipped, counted, training goes on
      TrainOptions o;
      o.run_dir = root_ / "run-nan1";
      o.inject_nan = [](int64_t step) { return step == 3; };
      auto r = run_training(recipe, o);
      QVERIFY2(r.is_ok(), r.status().message().c_str());
      QCOMPARE(r->skipped_steps, int64_t(1));
      QVERIFY(r->steps[2].skipped && !r->steps[3].skipped);
      QVERIFY(r->steps[1].loss == full_[1]);
    }
    {  // K = 3 in a row from step 5: stop with kDataLoss, step-4 checkpoint intact
      TrainOptions o;
      o.run_dir = root_ / "run-nan3";
      o.inject_nan = [](int64_t step) { return step >= 5; };
      auto r = run_training(recipe, o);
      QCOMPARE(r.status().code(), StatusCode::kDataLoss);
      QVERIFY(QString::fromStdString(r.status().message()).contains("3 steps in a row"));
      QVERIFY(QString::fromStdString(r.status().message()).contains("step-0000004"));
      auto cks = list_checkpoints(o.run_dir);
      QCOMPARE(cks.front().filename().string(), std::string("step-0000004"));
      QVERIFY(verify_checkpoint(cks.front()).is_ok());
      auto ev = jobs::summarize_events(o.run_dir / "events.jsonl");
      QCOMPARE(ev->last_state.value_or(""), std::string("failed"));
    }
  }

  void twoRanksMatchOneRank() {
    const fs::path dir = root_ / "dist";
    fs::create_directories(dir);
    // 1 rank: 4 rows per step; 2 ranks: 2 rows each (no accumulation either way). The 2-rank
    // run reduces gradients during backward (the default, c10d Reducer).
    const fs::path one = dir / "one.json", two = dir / "two.json";
    write_recipe(one, recipe_json(root_ / "packs", 4, 1));
    write_recipe(two, recipe_json(root_ / "packs", 2, 1));
    TrainOptions o;
    o.run_dir = dir / "run1";
    auto single = run_training(*read_recipe(one), o);
    QVERIFY2(single.is_ok(), single.status().message().c_str());
    single_ = losses(*single);
    single_bytes_ = single->optimizer_state_bytes;

    auto ranks = run_ranks(two, dir / "run2", 2);
    QCOMPARE(ranks.size(), size_t(2));
    QCOMPARE(ranks[0].losses.size(), single_.size());
    for (size_t i = 0; i < single_.size(); ++i) {
      QVERIFY2(std::abs(ranks[0].losses[i] - single_[i]) < 1e-5, std::to_string(i).c_str());
      QCOMPARE(ranks[0].losses[i], ranks[1].losses[i]);  // ranks agree exactly
    }
    // Only rank 0 wrote events and checkpoints; the log says how gradients were reduced.
    QVERIFY(fs::exists(dir / "run2" / "events.jsonl"));
    QVERIFY(!list_checkpoints(dir / "run2").empty());
    bool said = false;
    const auto batch1 = jobs::read_events(dir / "run2" / "events.jsonl");
    if (batch1.is_ok())
      for (const auto& e : batch1->events) said |= message_of(e).contains("gradients reduced during backward in");
    QVERIFY(said);
  }

  // Overlapped (bucketed, during backward, c10d Reducer) and after-backward reduction give the
  // same gradients bit for bit at 2 ranks (x/2 + y/2 == (x + y)/2): same losses, same final
  // weights — with gradient accumulation, where only the last micro-batch reduces.
  void overlappedReductionIsBitIdentical() {
    const fs::path dir = root_ / "overlap";
    fs::create_directories(dir);
    Json with = recipe_json(root_ / "packs", 1, 2);
    with["distributed"] = {{"bucket_mb", 0.05}};  // several buckets even for the debug model
    Json without = with;
    without["distributed"]["overlap_reduce"] = false;
    write_recipe(dir / "with.json", with);
    write_recipe(dir / "without.json", without);
    auto a = run_ranks(dir / "with.json", dir / "run-with", 2);
    auto b = run_ranks(dir / "without.json", dir / "run-without", 2);
    QCOMPARE(a.size(), size_t(2));
    QCOMPARE(b.size(), size_t(2));
    QCOMPARE(a[0].losses.size(), single_.size());
    for (size_t i = 0; i < single_.size(); ++i) {
      QVERIFY2(a[0].losses[i] == b[0].losses[i], std::to_string(i).c_str());  // exact
      QVERIFY2(std::abs(a[0].losses[i] - single_[i]) < 1e-5, std::to_string(i).c_str());
    }
    QCOMPARE(final_weights_checksum(dir / "run-with"), final_weights_checksum(dir / "run-without"));
    bool buckets = false;
    const auto batch2 = jobs::read_events(dir / "run-with" / "events.jsonl");
    if (batch2.is_ok())
      for (const auto& e : batch2->events) {
        const QString m = message_of(e);
        buckets |= m.contains("during backward in") && !m.contains("in 1 buckets");
      }
    QVERIFY(buckets);
  }

  // ZeRO-1: 2 ranks, each with half of the AdamW moments, follow the unsharded trajectory
  // within fp32 tolerance; their checkpoint (one shard per rank) resumes with 1 rank, both
  // unsharded and sharded, and continues on the same trajectory.
  void zeroOneShardsOptimizerState() {
    const fs::path dir = root_ / "zero";
    fs::create_directories(dir);
    Json two = recipe_json(root_ / "packs", 2, 1);
    two["distributed"] = {{"zero_stage", 1}};
    write_recipe(dir / "two.json", two);
    auto ranks = run_ranks(dir / "two.json", dir / "run2", 2);
    QCOMPARE(ranks.size(), size_t(2));
    QCOMPARE(ranks[0].losses.size(), single_.size());
    for (size_t i = 0; i < single_.size(); ++i) {
      QVERIFY2(std::abs(ranks[0].losses[i] - single_[i]) < 1e-5, std::to_string(i).c_str());
      QCOMPARE(ranks[0].losses[i], ranks[1].losses[i]);
    }
    // Each rank holds half the moments (N even here, or the first rank one element more).
    QVERIFY(ranks[0].optimizer_bytes > 0);
    QVERIFY2(std::abs(2 * ranks[0].optimizer_bytes - single_bytes_) <= 8,
             (std::to_string(ranks[0].optimizer_bytes) + " vs " + std::to_string(single_bytes_)).c_str());
    QVERIFY(std::abs(2 * ranks[1].optimizer_bytes - single_bytes_) <= 8);
    auto cks = list_checkpoints(dir / "run2");
    QVERIFY(!cks.empty());
    QVERIFY(fs::exists(cks.front() / optimizer_shard_name(0, 2)) && fs::exists(cks.front() / optimizer_shard_name(1, 2)));
    QVERIFY(!fs::exists(cks.front() / "optimizer.safetensors"));
    QVERIFY(verify_checkpoint(cks.front()).is_ok());

    // Resume from step 6 with 1 rank (4 rows: the same global batch), unsharded and sharded.
    for (int zero : {0, 1}) {
      const fs::path run = dir / ("resume1-zero" + std::to_string(zero));
      fs::copy(dir / "run2", run, fs::copy_options::recursive);
      for (const auto& ck : list_checkpoints(run))
        if (ck.filename().string() > "step-0000006") fs::remove_all(ck);
      Json one = recipe_json(root_ / "packs", 4, 1);
      one["distributed"] = {{"zero_stage", zero}};
      TrainOptions o;
      o.run_dir = run;
      o.resume = true;
      auto r = run_training(parse(one), o);
      QVERIFY2(r.is_ok(), r.status().message().c_str());
      QCOMPARE(r->steps.front().step, int64_t(7));
      QCOMPARE(r->steps.size(), size_t(4));
      for (size_t i = 0; i < r->steps.size(); ++i)
        QVERIFY2(std::abs(r->steps[i].loss - single_[6 + i]) < 1e-5, (std::to_string(zero) + "/" + std::to_string(i)).c_str());
    }
    // A missing shard is named when resuming.
    const fs::path broken = dir / "broken";
    fs::copy(dir / "run2", broken, fs::copy_options::recursive);
    for (const auto& ck : list_checkpoints(broken)) fs::remove(ck / optimizer_shard_name(1, 2));
    auto point = find_resume_point(broken);
    QVERIFY(!point.is_ok());
    QVERIFY2(QString::fromStdString(point.status().message()).contains("checksum") ||
                 QString::fromStdString(point.status().message()).contains("missing"),
             point.status().message().c_str());
  }

 private:
  std::vector<double> full_;
  std::vector<double> single_;   // the 1-rank, 4-row run of twoRanksMatchOneRank
  int64_t single_bytes_ = 0;
};

int main(int argc, char** argv) {
  if (std::getenv("KANANA_TRAIN_TEST_WORKER")) return worker_main(argc, argv);
  QCoreApplication app(argc, argv);
  TestTrainer test;
  return QTest::qExec(&test, argc, argv);
}
#include "test_trainer.moc"
