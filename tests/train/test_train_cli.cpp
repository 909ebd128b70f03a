// `kanana train` end to end through the executable: an invalid recipe is a usage error naming
// the field (exit 2), SIGINT writes a checkpoint and exits 130, and a worker killed with
// SIGKILL mid-run continues with --resume from its last checkpoint to the end.
#include <QElapsedTimer>
#include <QProcess>
#include <QThread>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>
#include <fstream>

#include "../shards/shard_test_util.h"
#include "base/json.h"
#include "jobs/events.h"
#include "test_support.h"

using namespace kanana;
namespace fs = std::filesystem;

class TestTrainCli : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  fs::path root_;
  QString kanana_;

  // A long single-stage run (2000 steps of 4×16 tokens) with a checkpoint every 25 steps.
  fs::path write_recipe(const std::string& name, const Json& patch = Json::object()) {
    Json src = Json::array({Json{{"name", "src"}, {"path", (root_ / "pack").string()}, {"weight", 1.0}}});
    Json r = {{"type", "pretrain"}, {"model", {{"preset", "debug"}}}, {"seq_len", 16}, {"micro_batch_size", 4},
              {"stages", Json::array({Json{{"name", "stage1"}, {"token_budget", 2000 * 64}, {"sources", src},
                                           {"schedule", {{"kind", "cosine"}, {"peak_lr", 1e-3}}}}})},
              {"checkpoint", {{"interval", 25}, {"keep_last", 2}}},
              {"runtime", {{"peak_tflops", 1.0}, {"log_interval", 5}}}};
    r.merge_patch(patch);
    const fs::path file = root_ / name;
    std::ofstream(file) << r.dump(2);
    return file;
  }

  // Waits until events.jsonl of `run` has an event of `type`.
  bool wait_for_event(const fs::path& run, const std::string& type, int timeout_ms) {
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < timeout_ms) {
      auto batch = jobs::read_events(run / "events.jsonl");
      if (batch.is_ok())
        for (const auto& e : batch->events)
          if (e.type == type) return true;
      QThread::msleep(50);
    }
    return false;
  }

 private Q_SLOTS:
  void initTestCase() {
    kanana_ = kanana::test::bin_path("kanana");
    if (!QFile::exists(kanana_)) QSKIP("kanana executable not built");
    root_ = tmp_.path().toStdString();
    auto m = shards::test::write_synthetic_pack(root_ / "pack", shards::test::synthetic_docs(300, 3, 512, 5, 60), "src",
                                                1 << 20, 10, "fp-test", 512);
    QVERIFY2(m.is_ok(), m.status().message().c_str());
  }

  void invalidRecipeIsUsageError() {
    const fs::path file = write_recipe("bad.json", {{"optimizer", {{"weight_decay_mode", "lr-scaled"}}}});
    QProcess p;
    p.start(kanana_, {"train", "--recipe", QString::fromStdString(file.string()), "--run-dir",
                      QString::fromStdString((root_ / "run-bad").string())});
    QVERIFY(p.waitForFinished(60000));
    QCOMPARE(p.exitCode(), 2);
    const QString err = p.readAllStandardError();
    QVERIFY2(err.contains("optimizer.weight_decay_mode") && err.contains("bad.json"), err.toUtf8());
  }

  void sigintCheckpointsAndExits130() {
    const fs::path run = root_ / "run-int";
    QProcess p;
    p.start(kanana_, {"train", "--recipe", QString::fromStdString(write_recipe("int.json").string()), "--run-dir",
                      QString::fromStdString(run.string()), "--threads", "1", "--quiet"});
    QVERIFY(p.waitForStarted());
    QVERIFY(wait_for_event(run, "metric", 60000));
    ::kill(pid_t(p.processId()), SIGINT);
    QVERIFY(p.waitForFinished(60000));
    QCOMPARE(p.exitCode(), 130);
    auto summary = jobs::summarize_events(run / "events.jsonl");
    QVERIFY(summary.is_ok());
    QCOMPARE(summary->last_state.value_or(""), std::string("cancelled"));
    QVERIFY(!summary->checkpoints.empty());
  }

  void sigkillThenResumeFinishes() {
    const fs::path run = root_ / "run-kill";
    const fs::path recipe = write_recipe("kill.json");
    QProcess p;
    p.start(kanana_, {"train", "--recipe", QString::fromStdString(recipe.string()), "--run-dir",
                      QString::fromStdString(run.string()), "--threads", "1", "--quiet"});
    QVERIFY(p.waitForStarted());
    QVERIFY(wait_for_event(run, "checkpoint", 120000));
    ::kill(pid_t(p.processId()), SIGKILL);
    QVERIFY(p.waitForFinished(30000));
    QProcess r;
    r.start(kanana_, {"train", "--recipe", QString::fromStdString(recipe.string()), "--run-dir",
                      QString::fromStdString(run.string()), "--threads", "1", "--quiet", "--resume"});
    QVERIFY(r.waitForFinished(300000));
    const QString out = r.readAllStandardOutput();
    QVERIFY2(r.exitCode() == 0, r.readAllStandardError().constData());
    QVERIFY2(out.contains("finished: 2000 steps"), out.toUtf8());
    auto batch = jobs::read_events(run / "events.jsonl");
    bool resumed = false;
    for (const auto& e : batch->events)
      if (e.type == "log") resumed |= QString::fromStdString(e.json.value("message", "")).startsWith("resumed from step-");
    QVERIFY(resumed);
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestTrainCli)
#include "test_train_cli.moc"
