// `kanana runs ...` end to end through the real binary: a job spec is launched detached and
// recorded in the workspace, `runs tail --follow` prints its events until it ends and exits
// with how it ended (0 finished, 1 failed or cancelled), `runs list`/`show` see the result.
#include <QFile>
#include <QtTest>

#include "test_support.h"

using kanana::test::run_kanana;

class TestRunsCli : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  QString ws_;

  // A job spec whose single rank runs `script` in the run folder.
  QString writeSpec(const QString& name, const QString& script) {
    const QString file = tmp_.filePath(name + ".json");
    QFile f(file);
    if (!f.open(QIODevice::WriteOnly)) return {};
    QJsonObject spec{{"name", name},
                     {"kind", "pretrain"},
                     {"command", QJsonArray{"/bin/sh", "-c", script}}};
    f.write(QJsonDocument(spec).toJson());
    return file;
  }

  // "run 3 launched: /path" -> "3"
  static QString launchedId(const QString& out) {
    const auto m = QRegularExpression(QStringLiteral("run (\\d+) launched: ")).match(out);
    return m.hasMatch() ? m.captured(1) : QString();
  }

 private Q_SLOTS:
  void initTestCase() {
    if (!QFileInfo::exists(kanana::test::bin_path("kanana")))
      QSKIP("the kanana binary is not built (KANANA_BUILD_DIR/bin/kanana)");
    ws_ = tmp_.filePath("ws");
    auto init = run_kanana({"workspace", "init", ws_});
    QVERIFY2(init.code == 0, qPrintable(init.err));
  }

  void followExitsWithTheRunsOutcome() {
    const QString ok = writeSpec(
        "ok", "echo '{\"type\":\"metric\",\"step\":1,\"metrics\":{\"loss\":4.5}}' >> events.jsonl; "
              "sleep 1; echo '{\"type\":\"metric\",\"step\":2,\"metrics\":{\"loss\":3.25}}' >> events.jsonl");
    auto launched = run_kanana({"runs", "launch", "--spec", ok, "--workspace", ws_});
    QVERIFY2(launched.code == 0, qPrintable(launched.err));
    const QString okId = launchedId(launched.out);
    QVERIFY2(!okId.isEmpty(), qPrintable(launched.out));
    auto tail = run_kanana({"runs", "tail", okId, "--follow", "--interval", "0.2", "--workspace", ws_}, 60000);
    QVERIFY2(tail.code == 0, qPrintable(tail.out + tail.err));
    // Both metrics, the second written a second after the tail started following.
    QVERIFY2(tail.out.contains("loss=4.5"), qPrintable(tail.out));
    QVERIFY2(tail.out.contains("3.25"), qPrintable(tail.out));
    QVERIFY2(tail.err.contains("run finished"), qPrintable(tail.err));

    const QString bad = writeSpec("bad", "echo broken >&2; exit 3");
    launched = run_kanana({"runs", "launch", "--spec", bad, "--workspace", ws_});
    QVERIFY2(launched.code == 0, qPrintable(launched.err));
    const QString badId = launchedId(launched.out);
    tail = run_kanana({"runs", "tail", badId, "--follow", "--interval", "0.2", "--workspace", ws_}, 60000);
    QCOMPARE(tail.code, 1);
    QVERIFY2(tail.err.contains("run failed"), qPrintable(tail.err));

    // Without --follow the tail prints what is there and succeeds whatever the outcome.
    tail = run_kanana({"runs", "tail", badId, "--workspace", ws_});
    QCOMPARE(tail.code, 0);

    auto list = run_kanana({"runs", "list", "--all", "--workspace", ws_});
    QVERIFY2(list.code == 0, qPrintable(list.err));
    QVERIFY2(list.out.contains("finished") && list.out.contains("failed"), qPrintable(list.out));
    auto show = run_kanana({"runs", "show", badId, "--workspace", ws_});
    QVERIFY2(show.code == 0, qPrintable(show.err));
    QVERIFY2(show.out.contains("failed"), qPrintable(show.out));
    QVERIFY2(show.out.contains("broken"), qPrintable(show.out));  // the tail of the rank's log
  }

  void unknownRunIsAnError() {
    auto tail = run_kanana({"runs", "tail", "9999", "--follow", "--workspace", ws_});
    QCOMPARE(tail.code, 1);
    QVERIFY2(tail.err.contains("9999"), qPrintable(tail.err));
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestRunsCli)
#include "test_runs_cli.moc"
