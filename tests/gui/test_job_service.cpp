// The workbench's job service (gui/sdk/job_service.h): real `kanana` jobs launched through the
// run registry of a real workspace, their files written before the start, the states a poll
// reports (finished, failed with its reason, cancelled), and one service for every plugin —
// the real Jobs and Evaluation plugins, loaded by the plugin manager, share the context's.
#include <QFile>
#include <QListWidget>
#include <QSettings>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>

#include "test_support.h"
#include "sdk/job_service.h"
#include "sdk/plugin_manager.h"
#include "sdk/workbench_context.h"
#include "store/workspace.h"

using namespace kanana;

namespace {

// The state of `id` in the service's latest listing ("" when not listed).
QString stateOf(const gui::JobService& jobs, qint64 id) {
  for (const gui::RunInfo& r : jobs.runs())
    if (r.id == id) return r.state;
  return {};
}

}  // namespace

class TestJobService : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  QString ws_;

  gui::JobLaunch kananaLaunch(const QString& name, const std::vector<std::string>& command) const {
    gui::JobLaunch l;
    l.spec.name = name.toStdString();
    l.spec.kind = "data";
    l.spec.command = command;
    l.localDir = ws_ + QStringLiteral("/runs/") + name;
    l.spec.run_dir = l.localDir.toStdString();
    return l;
  }

  // A service on the test workspace that polls every 100 ms while a run is active.
  std::unique_ptr<gui::JobService> makeService() const {
    auto jobs = std::make_unique<gui::JobService>();
    jobs->setKananaBinary(test::bin_path(QStringLiteral("kanana")));
    jobs->setPollIntervals(100, 0);
    jobs->setWorkspace(ws_);
    return jobs;
  }

  // Launches and returns the run id (0 on failure, with the failure reported).
  qint64 launchAndWait(gui::JobService& jobs, const gui::JobLaunch& launch) {
    QSignalSpy launched(&jobs, &gui::JobService::launched);
    QSignalSpy failed(&jobs, &gui::JobService::launchFailed);
    const quint64 ticket = jobs.launch(launch);
    if (!QTest::qWaitFor([&] { return !launched.isEmpty() || !failed.isEmpty(); }, 20000)) return 0;
    if (!failed.isEmpty()) {
      qWarning() << failed.first().at(1).toString();
      return 0;
    }
    if (launched.first().at(0).toULongLong() != ticket) return 0;
    return launched.first().at(1).toLongLong();
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    ws_ = tmp_.filePath(QStringLiteral("ws"));
    auto ws = store::Workspace::create(ws_.toStdString(), "job service test");
    QVERIFY2(ws.is_ok(), ws.status().to_string().c_str());
    if (!QFile::exists(test::bin_path(QStringLiteral("kanana")))) QSKIP("kanana executable not built");
  }

  void launchesARealKananaJobAndReportsItsStates() {
    auto jobs = makeService();
    QSignalSpy states(jobs.get(), &gui::JobService::runStateChanged);
    auto launch = kananaLaunch(QStringLiteral("tiny-model"),
                               {"kanana", "model", "init", "--preset", "debug", "--out", "{run_dir}/model"});
    launch.files = {{QStringLiteral("note.txt"), QByteArrayLiteral("written before the job starts\n")}};
    const qint64 id = launchAndWait(*jobs, launch);
    QVERIFY(id > 0);
    QFile note(launch.localDir + QStringLiteral("/note.txt"));
    QVERIFY(note.open(QIODevice::ReadOnly));
    QCOMPARE(note.readAll(), QByteArrayLiteral("written before the job starts\n"));
    // The service polls by itself until the run is over.
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(*jobs, id), QStringLiteral("finished"), 60000);
    QVERIFY(QFile::exists(launch.localDir + QStringLiteral("/model/config.json")));
    bool sawFinished = false;
    for (const auto& s : states) {
      if (s.at(0).toLongLong() != id) continue;
      QCOMPARE(s.at(1).toString(), QStringLiteral("data"));
      sawFinished = sawFinished || s.at(2).toString() == QLatin1String("finished");
    }
    QVERIFY(sawFinished);
    QVERIFY(!jobs->hasActiveRuns());
    // The run is in the workspace, as the CLI would see it.
    auto ws = store::Workspace::open(ws_.toStdString());
    QVERIFY(ws.is_ok());
    auto run = (*ws)->get_run(id);
    QVERIFY(run.is_ok());
    QCOMPARE(run->state, store::RunState::kFinished);
  }

  void aFailingJobReportsItsReason() {
    auto jobs = makeService();
    const qint64 id = launchAndWait(
        *jobs, kananaLaunch(QStringLiteral("bad-preset"),
                            {"kanana", "model", "init", "--preset", "no-such-preset", "--out", "{run_dir}/model"}));
    QVERIFY(id > 0);
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(*jobs, id), QStringLiteral("failed"), 60000);
    for (const gui::RunInfo& r : jobs->runs())
      if (r.id == id) QVERIFY2(!r.reason.isEmpty(), "a failed run says why");
  }

  void cancelStopsARunningJob() {
    auto jobs = makeService();
    auto launch = kananaLaunch(QStringLiteral("long"), {"/bin/sleep", "60"});
    const qint64 id = launchAndWait(*jobs, launch);
    QVERIFY(id > 0);
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(*jobs, id), QStringLiteral("running"), 20000);
    QSignalSpy done(jobs.get(), &gui::JobService::actionFinished);
    jobs->cancel(id);
    QTRY_VERIFY_WITH_TIMEOUT(!done.isEmpty(), 20000);
    QCOMPARE(done.first().at(0).toString(), QStringLiteral("cancel"));
    QCOMPARE(done.first().at(1).toLongLong(), id);
    QCOMPARE(done.first().at(3).toString(), QString());
    QTRY_COMPARE_WITH_TIMEOUT(stateOf(*jobs, id), QStringLiteral("cancelled"), 20000);
  }

  void launchWithoutWorkspaceFails() {
    gui::JobService jobs;
    QSignalSpy failed(&jobs, &gui::JobService::launchFailed);
    const quint64 ticket = jobs.launch(kananaLaunch(QStringLiteral("nowhere"), {"kanana", "--version"}));
    QTRY_VERIFY(!failed.isEmpty());
    QCOMPARE(failed.first().at(0).toULongLong(), ticket);
    QVERIFY(failed.first().at(1).toString().contains(QStringLiteral("no workspace")));
  }

  void everyPluginGetsTheContextsService() {
    QSettings settings(tmp_.filePath(QStringLiteral("settings.ini")), QSettings::IniFormat);
    gui::WorkbenchContext context(&settings);
    QVERIFY(context.openWorkspace(ws_, nullptr));
    gui::PluginManager manager(&context, &settings);
    manager.setPluginPaths({QStringLiteral(KANANA_APP_PLUGIN_DIR)});
    manager.scan();
    manager.resolve();
    manager.loadPlugins();
    QWidget* jobsPage = nullptr;
    QWidget* evalPage = nullptr;
    QWidget host;
    QVERIFY(context.findChildren<gui::JobService*>().isEmpty());  // made on first use
    for (const gui::PageInfo& p : manager.pages()) {
      if (p.id == QLatin1String("jobs.main")) jobsPage = p.create(&host);
      if (p.id == QLatin1String("evaluation.main")) evalPage = p.create(&host);
    }
    QVERIFY2(jobsPage && evalPage, "the Jobs and Evaluation plugins are built and load");
    // One service, the context's; neither page made its own.
    QCOMPARE(context.findChildren<gui::JobService*>().size(), 1);
    QVERIFY(jobsPage->findChildren<gui::JobService*>().isEmpty());
    QVERIFY(evalPage->findChildren<gui::JobService*>().isEmpty());
    gui::JobService* jobs = context.jobService();
    QCOMPARE(context.jobService(), jobs);
    QCOMPARE(jobs->workspacePath(), context.workspacePath());
    // A run launched through it shows on both pages: the Jobs queue, and the Evaluation
    // page's list of eval runs.
    jobs->setKananaBinary(test::bin_path(QStringLiteral("kanana")));
    jobs->setPollIntervals(100, 1000);
    auto launch = kananaLaunch(QStringLiteral("shared"), {"kanana", "--version"});
    launch.spec.kind = "eval";
    const qint64 id = launchAndWait(*jobs, launch);
    QVERIFY(id > 0);
    auto* queue = jobsPage->findChild<QTableView*>(QStringLiteral("runsTable"));
    auto* evalRuns = evalPage->findChild<QListWidget*>(QStringLiteral("evalRuns"));
    QVERIFY(queue && evalRuns);
    auto queueHas = [&] {
      for (int r = 0; r < queue->model()->rowCount(); ++r)
        if (queue->model()->index(r, 0).data(Qt::UserRole + 1).toLongLong() == id) return true;  // RunsModel::RunIdRole
      return false;
    };
    QTRY_VERIFY_WITH_TIMEOUT(queueHas(), 20000);
    QTRY_VERIFY_WITH_TIMEOUT(evalRuns->count() > 0 && evalRuns->item(0)->text().startsWith(QStringLiteral("#%1 ").arg(id)), 20000);
    QTRY_VERIFY_WITH_TIMEOUT(evalRuns->item(0)->text().endsWith(QStringLiteral("finished")), 30000);
    // Switching the workspace moves the service along.
    const QString other = tmp_.filePath(QStringLiteral("other"));
    QVERIFY(context.createWorkspace(other, QStringLiteral("other"), nullptr));
    QCOMPARE(jobs->workspacePath(), context.workspacePath());
    QTRY_COMPARE(evalRuns->count(), 0);
    delete jobsPage;
    delete evalPage;
    manager.shutdown();
  }
};

#include "test_main.h"
KANANA_TEST_MAIN(TestJobService)
#include "test_job_service.moc"
