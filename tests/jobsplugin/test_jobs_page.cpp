// The Jobs page offscreen, on a real workspace: the recipe editor names the bad field while
// typing; a chart receives every point of an events.jsonl written piece by piece (partial
// last lines included) and shows each point once zoomed in; a page destroyed and created
// again re-attaches to a running job and keeps tailing it, while a job whose process died
// without a final state shows as failed; and a real tiny training run launched from the page
// finishes with its curve charted and a notification; a model served as a job from the page
// answers over HTTP at the URL the page shows, and stops when the run is stopped.
#include <httplib.h>

#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QProcess>
#include <QSettings>
#include <QRegularExpression>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QTextBlock>
#include <QtTest>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "../shards/shard_test_util.h"
#include "events_fixture.h"
#include "desktop_notifier.h"
#include "jobs/job_status.h"
#include "jobs/local_launcher.h"
#include "jobs/run_registry.h"
#include "jobs_page.h"
#include "recipe_editor.h"
#include "sdk/options_form.h"
#include "run_charts.h"
#include "sdk/workbench_context.h"
#include "store/workspace.h"
#include "target_picker.h"
#include "test_support.h"

using namespace kanana;
using namespace kanana::jobsplugin;
using kanana::test::appendBytes;
namespace fs = std::filesystem;

namespace {

QByteArray fullMetricLine(int step, double loss) {
  return QStringLiteral("{\"type\":\"metric\",\"step\":%1,\"metrics\":{\"loss\":%2,\"lr\":0.001,\"grad_norm\":1.5,"
                        "\"tokens_per_s\":1000,\"mfu\":0.1}}\n")
      .arg(step)
      .arg(loss)
      .toUtf8();
}

// A run recorded as running whose "supervisor" is `pid` (this test process: alive; a reaped
// child: dead), with its events in `dir`.
int64_t recordRun(store::Workspace& ws, const QString& name, const fs::path& dir, int64_t pid) {
  fs::create_directories(dir);
  jobs::JobSpec spec;
  spec.name = name.toStdString();
  spec.command = {"/bin/true"};
  spec.run_dir = dir.string();
  jobs::JobHandle h;
  h.name = spec.name;
  h.run_dir = dir.string();
  h.local_dir = dir.string();
  h.pid = pid;
  h.pid_start_time = jobs::process_start_time(pid);
  h.host = jobs::local_host_name();
  h.started_at = jobs::unix_time_now();
  h.command = spec.command;
  jobs::RunRegistry registry(ws);
  auto id = registry.record(spec, h);
  return id.is_ok() ? *id : 0;
}

}  // namespace

class TestJobsPage : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  std::unique_ptr<QSettings> settings_;
  std::unique_ptr<gui::WorkbenchContext> context_;
  std::shared_ptr<store::Workspace> ws_;
  QString recipe_;  // a tiny valid recipe file (debug model, synthetic pack)

  std::unique_ptr<JobsPage> makePage() {
    auto page = std::make_unique<JobsPage>(context_.get());
    page->setConfirmActions(false);
    page->notifier()->setCapabilities(NotificationCapabilities{});  // no desktop here: banner
    page->setRefreshInterval(200, 1000);
    page->resize(1300, 850);
    page->show();
    return page;
  }

  const RunRow* rowOf(JobsPage& page, qint64 id) { return page.runsModel()->run(id); }

  // Launches what the page shows: the new run's id, or 0 with *why set.
  qint64 launchFromPage(JobsPage& page, QString* why) {
    QSignalSpy launched(&page, &JobsPage::runLaunched);
    QSignalSpy failed(&page, &JobsPage::launchFailed);
    if (!page.launchCurrent(why)) return 0;
    QTest::qWaitFor([&] { return !launched.isEmpty() || !failed.isEmpty(); }, 20000);
    if (!failed.isEmpty()) *why = failed.first().first().toString();
    if (launched.isEmpty() && failed.isEmpty()) *why = QStringLiteral("no launch result after 20 s");
    return launched.isEmpty() ? 0 : launched.first().first().toLongLong();
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    QStandardPaths::setTestModeEnabled(true);
    settings_ = std::make_unique<QSettings>(tmp_.filePath(QStringLiteral("settings.ini")), QSettings::IniFormat);
    context_ = std::make_unique<gui::WorkbenchContext>(settings_.get());
    auto ws = store::Workspace::create(tmp_.filePath(QStringLiteral("ws")).toStdString(), "jobs page test");
    QVERIFY2(ws.is_ok(), ws.status().to_string().c_str());
    ws_ = std::shared_ptr<store::Workspace>(std::move(ws).value());
    context_->setWorkspace(ws_);

    const fs::path data = tmp_.filePath(QStringLiteral("data")).toStdString();
    auto m = shards::test::write_synthetic_pack(data / "packs" / "src", shards::test::synthetic_docs(300, 3, 512, 5, 40), "src",
                                                1 << 20, 10, "fp-test", 512);
    QVERIFY2(m.is_ok(), m.status().message().c_str());
    // 12 steps of 2×16 tokens, a validation every 4 steps, no GEMM measurement at start.
    recipe_ = tmp_.filePath(QStringLiteral("data/tiny-test.json"));
    std::ofstream(recipe_.toStdString()) << R"({
  "type": "pretrain",
  "name": "tiny-test",
  "model": {"preset": "debug"},
  "seq_len": 16,
  "micro_batch_size": 2,
  "stages": [{"name": "stage1", "token_budget": 384,
              "sources": [{"name": "src", "path": "packs/src", "weight": 1.0}],
              "schedule": {"kind": "cosine", "peak_lr": 1e-3, "warmup_steps": 2}}],
  "validation": {"interval": 4, "batches": 1},
  "runtime": {"peak_tflops": 1.0, "log_interval": 1}
}
)";
  }

  void editorNamesTheFieldWhileTyping() {
    auto page = makePage();
    RecipeEditor* editor = page->recipeEditor();
    QString error;
    QVERIFY2(editor->loadFile(recipe_, &error), qPrintable(error));
    QVERIFY2(editor->lastCheck().ok, qPrintable(editor->lastCheck().message));
    QTRY_VERIFY(page->launchButton()->isEnabled());
    // Type: seq_len 16 → 0 (select "16", type "0").
    QPlainTextEdit* edit = editor->textEdit();
    QString text = edit->toPlainText();
    const int at = int(text.indexOf(QStringLiteral("\"seq_len\": 16"))) + 11;
    QTextCursor cursor(edit->document());
    cursor.setPosition(at);
    cursor.setPosition(at + 2, QTextCursor::KeepAnchor);
    edit->setTextCursor(cursor);
    edit->setFocus();
    QTest::keyClicks(edit, QStringLiteral("0"));
    // Not at once: after the debounce.
    QVERIFY(editor->lastCheck().ok);
    QTRY_VERIFY_WITH_TIMEOUT(!editor->lastCheck().ok, 2000);
    const QString status = editor->statusLabel()->text();
    QVERIFY2(status.contains(QStringLiteral("field seq_len")) && status.contains(QStringLiteral("must be >= 1")), qPrintable(status));
    QVERIFY2(status.contains(QStringLiteral("line 5")), qPrintable(status));
    const auto marks = edit->extraSelections();
    QCOMPARE(marks.size(), 1);
    QCOMPARE(marks[0].cursor.block().blockNumber(), 4);
    QVERIFY(!page->launchButton()->isEnabled());
    QString why;
    QVERIFY(!page->launchCurrent(&why));
    QVERIFY2(why.contains(QStringLiteral("seq_len")), qPrintable(why));
    // A nested field is named with its path.
    edit->setPlainText(text.replace(QStringLiteral("\"peak_lr\": 1e-3"), QStringLiteral("\"peak_lr\": 0")));
    QTRY_VERIFY(editor->statusLabel()->text().contains(QStringLiteral("stages[0].schedule.peak_lr")));
    // Fixed again.
    QVERIFY(editor->loadFile(recipe_, &error));
    QTRY_VERIFY(page->launchButton()->isEnabled());
    QVERIFY(editor->statusLabel()->text().startsWith(QStringLiteral("✓")));
  }

  void chartGetsEveryPointOfAGrowingFile() {
    const fs::path dir = tmp_.filePath(QStringLiteral("ws/runs/synthetic")).toStdString();
    const int64_t id = recordRun(*ws_, QStringLiteral("synthetic"), dir, ::getpid());  // "running": this process
    QVERIFY(id > 0);
    const QString events = QString::fromStdString((dir / "events.jsonl").string());
    auto page = makePage();
    QTRY_VERIFY(page->shownRuns().contains(id));  // an active run is attached on start
    RunCharts* charts = page->charts();
    // 2000 steps written in 40 pieces, each ending in the middle of a line.
    QByteArray all;
    for (int s = 1; s <= 2000; ++s) {
      all += fullMetricLine(s, 6.0 * std::exp(-s / 500.0) + 0.01 * (s % 7));
      if (s % 100 == 0) all += QStringLiteral("{\"type\":\"metric\",\"step\":%1,\"metrics\":{\"val_loss\":%2}}\n").arg(s).arg(3.0 - s / 1000.0).toUtf8();
    }
    const int pieces = 40;
    qsizetype written = 0;
    for (int i = 1; i <= pieces; ++i) {
      const qsizetype end = i == pieces ? all.size() : all.size() * i / pieces + 7;  // +7: mid-line
      appendBytes(events, all.mid(written, end - written));
      written = end;
      // The page keeps up: every complete line is charted, the partial one is not.
      const QByteArray done = all.left(written);
      const int complete = int(done.left(done.lastIndexOf('\n') + 1).count("\"loss\""));
      QTRY_COMPARE_WITH_TIMEOUT(charts->pointCount(id, QStringLiteral("loss")), complete, 5000);
    }
    QCOMPARE(charts->pointCount(id, QStringLiteral("loss")), 2000);
    for (const char* m : {"lr", "grad_norm", "tokens_per_s", "mfu"}) QCOMPARE(charts->pointCount(id, QLatin1String(m)), 2000);
    QCOMPARE(charts->pointCount(id, QStringLiteral("val_loss")), 20);
    // Dense: drawn as a min/max-per-pixel line; zoomed in: a dot for each step.
    charts->replotNow();
    QVERIFY(!charts->drawsEveryPoint(id, QStringLiteral("loss")));
    charts->zoomSteps(1000, 1040);
    QVERIFY(charts->drawsEveryPoint(id, QStringLiteral("loss")));
    QCOMPARE(charts->pointCount(id, QStringLiteral("loss")), 2000);  // zoom never drops data
    charts->followAll();
    QVERIFY(charts->following());
    // The file is truncated and rewritten (a run folder reused): the chart starts over.
    {
      QFile f(events);
      QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
      for (int s = 1; s <= 5; ++s) f.write(fullMetricLine(s, 1.0));
    }
    QTRY_COMPARE(charts->pointCount(id, QStringLiteral("loss")), 5);
    QTRY_VERIFY(page->eventsLog()->toPlainText().contains(QStringLiteral("truncated or replaced")));
    // End this run's "job" as the trainer would so it does not stay active for later tests.
    appendBytes(events, "{\"type\":\"state\",\"state\":\"finished\"}\n");
    jobs::RunRegistry registry(*ws_);
    QVERIFY(ws_->update_run_state(id, store::RunState::kFinished).is_ok());
  }

  void reattachAfterRecreatingThePage() {
    // A real detached job: 40 metric lines over ~4 s, then it ends.
    jobs::RunRegistry registry(*ws_);
    jobs::JobSpec spec;
    spec.name = "reattach";
    spec.command = {"/bin/sh", "-c",
                    "echo '{\"type\":\"state\",\"state\":\"running\"}' >> events.jsonl; i=1; while [ $i -le 40 ]; do "
                    "echo \"{\\\"type\\\":\\\"metric\\\",\\\"step\\\":$i,\\\"metrics\\\":{\\\"loss\\\":$i}}\" >> events.jsonl; "
                    "echo \"step $i\"; i=$((i+1)); sleep 0.1; done; "
                    "echo '{\"type\":\"state\",\"state\":\"finished\"}' >> events.jsonl",
                    "job"};
    auto id = registry.launch(spec);
    QVERIFY2(id.is_ok(), id.status().to_string().c_str());
    // A job whose processes died without a final state: a reaped child's pid.
    QProcess gone;
    gone.start(QStringLiteral("/bin/true"));
    QVERIFY(gone.waitForFinished());
    const int64_t lost = recordRun(*ws_, QStringLiteral("lost"), tmp_.filePath(QStringLiteral("ws/runs/lost")).toStdString(),
                                   gone.processId());

    auto first = makePage();
    QTRY_VERIFY(first->shownRuns().contains(*id));
    QTRY_VERIFY_WITH_TIMEOUT(first->charts()->pointCount(*id, QStringLiteral("loss")) >= 3, 10000);
    const int before = first->charts()->pointCount(*id, QStringLiteral("loss"));
    QVERIFY2(before < 40, "the job ended before the page was recreated; the test proves nothing");
    // The lost job is recognised from its dead pid.
    QTRY_COMPARE(rowOf(*first, lost) ? rowOf(*first, lost)->state : QString(), QStringLiteral("failed"));
    QVERIFY2(rowOf(*first, lost)->reason.contains(QStringLiteral("interrupted")), qPrintable(rowOf(*first, lost)->reason));
    first.reset();  // the GUI closes; the job goes on

    auto second = makePage();
    QTRY_VERIFY(second->shownRuns().contains(*id));  // re-attached without being asked
    QTRY_VERIFY_WITH_TIMEOUT(second->charts()->pointCount(*id, QStringLiteral("loss")) > before, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(second->charts()->pointCount(*id, QStringLiteral("loss")), 40, 15000);
    QTRY_COMPARE_WITH_TIMEOUT(rowOf(*second, *id)->state, QStringLiteral("finished"), 15000);
    // It watched the run end: the user is told (no desktop here, so in a banner).
    QTRY_VERIFY(second->bannerText().contains(QStringLiteral("Run %1 finished").arg(*id)));
    // Its stdout was tailed too.
    second->selectRuns({*id});
    QTRY_VERIFY(second->outputLog()->toPlainText().contains(QStringLiteral("step 40")));
    QVERIFY(!second->bannerText().contains(QStringLiteral("Run %1 ").arg(lost)));  // old news: no notification
  }

  void workspaceOpenedAfterThePageStillReattaches() {
    // At start-up the page exists before the workspace is open, and a listing of "no
    // workspace" can still be queued when it opens. That stale empty list must not count as
    // the workspace's first snapshot (which re-attaches to runs and selects one to watch).
    jobs::RunRegistry registry(*ws_);
    jobs::JobSpec spec;
    spec.name = "recorded-before-start";
    spec.command = {"/bin/true"};
    QVERIFY(registry.launch(spec).is_ok());
    gui::WorkbenchContext context(settings_.get());
    auto page = std::make_unique<JobsPage>(&context);
    page->setRefreshInterval(200, 1000);
    page->show();
    page->refreshNow(true);      // queued while no workspace is open
    context.setWorkspace(ws_);   // opens at once; the stale listing arrives after
    QTRY_VERIFY(!page->shownRuns().isEmpty());
    QCOMPARE(page->tabs()->currentIndex(), 0);  // the monitor, not the empty recipe editor
  }

  void tinyRunLaunchedFromThePageFinishes() {
    if (!QFile::exists(kanana::test::bin_path(QStringLiteral("kanana")))) QSKIP("kanana executable not built");
    auto page = makePage();
    QString error;
    QVERIFY2(page->recipeEditor()->loadFile(recipe_, &error), qPrintable(error));
    LaunchTarget target;
    target.ranks = 1;
    target.threadsPerRank = 1;
    page->targetPicker()->setTarget(target);
    const qint64 id = launchFromPage(*page, &error);
    QVERIFY2(id > 0, qPrintable(error));
    QTRY_VERIFY(page->shownRuns() == QList<qint64>{id});  // the new run is selected and charted
    QTRY_COMPARE_WITH_TIMEOUT(rowOf(*page, id) ? rowOf(*page, id)->state : QString(), QStringLiteral("finished"), 90000);
    QTRY_COMPARE(page->charts()->pointCount(id, QStringLiteral("loss")), 12);
    QTRY_VERIFY(page->charts()->pointCount(id, QStringLiteral("val_loss")) >= 3);
    QVERIFY(page->charts()->pointCount(id, QStringLiteral("tokens_per_s")) == 12);
    QTRY_VERIFY(page->bannerText().contains(QStringLiteral("Run %1 finished").arg(id)));
    QVERIFY(page->eventsLog()->toPlainText().contains(QStringLiteral("state: finished")));
    // The recipe the run used sits in its folder with absolute pack paths.
    const QString copy = rowOf(*page, id)->localDir + QStringLiteral("/recipe.json");
    auto json = read_json_file(copy.toStdString());
    QVERIFY2(json.is_ok(), json.status().to_string().c_str());
    QVERIFY((*json)["stages"][0]["sources"][0]["path"].get<std::string>()[0] == '/');
    // Its checkpoint was recorded with lineage run → checkpoint.
    auto checkpoints = ws_->list_checkpoints(id);
    QVERIFY(checkpoints.is_ok() && !checkpoints->empty());
  }

  void serveJobLaunchedFromThePageAnswersAndStops() {
    if (!QFile::exists(kanana::test::bin_path(QStringLiteral("kanana")))) QSKIP("kanana executable not built");
    const QString tokenizer = kanana::test::data_cache() + "/tokenizers/llama3";
    if (!QFile::exists(tokenizer + "/tokenizer.json")) QSKIP("the Llama 3 tokenizer is not in the data cache");
    const QString model = tmp_.filePath(QStringLiteral("tiny-model"));
    auto init = kanana::test::run_kanana({"model", "init", "--preset", "debug", "--tokenizer", tokenizer, "--out", model});
    QVERIFY2(init.code == 0, qPrintable(init.err));

    auto page = makePage();
    page->launchKindTabs()->setCurrentIndex(1);
    QVERIFY(page->servingSelected());
    QVERIFY(!page->launchButton()->isEnabled());  // no model yet: the form says 'model' is required
    QString error;
    QVERIFY(!page->launchCurrent(&error));
    QVERIFY2(error.contains(QStringLiteral("'model' is required")), qPrintable(error));
    gui::OrderedJson doc = gui::OrderedJson::object();
    doc["model"] = gui::OrderedJson::array({tmp_.filePath(QStringLiteral("no-such-model")).toStdString()});
    doc["port"] = 0;
    doc["weights"] = "f32";
    doc["parallel"] = 2;
    page->serveForm()->setDocument(doc);
    QVERIFY(!page->launchCurrent(&error));  // a folder missing here, for a job that runs here
    QVERIFY2(error.contains(QStringLiteral("no-such-model")), qPrintable(error));
    doc["model"] = gui::OrderedJson::array({model.toStdString()});
    page->serveForm()->setDocument(doc);
    LaunchTarget target;
    target.threadsPerRank = 1;
    page->targetPicker()->setTarget(target);
    QTRY_VERIFY(page->launchButton()->isEnabled());
    const qint64 id = launchFromPage(*page, &error);
    QVERIFY2(id > 0, qPrintable(error));
    QTRY_COMPARE_WITH_TIMEOUT(rowOf(*page, id) ? rowOf(*page, id)->state : QString(), QStringLiteral("running"), 20000);
    QCOMPARE(rowOf(*page, id)->kind, QStringLiteral("serve"));
    QTRY_VERIFY_WITH_TIMEOUT(page->detailText().contains(QStringLiteral("Serving at")), 60000);
    const auto m = QRegularExpression(QStringLiteral("Serving at <b>http://([^:]+):(\\d+)/v1</b>")).match(page->detailText());
    QVERIFY2(m.hasMatch(), qPrintable(page->detailText()));
    QVERIFY(QFile::exists(rowOf(*page, id)->localDir + QStringLiteral("/serve.json")));

    httplib::Client client(m.captured(1).toStdString(), m.captured(2).toInt());
    client.set_read_timeout(60, 0);
    const Json body = {{"model", "tiny-model"}, {"messages", Json::array({{{"role", "user"}, {"content", "Hi"}}})},
                       {"max_tokens", 4}, {"temperature", 0}};
    auto r = client.Post("/v1/chat/completions", body.dump(), "application/json");
    QVERIFY(r);
    QVERIFY2(r->status == 200, r->body.c_str());
    QCOMPARE(Json::parse(r->body)["usage"]["completion_tokens"].get<int>(), 4);

    page->cancelRun(id);
    QTRY_COMPARE_WITH_TIMEOUT(rowOf(*page, id)->state, QStringLiteral("cancelled"), 20000);
    QVERIFY(!client.Get("/health"));  // the server is gone with the run
  }
};

#include "test_main.h"
KANANA_TEST_MAIN(TestJobsPage)
#include "test_jobs_page.moc"
