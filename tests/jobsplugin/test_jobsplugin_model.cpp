// The Jobs plugin's model layer on real formats: recipes checked by the trainer's own parser
// (errors name the field and the line), presets, recipe path relocation, launch plans and the
// exact sbatch script, the file tail (partial last line, chunking, truncation, replacement),
// run series (every point, resumed runs rewind), and who gets notified how.
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "../shards/shard_test_util.h"
#include "events_fixture.h"
#include "file_follower.h"
#include "file_tail.h"
#include "jobs/slurm_launcher.h"
#include "jobs/ssh_launcher.h"
#include "launch_plan.h"
#include "recipe_check.h"
#include "recipe_files.h"
#include "run_notifications.h"
#include "run_series.h"

using namespace kanana;
using namespace kanana::jobsplugin;
using kanana::test::appendBytes;
namespace fs = std::filesystem;

namespace {

QByteArray metricLine(int step, double loss) {
  return QStringLiteral("{\"type\":\"metric\",\"step\":%1,\"metrics\":{\"loss\":%2,\"lr\":0.001}}\n").arg(step).arg(loss).toUtf8();
}

jobs::Event parseEvent(const QByteArray& line) {
  auto e = jobs::parse_event_line(std::string_view(line.constData(), size_t(line.size())).substr(0, size_t(line.size()) - 1), 1);
  return e.is_ok() ? *e : jobs::Event{};
}

RunRow row(qint64 id, const QString& state) {
  RunRow r;
  r.id = id;
  r.name = QStringLiteral("tiny");
  r.state = state;
  return r;
}

}  // namespace

class TestJobsPluginModel : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  QString validRecipe_;

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    const fs::path root = tmp_.path().toStdString();
    auto m = shards::test::write_synthetic_pack(root / "packs" / "src", shards::test::synthetic_docs(200, 3, 512, 5, 40), "src",
                                                1 << 20, 10, "fp-test", 512);
    QVERIFY2(m.is_ok(), m.status().message().c_str());
    validRecipe_ = QStringLiteral(R"({
  "type": "pretrain",
  "name": "tiny-test",
  "model": {"preset": "debug"},
  "seq_len": 16,
  "micro_batch_size": 2,
  "stages": [
    {"name": "stage1", "token_budget": 640,
     "sources": [{"name": "src", "path": "packs/src", "weight": 1.0}],
     "schedule": {"kind": "cosine", "peak_lr": 1e-3}},
    {"name": "stage2", "token_budget": 320,
     "sources": [{"name": "src", "path": "packs/src", "weight": 1.0}],
     "schedule": {"kind": "linear", "peak_lr": 5e-4}}
  ],
  "runtime": {"peak_tflops": 1.0}
}
)");
  }

  void validRecipePasses() {
    const RecipeCheck c = checkRecipeText(validRecipe_, QStringLiteral("tiny.json"), tmp_.path());
    QVERIFY2(c.ok, qPrintable(c.message));
    QCOMPARE(c.type, QStringLiteral("pretrain"));
    QCOMPARE(c.name, QStringLiteral("tiny-test"));
    QCOMPARE(c.stages, 2);
    QCOMPARE(c.tokenBudget, 960);
    QVERIFY(recipeTypes().contains(QStringLiteral("pretrain")));
  }

  void errorsNameTheFieldAndLine() {
    // A top-level field.
    QString bad = validRecipe_;
    bad.replace(QStringLiteral("\"seq_len\": 16"), QStringLiteral("\"seq_len\": 0"));
    RecipeCheck c = checkRecipeText(bad, QStringLiteral("tiny.json"), tmp_.path());
    QVERIFY(!c.ok);
    QCOMPARE(c.field, QStringLiteral("seq_len"));
    QVERIFY2(c.message.contains(QStringLiteral("tiny.json")) && c.message.contains(QStringLiteral("must be >= 1")), qPrintable(c.message));
    QCOMPARE(c.line, 5);
    // A nested field of the second stage: the line is the second stage's, not the first's.
    bad = validRecipe_;
    bad.replace(QStringLiteral("\"peak_lr\": 5e-4"), QStringLiteral("\"peak_lr\": -1"));
    c = checkRecipeText(bad, QStringLiteral("tiny.json"), tmp_.path());
    QVERIFY(!c.ok);
    QCOMPARE(c.field, QStringLiteral("stages[1].schedule.peak_lr"));
    QCOMPARE(c.line, 13);
    // A typo is an unknown field, named.
    bad = validRecipe_;
    bad.replace(QStringLiteral("\"micro_batch_size\""), QStringLiteral("\"micro_batch\""));
    c = checkRecipeText(bad, QStringLiteral("tiny.json"), tmp_.path());
    QVERIFY(!c.ok);
    QCOMPARE(c.field, QStringLiteral("micro_batch"));
    QCOMPARE(c.line, 6);
    // JSON syntax: line and column.
    bad = validRecipe_;
    bad.replace(QStringLiteral("\"seq_len\": 16,"), QStringLiteral("\"seq_len\": 16,,"));
    c = checkRecipeText(bad, QStringLiteral("tiny.json"), tmp_.path());
    QVERIFY(!c.ok);
    QCOMPARE(c.line, 5);
    QVERIFY(c.column > 0);
    QVERIFY2(c.message.contains(QStringLiteral("invalid JSON")), qPrintable(c.message));
    // A pack missing here is a warning naming the field (for a remote target it lives there).
    c = checkRecipeText(validRecipe_, QStringLiteral("tiny.json"), tmp_.path() + QStringLiteral("/nowhere"));
    QVERIFY(c.ok);
    QCOMPARE(c.warnings.size(), 2);
    QVERIFY2(c.warnings[0].startsWith(QStringLiteral("field 'stages[0].sources[0].path'")) &&
                 c.warnings[0].contains(QStringLiteral("nowhere/packs/src")),
             qPrintable(c.warnings[0]));
    QVERIFY(checkRecipeText(validRecipe_, QStringLiteral("tiny.json"), tmp_.path()).warnings.isEmpty());
  }

  void locateFieldFindsArrayElements() {
    const QString text = QStringLiteral("{\n \"a\": [\n  {\"b\": 1},\n  {\"b\": 2},\n  {\"b\": 3}\n ]\n}\n");
    QCOMPARE(locateField(text, QStringLiteral("a[0].b")), 3);
    QCOMPARE(locateField(text, QStringLiteral("a[2].b")), 5);
    QCOMPARE(locateField(text, QStringLiteral("zzz")), 0);
    QCOMPARE(fieldFromMessage(QStringLiteral("r.json: field 'x.y[2]' is missing")), QStringLiteral("x.y[2]"));
  }

  void presetsAreRecipes() {
    const QString source = qEnvironmentVariable("KANANA_SOURCE_DIR");
    if (source.isEmpty()) QSKIP("KANANA_SOURCE_DIR is not set (run through ctest)");
    qputenv("KANANA_RECIPES_DIR", (source + QStringLiteral("/resources/recipes/train")).toLocal8Bit());
    const QList<RecipePreset> presets = recipePresets(QString());
    QVERIFY(presets.size() >= 2);
    QCOMPARE(presets.first().title, QStringLiteral("Tiny CPU demo"));
    bool gpu = false;
    for (const RecipePreset& p : presets) {
      QVERIFY2(!p.path.endsWith(QStringLiteral("model.json")), qPrintable(p.path));  // model configs are not recipes
      gpu |= p.title == QStringLiteral("kanana-8b-gpu-like");
    }
    QVERIFY(gpu);
    // The demo workspace's copy (with its packs) wins when present.
    QTemporaryDir ws;
    QDir().mkpath(ws.filePath(QStringLiteral("data/demo-pipeline")));
    QVERIFY(QFile::copy(presets.first().path, ws.filePath(QStringLiteral("data/demo-pipeline/tiny-cpu-demo.json"))));
    QCOMPARE(recipePresets(ws.path()).first().path, ws.filePath(QStringLiteral("data/demo-pipeline/tiny-cpu-demo.json")));
    qunsetenv("KANANA_RECIPES_DIR");
  }

  void recipePathsRelocate() {
    const Json recipe = Json::parse(validRecipe_.toStdString());
    const Json abs = absolutizeRecipePaths(recipe, tmp_.path());
    const std::string expected = (fs::path(tmp_.path().toStdString()) / "packs/src").string();
    QCOMPARE(abs["stages"][0]["sources"][0]["path"].get<std::string>(), expected);
    QCOMPARE(abs["name"].get<std::string>(), std::string("tiny-test"));      // not a path key
    QCOMPARE(abs["stages"][0]["name"].get<std::string>(), std::string("stage1"));
    // Written elsewhere, the absolute recipe still validates.
    QTemporaryDir other;
    const RecipeCheck c = checkRecipeText(QString::fromStdString(abs.dump(2)), QStringLiteral("copy.json"), other.path());
    QVERIFY2(c.ok, qPrintable(c.message));
    // A path that does not exist where the recipe was is left for the trainer to name.
    Json missing = recipe;
    missing["model"] = Json{{"config", "no-such-config.json"}};
    QCOMPARE(absolutizeRecipePaths(missing, tmp_.path())["model"]["config"].get<std::string>(), std::string("no-such-config.json"));
    // Remote: relative to the run folder's parent.
    const Json remote = prefixRecipePaths(recipe, "../");
    QCOMPARE(remote["stages"][1]["sources"][0]["path"].get<std::string>(), std::string("../packs/src"));
  }

  void launchPlans() {
    LaunchRequest req;
    req.recipe = Json::parse(validRecipe_.toStdString());
    req.recipeBaseDir = tmp_.path();
    req.runName = QStringLiteral("tiny-test");
    req.runFolder = QStringLiteral("tiny-test-20260101-000000");
    req.workspaceRunsDir = tmp_.filePath(QStringLiteral("ws/runs"));
    req.kananaBinary = QStringLiteral("/opt/kanana/bin/kanana");
    req.target.ranks = 2;
    req.target.threadsPerRank = 1;
    auto local = planLaunch(req);
    QVERIFY2(local.is_ok(), local.status().message().c_str());
    const std::string dir = (tmp_.path() + QStringLiteral("/ws/runs/tiny-test-20260101-000000")).toStdString();
    QCOMPARE(local->spec.run_dir, dir);
    QCOMPARE(local->spec.resources.nproc_per_node, 2);
    const auto argv = local->spec.resolved_command(dir);
    const std::vector<std::string> want = {"/opt/kanana/bin/kanana", "train", "--recipe", dir + "/recipe.json", "--run-dir", dir,
                                           "--threads", "1"};
    QCOMPARE(argv, want);
    QCOMPARE(local->spec.env.at("OMP_NUM_THREADS"), std::string("1"));
    QVERIFY(local->recipeForTarget["stages"][0]["sources"][0]["path"].get<std::string>()[0] == '/');
    QVERIFY(local->sbatchScript.isEmpty());

    // Slurm from this machine: the preview is the script that is submitted.
    req.target = LaunchTarget{};
    req.target.kind = jobs::TargetKind::kSlurm;
    req.target.nodes = 2;
    req.target.gpusPerNode = 8;
    req.target.ranks = 8;
    req.target.timeLimit = QStringLiteral("1-00:00:00");
    req.target.partition = QStringLiteral("gpu");
    auto slurm = planLaunch(req);
    QVERIFY2(slurm.is_ok(), slurm.status().message().c_str());
    QCOMPARE(slurm->sbatchScript, QString::fromStdString(jobs::sbatch_script(slurm->spec, dir)));
    for (const char* line : {"#SBATCH --nodes=2", "#SBATCH --ntasks-per-node=8", "#SBATCH --gpus-per-node=8",
                             "#SBATCH --time=1-00:00:00", "#SBATCH --partition=gpu", "srun ", "--device cuda"})
      QVERIFY2(slurm->sbatchScript.contains(QLatin1String(line)), line);
    req.target.timeLimit = QStringLiteral("tomorrow");
    auto badTime = planLaunch(req);
    QVERIFY(!badTime.is_ok());
    QVERIFY2(badTime.status().message().find("resources.time_limit") != std::string::npos, badTime.status().message().c_str());

    // SSH: the run folder lives under the absolute remote workdir; keys only (BatchMode).
    req.target = LaunchTarget{};
    req.target.kind = jobs::TargetKind::kSsh;
    req.target.host = QStringLiteral("gpu-box");
    req.target.remoteWorkdir = QStringLiteral("relative/dir");
    auto relative = planLaunch(req);
    QVERIFY(!relative.is_ok());
    QVERIFY2(relative.status().message().find("remote_workdir") != std::string::npos, relative.status().message().c_str());
    req.target.remoteWorkdir = QStringLiteral("/scratch/me");
    auto ssh = planLaunch(req);
    QVERIFY2(ssh.is_ok(), ssh.status().message().c_str());
    QCOMPARE(ssh->runDir, QStringLiteral("/scratch/me/tiny-test-20260101-000000"));
    QCOMPARE(ssh->localDir, QString::fromStdString(dir));
    QCOMPARE(ssh->spec.resolved_command("/r")[0], std::string("kanana"));
    QCOMPARE(ssh->recipeForTarget["stages"][0]["sources"][0]["path"].get<std::string>(), std::string("../packs/src"));
    const auto sshArgv = jobs::ssh_command(ssh->spec.target, "true");
    QVERIFY(std::find(sshArgv.begin(), sshArgv.end(), "BatchMode=yes") != sshArgv.end());
    req.target.host.clear();
    QVERIFY(!planLaunch(req).is_ok());
  }

  // A serve job: `kanana serve --config <run folder>/serve.json`, one process, the settings
  // checked against the serve table (the field named), the same targets as a recipe.
  void serveLaunchPlans() {
    LaunchRequest req;
    req.serve = Json{{"model", Json::array({"/models/kanana-nano"})}, {"port", 8081}, {"weights", "int8"}};
    req.runFolder = QStringLiteral("serve-20260101-000000");
    req.workspaceRunsDir = tmp_.filePath(QStringLiteral("ws/runs"));
    req.kananaBinary = QStringLiteral("/opt/kanana/bin/kanana");
    req.target.threadsPerRank = 2;
    auto local = planLaunch(req);
    QVERIFY2(local.is_ok(), local.status().message().c_str());
    const std::string dir = (tmp_.path() + QStringLiteral("/ws/runs/serve-20260101-000000")).toStdString();
    QCOMPARE(local->spec.kind, std::string(jobs::kServeJobKind));
    QCOMPARE(local->spec.name, std::string("serve-kanana-nano"));
    QCOMPARE(local->fileName, QStringLiteral("serve.json"));
    QCOMPARE(local->recipeTargetPath, QString::fromStdString(dir + "/serve.json"));
    QCOMPARE(local->recipeForTarget, *req.serve);
    const std::vector<std::string> want = {"/opt/kanana/bin/kanana", "serve", "--config", dir + "/serve.json", "--threads", "2"};
    QCOMPARE(local->spec.resolved_command(dir), want);
    QCOMPARE(defaultServeName(*readServeSettings(Json{{"model", "chat=/m/x"}})), std::string("serve-chat"));

    // Under Slurm: one task, no --device even on a GPU node (the engine is the CPU one).
    req.target = LaunchTarget{};
    req.target.kind = jobs::TargetKind::kSlurm;
    req.target.gpusPerNode = 1;
    auto slurm = planLaunch(req);
    QVERIFY2(slurm.is_ok(), slurm.status().message().c_str());
    QVERIFY(slurm->sbatchScript.contains(QLatin1String("#SBATCH --ntasks-per-node=1")));
    QVERIFY(slurm->sbatchScript.contains(QLatin1String("serve --config ")));
    QVERIFY(!slurm->sbatchScript.contains(QLatin1String("--device")));
    req.target.ranks = 2;
    auto two = planLaunch(req);
    QVERIFY(!two.is_ok());
    QVERIFY2(two.status().message().find("'ranks' must be 1 for a server") != std::string::npos, two.status().message().c_str());

    // Bad settings are refused before anything runs, naming the field.
    req.target = LaunchTarget{};
    for (const auto& [bad, field] : std::vector<std::pair<Json, std::string>>{
             {Json{{"port", 8080}}, "'model' is required"},
             {Json{{"model", "/m"}, {"port", 70000}}, "'port' must be in [0, 65535]"},
             {Json{{"model", "/m"}, {"weights", "q3"}}, "'weights'"},
             {Json{{"model", "/m"}, {"prot", 1}}, "'prot' is not a known field"},
             {Json::array(), "not a JSON object"}}) {
      req.serve = bad;
      auto p = planLaunch(req);
      QVERIFY2(!p.is_ok(), bad.dump().c_str());
      QVERIFY2(p.status().message().find(field) != std::string::npos, p.status().message().c_str());
    }
  }

  void fileTailPartialLinesTruncationReplacement() {
    const QString path = tmp_.filePath(QStringLiteral("tail.jsonl"));
    FileTail tail(path.toStdString(), /*maxBytes=*/64);
    QVERIFY(!tail.read().exists);
    appendBytes(path, "line one\nline two\nline thr");
    TailChunk c = tail.read();
    QCOMPARE(QByteArray::fromStdString(c.data), QByteArray("line one\nline two\n"));
    QVERIFY(c.partialPending);
    QCOMPARE(c.firstLine, quint64(1));
    QVERIFY(tail.read().data.empty());  // the partial line is not consumed
    appendBytes(path, "ee\n");
    c = tail.read();
    QCOMPARE(QByteArray::fromStdString(c.data), QByteArray("line three\n"));
    QCOMPARE(c.firstLine, quint64(3));
    QVERIFY(!c.partialPending);
    // Chunked: 20 lines of 10 bytes come in pieces of at most 64 bytes, all of them.
    QByteArray many;
    for (int i = 0; i < 20; ++i) many += QStringLiteral("entry %1\n").arg(i, 3, 10, QLatin1Char('0')).toUtf8();
    appendBytes(path, many);
    QByteArray got;
    int reads = 0;
    do {
      c = tail.read();
      got += QByteArray::fromStdString(c.data);
      ++reads;
    } while (c.more);
    QCOMPARE(got, many);
    QVERIFY(reads >= 4);
    // Truncated (a run folder reused): read again from the start, flagged.
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    f.write("new\n");
    f.close();
    c = tail.read();
    QVERIFY(c.reset);
    QCOMPARE(QByteArray::fromStdString(c.data), QByteArray("new\n"));
    QCOMPARE(c.firstLine, quint64(1));
    // Replaced by another file at least as long: the inode tells.
    const QString other = tmp_.filePath(QStringLiteral("tail2.jsonl"));
    appendBytes(other, "replaced one\nreplaced two\n");
    QVERIFY(::rename(other.toLocal8Bit().constData(), path.toLocal8Bit().constData()) == 0);
    c = tail.read();
    QVERIFY(c.reset);
    QCOMPARE(QByteArray::fromStdString(c.data), QByteArray("replaced one\nreplaced two\n"));
    // A line longer than a chunk is cut instead of stalling the tail.
    appendBytes(path, QByteArray(150, 'x') + "\nafter\n");
    QByteArray rest;
    bool oversized = false;
    do {
      c = tail.read();
      rest += QByteArray::fromStdString(c.data);
      oversized |= c.oversizedLine;
    } while (c.more);
    QVERIFY(oversized);
    QVERIFY(rest.endsWith("after\n"));
  }

  void followerDeliversEveryLine() {
    const QString path = tmp_.filePath(QStringLiteral("follow/events.jsonl"));
    FileFollower follower(path, nullptr, /*pollIntervalMs=*/50);
    RunSeries series;
    QObject::connect(&follower, &FileFollower::linesRead, [&](const QByteArray& data, quint64 first) {
      for (const auto& e : parseEventLines(data, first).events) series.add(e);
    });
    QSignalSpy resets(&follower, &FileFollower::reset);
    follower.start();
    QDir().mkpath(tmp_.filePath(QStringLiteral("follow")));  // the folder appears after following started
    QByteArray batch;
    for (int s = 1; s <= 300; ++s) batch += metricLine(s, 5.0 - s * 0.01);
    const QByteArray line301 = metricLine(301, 1.0);
    appendBytes(path, batch + line301.left(20));  // ends mid-line
    QTRY_COMPARE(series.pointCount(QStringLiteral("loss")), 300);
    QVERIFY(follower.partialPending());
    appendBytes(path, line301.mid(20));
    QTRY_COMPARE(series.pointCount(QStringLiteral("loss")), 301);
    QCOMPARE(series.metrics()[QStringLiteral("loss")].values.back(), 1.0);
    QCOMPARE(resets.count(), 0);
    // Truncation: reset, then the new content.
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    f.write(metricLine(1, 9.0));
    f.close();
    QTRY_COMPARE(resets.count(), 1);
    follower.stop();
  }

  void runSeriesKeepsEveryPointAndRewindsOnResume() {
    RunSeries s;
    for (int step = 1; step <= 10; ++step) s.add(parseEvent(metricLine(step, 10 - step)));
    QCOMPARE(s.pointCount(QStringLiteral("loss")), 10);
    QCOMPARE(s.pointCount(QStringLiteral("lr")), 10);
    // The run was killed at step 10 and resumed from its checkpoint at step 6.
    for (int step = 7; step <= 12; ++step) s.add(parseEvent(metricLine(step, 100 + step)));
    const MetricPoints& loss = s.metrics()[QStringLiteral("loss")];
    QCOMPARE(loss.steps.size(), 12);
    QCOMPARE(loss.steps[6], 7.0);
    QCOMPARE(loss.values[6], 107.0);
    QVERIFY(std::is_sorted(loss.steps.begin(), loss.steps.end()));
    QVERIFY(s.rewinds() > 0);
    // Other event types become log lines.
    s.add(parseEvent("{\"type\":\"state\",\"state\":\"failed\",\"reason\":\"loss is not finite\"}\n"));
    s.add(parseEvent("{\"type\":\"log\",\"level\":\"warning\",\"message\":\"skipped\",\"step\":13}\n"));
    QCOMPARE(s.lastState().value_or(QString()), QStringLiteral("failed"));
    QCOMPARE(RunSeries::formatLog(s.log().back()), QStringLiteral("[step 13] warning: skipped"));
    // Corrupt lines are reported with their line numbers.
    const ParsedEvents p = parseEventLines("{\"type\":\"log\"}\nnot json\n\n{\"no_type\":1}\n", 7);
    QCOMPARE(p.events.size(), size_t(1));
    QCOMPARE(p.corrupt.size(), 2);
    QVERIFY2(p.corrupt[0].startsWith(QStringLiteral("line 8")), qPrintable(p.corrupt[0]));
    QVERIFY2(p.corrupt[1].startsWith(QStringLiteral("line 10")), qPrintable(p.corrupt[1]));
  }

  void notificationDecisions() {
    QCOMPARE(chooseNotificationChannel({true, true}), NotificationChannel::Tray);
    QCOMPARE(chooseNotificationChannel({true, false}), NotificationChannel::Tray);
    QCOMPARE(chooseNotificationChannel({false, true}), NotificationChannel::DBus);
    QCOMPARE(chooseNotificationChannel({false, false}), NotificationChannel::Banner);

    FinishWatcher w;
    // First sight: old news is not replayed.
    QVERIFY(w.update({row(1, QStringLiteral("finished")), row(2, QStringLiteral("running")), row(3, QStringLiteral("running")),
                      row(4, QStringLiteral("queued"))})
                .isEmpty());
    RunRow failed = row(3, QStringLiteral("failed"));
    failed.reason = QStringLiteral("killed by signal 9 (SIGKILL)");
    RunRow finished = row(2, QStringLiteral("finished"));
    finished.lastStep = 260;
    finished.lastLoss = 3.25;
    const auto n = w.update({row(1, QStringLiteral("finished")), finished, failed, row(4, QStringLiteral("cancelled"))});
    QCOMPARE(n.size(), 2);  // the cancelled one was the user's own doing
    QCOMPARE(n[0].title, QStringLiteral("Run 2 finished"));
    QVERIFY(!n[0].failed);
    QVERIFY2(n[0].body.contains(QStringLiteral("step 260")) && n[0].body.contains(QStringLiteral("3.2500")), qPrintable(n[0].body));
    QCOMPARE(n[1].title, QStringLiteral("Run 3 failed"));
    QVERIFY(n[1].failed);
    QVERIFY(n[1].body.contains(QStringLiteral("SIGKILL")));
    // Once only.
    QVERIFY(w.update({finished, failed}).isEmpty());
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestJobsPluginModel)
#include "test_jobsplugin_model.moc"
