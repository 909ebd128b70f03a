// `kanana workspace ...` end to end through the real binary: exit codes (0 ok, 1 failure,
// 2 usage), what `info` prints, and clear errors for corrupt and newer-schema databases.
#include <QProcess>
#include <QtTest>

#include "store/migrations.h"
#include "store/workspace.h"
#include "test_support.h"
#include "test_support_store.h"

using namespace kanana;
using namespace kanana::store;
using kanana::test::to_path;
namespace fs = std::filesystem;

namespace {

struct Run {
  int code = -1;
  QString out;
  QString err;
};

Run kanana_run(const QStringList& args) {
  QProcess p;
  p.start(kanana::test::bin_path("kanana"), args);
  Run r;
  if (!p.waitForFinished(60000)) {
    p.kill();
    r.err = "timed out";
    return r;
  }
  r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
  r.out = QString::fromUtf8(p.readAllStandardOutput());
  r.err = QString::fromUtf8(p.readAllStandardError());
  return r;
}

}  // namespace

class TestWorkspaceCli : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  QString ws_;

 private Q_SLOTS:
  void initTestCase() {
    if (!QFileInfo::exists(kanana::test::bin_path("kanana")))
      QSKIP("the kanana binary is not built (KANANA_BUILD_DIR/bin/kanana)");
    ws_ = tmp_.path() + "/ws";
  }

  void usageErrorsExitTwo() {
    Run none = kanana_run({"workspace", "init"});
    QCOMPARE(none.code, 2);
    Run extra = kanana_run({"workspace", "info", "a", "b"});
    QCOMPARE(extra.code, 2);
    Run no_id = kanana_run({"workspace", "lineage", ws_, "--kind", "run"});
    QCOMPARE(no_id.code, 2);
    QVERIFY2(no_id.err.contains("--id"), qPrintable(no_id.err));
    Run bad_kind = kanana_run({"workspace", "lineage", ws_, "--kind", "spaceship", "--id", "1"});
    QCOMPARE(bad_kind.code, 2);
    QVERIFY2(bad_kind.err.contains("spaceship"), qPrintable(bad_kind.err));
    Run bad_id = kanana_run({"workspace", "lineage", ws_, "--kind", "run", "--id", "x1"});
    QCOMPARE(bad_id.code, 2);
    QVERIFY2(bad_id.err.contains("--id"), qPrintable(bad_id.err));
  }

  void initInfoCheckLineage() {
    Run init = kanana_run({"workspace", "init", ws_, "--name", "bilingual"});
    QVERIFY2(init.code == 0, qPrintable(init.err));
    QVERIFY(init.out.contains("created workspace 'bilingual'"));
    Run twice = kanana_run({"workspace", "init", ws_});
    QCOMPARE(twice.code, 1);
    QVERIFY2(twice.err.contains("already exists"), qPrintable(twice.err));

    {  // A little lineage through the library, then read it back through the CLI.
      auto ws = Workspace::open(to_path(ws_));
      QVERIFY2(ws.is_ok(), ws.status().to_string().c_str());
      DatasetRecord d;
      d.name = "ko-web";
      d.path = "data/ko-web.jsonl";
      const int64_t data = *(*ws)->add_dataset(d);
      const int64_t run = *(*ws)->add_run({.name = "pretrain", .kind = "pretrain"});
      const int64_t ckpt = *(*ws)->add_checkpoint({.run_id = run, .name = "base", .path = "models/base"});
      QVERIFY((*ws)->add_lineage({"dataset", data}, {"run", run}, "trained").is_ok());
      QVERIFY((*ws)->add_lineage({"run", run}, {"checkpoint", ckpt}, "produced").is_ok());
    }

    Run info = kanana_run({"workspace", "info", ws_});
    QVERIFY2(info.code == 0, qPrintable(info.err));
    QVERIFY(info.out.contains("workspace: bilingual"));
    QVERIFY(info.out.contains(QString("schema version: %1").arg(latest_schema_version())));
    QVERIFY(info.out.contains("journal mode: wal"));
    QVERIFY(info.out.contains("runs: " + QDir(ws_).absolutePath() + "/runs"));
    QVERIFY(QRegularExpression(R"(\n  datasets\s+1\n)").match(info.out).hasMatch());
    QVERIFY(QRegularExpression(R"(\n  lineage\s+2\n)").match(info.out).hasMatch());

    Run check = kanana_run({"workspace", "check", ws_});
    QVERIFY2(check.code == 0, qPrintable(check.err));
    QVERIFY(check.out.contains("integrity: ok"));

    Run up = kanana_run({"workspace", "lineage", ws_, "--kind", "checkpoint", "--id", "1", "--direction", "up"});
    QVERIFY2(up.code == 0, qPrintable(up.err));
    QVERIFY2(up.out.contains("upstream of checkpoint 1: 2"), qPrintable(up.out));
    QVERIFY(up.out.contains("dataset 1 --trained--> run 1"));
    QVERIFY(!up.out.contains("downstream"));
    Run down = kanana_run({"workspace", "lineage", ws_, "--kind", "dataset", "--id", "1"});
    QVERIFY(down.out.contains("downstream of dataset 1: 2"));
    QVERIFY(down.out.contains("run 1 --produced--> checkpoint 1"));
  }

  void refusesCorruptAndNewerDatabases() {
    const QString corrupt = tmp_.path() + "/corrupt";
    QCOMPARE(kanana_run({"workspace", "init", corrupt}).code, 0);
    kanana::test::write_bytes(to_path(corrupt) / "workspace.db", QByteArray(4096, 'z'));
    Run info = kanana_run({"workspace", "info", corrupt});
    QCOMPARE(info.code, 1);
    QVERIFY2(info.err.contains("workspace.db is not a valid SQLite database"), qPrintable(info.err));
    Run check = kanana_run({"workspace", "check", corrupt});
    QCOMPARE(check.code, 1);

    const QString newer = tmp_.path() + "/newer";
    {
      auto ws = Workspace::create(to_path(newer), "newer");
      QVERIFY(ws.is_ok());
      QVERIFY((*ws)->db().set_user_version(latest_schema_version() + 1).is_ok());
    }
    Run refused = kanana_run({"workspace", "info", newer});
    QCOMPARE(refused.code, 1);
    QVERIFY2(refused.err.contains("upgrade Kanana Workbench"), qPrintable(refused.err));
    Run missing = kanana_run({"workspace", "info", tmp_.path() + "/missing"});
    QCOMPARE(missing.code, 1);
    QVERIFY(missing.err.contains("no workspace folder"));
  }

  // `workspace record` / `link` put a script's files into the lineage; `lineage --node` walks it
  // by path; every command says which workspace it used and why.
  void recordLinkLineageAndTheWorkspaceConvention() {
    const QString ws = tmp_.path() + "/rec";
    QCOMPARE(kanana_run({"workspace", "init", ws}).code, 0);
    const QString corpus = tmp_.path() + "/corpus.jsonl", kept = tmp_.path() + "/kept.jsonl";
    kanana::test::write_bytes(to_path(corpus), "{\"text\": \"a\"}\n\n{\"text\": \"b\"}\n");
    kanana::test::write_bytes(to_path(kept), "{\"text\": \"a\"}\n");
    Run a = kanana_run({"workspace", "record", "dataset", corpus, "-w", ws});
    QVERIFY2(a.code == 0 && a.out.startsWith("dataset 1 (corpus.jsonl, corpus)"), qPrintable(a.out + a.err));
    const QStringList derive = {"workspace", "record", "dataset", kept, "--dataset-kind", "filtered", "--from", corpus,
                                "--relation", "filtered", "-w", ws};
    Run b = kanana_run(derive);
    QVERIFY2(b.code == 0 && b.out.startsWith("dataset 2 (kept.jsonl, filtered)"), qPrintable(b.out + b.err));
    QVERIFY(kanana_run(derive).out.startsWith("dataset 2"));  // recorded once
    {
      auto w = Workspace::open(to_path(ws), {.read_only = true});
      QCOMPARE((*w)->get_dataset(1)->doc_count, int64_t(2));  // non-empty lines
      QCOMPARE((*w)->lineage_edges({"dataset", 2})->size(), size_t(1));
    }
    Run unknown = kanana_run({"workspace", "record", "dataset", kept, "--from", tmp_.path() + "/nope.jsonl", "-w", ws});
    QCOMPARE(unknown.code, 1);
    QVERIFY2(unknown.err.contains("is not a recorded dataset"), qPrintable(unknown.err));
    Run link = kanana_run({"workspace", "link", corpus, "run:99", "-w", ws});
    QCOMPARE(link.code, 1);  // run 99 does not exist
    Run up = kanana_run({"workspace", "lineage", "--node", kept, "--direction", "up", "-w", ws});
    QVERIFY2(up.code == 0 && up.out.contains("dataset 1 (corpus.jsonl, corpus)") &&
                 up.out.contains("dataset 1 --filtered--> dataset 2"),
             qPrintable(up.out + up.err));

    // KANANA_WORKSPACE, then the current folder; each named on stderr.
    auto run_in = [&](const QString& dir, const QString& env_ws) {
      QProcess p;
      QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
      env.remove("KANANA_WORKSPACE");
      if (!env_ws.isEmpty()) env.insert("KANANA_WORKSPACE", env_ws);
      env.insert("KANANA_DEMO_WORKSPACE", tmp_.path() + "/no-demo-here");
      p.setProcessEnvironment(env);
      p.setWorkingDirectory(dir);
      p.start(kanana::test::bin_path("kanana"), {"workspace", "info"});
      p.waitForFinished(60000);
      return std::make_pair(p.exitCode(), QString::fromUtf8(p.readAllStandardError()));
    };
    const QString abs = QDir(ws).absolutePath();
    auto [env_code, env_err] = run_in(tmp_.path(), ws);
    QVERIFY2(env_code == 0 && env_err.contains("workspace: " + abs + " (KANANA_WORKSPACE)"), qPrintable(env_err));
    auto [cwd_code, cwd_err] = run_in(ws, QString());
    QVERIFY2(cwd_code == 0 && cwd_err.contains("workspace: " + abs + " (current folder)"), qPrintable(cwd_err));
    auto [none_code, none_err] = run_in(tmp_.path(), QString());
    QCOMPARE(none_code, 1);  // not a workspace, and no demo workspace
    QVERIFY2(none_err.contains("no workspace"), qPrintable(none_err));
  }

  void demoCommandRegistersTheCache() {
    const QString cache = tmp_.path() + "/cache";
    QDir().mkpath(cache + "/corpora");
    kanana::test::write_bytes(to_path(cache) / "corpora/mini.jsonl", "{\"text\": \"a\"}\n{\"text\": \"b\"}\n");
    const QString demo = tmp_.path() + "/demo";
    Run first = kanana_run({"workspace", "demo", "--dir", demo, "--data-cache", cache});
    QVERIFY2(first.code == 0, qPrintable(first.err));
    QVERIFY(first.out.contains("created demo workspace"));
    QVERIFY(first.out.contains("added dataset mini"));
    Run second = kanana_run({"workspace", "demo", "--dir", demo, "--data-cache", cache});
    QCOMPARE(second.code, 0);
    QVERIFY(second.out.contains("nothing new to register"));
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestWorkspaceCli)
#include "test_workspace_cli.moc"
