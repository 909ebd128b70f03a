// `kanana surgery ...` end to end through the built executable: info with a target preview,
// usage errors (exit 2) for bad targets and foreign importance files before any work,
// up-scaling, importance, pruning, and the prune → distill pipeline job.
#include <QDir>
#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <fstream>

#include "../shards/shard_test_util.h"
#include "base/json.h"
#include "jobs/events.h"
#include "test_support.h"

using namespace kanana;
using kanana::test::run_kanana;
namespace fs = std::filesystem;

namespace {

QString q(const fs::path& p) { return QString::fromStdString(p.string()); }

Json read(const fs::path& p) {
  auto j = read_json_file(p);
  if (!j) qFatal("%s", j.status().message().c_str());
  return *j;
}

}  // namespace

class TestSurgeryCli : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  fs::path root_;

 private Q_SLOTS:
  void initTestCase() {
    root_ = tmp_.path().toStdString();
    auto docs = shards::test::synthetic_docs(300, 21, 512, 10, 60);
    QVERIFY(shards::test::write_synthetic_pack(root_ / "pack", docs, "src", 1 << 20, 10, "fp-test", 512).is_ok());
    for (const char* seed : {"1", "2"}) {
      auto r = run_kanana({"model", "init", "--preset", "debug", "--seed", seed, "--out", q(root_ / (std::string("m") + seed))});
      QVERIFY2(r.code == 0, qPrintable(r.err));
    }
  }

  void infoPreviewsATarget() {
    auto r = run_kanana({"surgery", "info", q(root_ / "m1"), "--hidden", "32", "--heads-per-group", "1", "--context", "128"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY(r.out.contains("FLOPs/token"));
    QVERIFY(r.out.contains("target"));
    QVERIFY(r.out.contains("hidden 32"));
    QVERIFY(r.out.contains("%"));
    r = run_kanana({"surgery", "info", q(root_ / "m1"), "--heads", "3"});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("does not divide evenly"), qPrintable(r.err));
  }

  void badRequestsAreUsageErrors() {
    const QString out = q(root_ / "never");
    auto r = run_kanana({"surgery", "prune", q(root_ / "m1"), "--out", out, "--hidden", "0", "--pack", q(root_ / "pack")});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("removes every hidden channel"), qPrintable(r.err));
    r = run_kanana({"surgery", "prune", q(root_ / "m1"), "--out", out, "--intermediate", "999", "--pack", q(root_ / "pack")});
    QCOMPARE(r.code, 2);
    QVERIFY(r.err.contains("more than the source's 160"));
    r = run_kanana({"surgery", "prune", q(root_ / "m1"), "--out", out, "--intermediate", "80"});
    QCOMPARE(r.code, 2);
    QVERIFY(r.err.contains("needs importance"));
    r = run_kanana({"surgery", "upscale", q(root_ / "m1"), "--out", out, "--drop", "2"});
    QCOMPARE(r.code, 2);
    QVERIFY(!fs::exists(root_ / "never"));
  }

  void importanceThenPrune() {
    const fs::path imp = root_ / "m1-importance.json";
    auto r = run_kanana({"surgery", "importance", q(root_ / "m1"), "--out", q(imp), "--pack", q(root_ / "pack"),
                         "--samples", "16", "--seq-len", "32", "--batch-size", "4", "--quiet"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY(r.out.contains("block_importance"));
    Json j = read(imp);
    QCOMPARE(j["format"].get<std::string>(), std::string("kanana-importance"));
    QCOMPARE(j["samples"].get<int>(), 16);
    QCOMPARE(j["neurons"].size(), size_t(2));

    // Scores of m1 on m2 (same shape, other weights): refused before pruning.
    r = run_kanana({"surgery", "prune", q(root_ / "m2"), "--out", q(root_ / "p2"), "--intermediate", "80",
                    "--importance", q(imp)});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("different weights"), qPrintable(r.err));
    QVERIFY(!fs::exists(root_ / "p2"));

    r = run_kanana({"surgery", "prune", q(root_ / "m1"), "--out", q(root_ / "p1"), "--intermediate", "80",
                    "--heads-per-group", "1", "--importance", q(imp)});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    Json cfg = read(root_ / "p1" / "config.json");
    QCOMPARE(cfg["intermediate_size"].get<int>(), 80);
    QCOMPARE(cfg["num_attention_heads"].get<int>(), 2);
    QCOMPARE(cfg["num_key_value_heads"].get<int>(), 2);
    QVERIFY(fs::exists(root_ / "p1" / "prune.json"));
    r = run_kanana({"model", "info", q(root_ / "p1")});
    QVERIFY2(r.code == 0 && !r.err.contains("warning"), qPrintable(r.err));
  }

  void upscale() {
    auto r = run_kanana({"surgery", "upscale", q(root_ / "m1"), "--out", q(root_ / "up"), "--layer-map", "0,1,1"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QCOMPARE(read(root_ / "up" / "config.json")["num_hidden_layers"].get<int>(), 3);
    r = run_kanana({"surgery", "upscale", q(root_ / "m1"), "--out", q(root_ / "up2"), "--drop", "0"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QCOMPARE(read(root_ / "up2" / "config.json")["num_hidden_layers"].get<int>(), 4);
  }

  void pipelinePrunesThenDistills() {
    const fs::path spec = root_ / "pipeline.json";
    Json stages = Json::array({Json{{"name", "distill"}, {"token_budget", 6 * 4 * 16},
                                    {"sources", Json::array({Json{{"name", "src"}, {"path", "pack"}, {"weight", 1.0}}})},
                                    {"schedule", {{"kind", "constant"}, {"peak_lr", 1e-3}}}}});
    Json j = {{"teacher", "m1"},
              {"target", {{"hidden_size", 48}, {"num_hidden_layers", 1}}},
              {"prune", {{"steps", 2}, {"calibration", {{"pack", "pack"}, {"samples", 8}, {"seq_len", 16}}}}},
              {"distill", {{"seq_len", 16}, {"micro_batch_size", 4}, {"stages", stages},
                           {"distill", {{"temperature", 2.0}}}, {"validation", {{"interval", 3}}},
                           {"checkpoint", {{"interval", 0}, {"keep_last", 1}}}}}};
    QVERIFY(write_json_file(spec, j).is_ok());
    const fs::path run = root_ / "pipe-run";
    auto r = run_kanana({"surgery", "pipeline", "--spec", q(spec), "--run-dir", q(run), "--quiet"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    Json cfg = read(run / "student" / "config.json");
    QCOMPARE(cfg["hidden_size"].get<int>(), 48);
    QCOMPARE(cfg["num_hidden_layers"].get<int>(), 1);
    QVERIFY(fs::exists(run / "importance.json"));
    QCOMPARE(read(run / "prune.json")["steps"].size(), size_t(2));
    Json summary = read(run / "pipeline.json");
    QVERIFY(fs::exists(fs::path(summary["final_checkpoint"].get<std::string>()) / "model.safetensors"));
    auto events = jobs::read_events(run / jobs::kEventsFileName);
    QVERIFY(events.is_ok());
    bool prune_log = false, kl = false, finished = false;
    for (const auto& e : events->events) {
      if (e.type == "log" && e.json["message"].get<std::string>().find("prune step") != std::string::npos) prune_log = true;
      if (e.type == "metric" && e.json["metrics"].contains("kl")) kl = true;
      if (e.type == "state" && e.json["state"] == "finished") finished = true;
    }
    QVERIFY(prune_log && kl && finished);
    // A bad spec names the field and does nothing.
    j["target"] = {{"num_attention_heads", 3}};
    QVERIFY(write_json_file(spec, j).is_ok());
    r = run_kanana({"surgery", "pipeline", "--spec", q(spec), "--run-dir", q(root_ / "pipe-bad"), "--quiet"});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("does not divide evenly"), qPrintable(r.err));
    QVERIFY(!fs::exists(root_ / "pipe-bad"));
    j["target"] = {{"hidden_size", 48}};
    j["prune"]["stepz"] = 2;
    QVERIFY(write_json_file(spec, j).is_ok());
    r = run_kanana({"surgery", "pipeline", "--spec", q(spec), "--run-dir", q(root_ / "pipe-bad"), "--quiet"});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("stepz"), qPrintable(r.err));
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestSurgeryCli)
#include "test_surgery_cli.moc"
