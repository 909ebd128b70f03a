// The Evaluation page offscreen on a workspace with results: the comparison table and its
// charts (bars with one series per checkpoint, a radar polygon per checkpoint over three
// benchmarks, bits per byte per language), the drill-down to per-item log-probs, and a real
// eval job of a tiny model launched from the page (local target, `kanana eval mc` through the
// job system) whose results appear in the table.
#include <QSettings>
#include <QTabWidget>
#include <QTableView>
#include <QtTest>

#include <filesystem>
#include <fstream>

#include "../posttrain/byte_tokenizer.h"
#include "eval_charts.h"
#include "eval_fixture.h"
#include "evaluation_page.h"
#include "sdk/workbench_context.h"
#include "test_support.h"

using namespace kanana;
using namespace kanana::evaluation;
namespace fs = std::filesystem;

class TestEvaluationPage : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  test::EvalFixture fx_;
  std::unique_ptr<QSettings> settings_;
  std::unique_ptr<gui::WorkbenchContext> context_;

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(test::make_eval_fixture(fs::path(tmp_.path().toStdString()) / "ws", &fx_));
    settings_ = std::make_unique<QSettings>(tmp_.filePath("settings.ini"), QSettings::IniFormat);
    context_ = std::make_unique<gui::WorkbenchContext>(settings_.get());
    QString error;
    QVERIFY2(context_->openWorkspace(QString::fromStdString(fx_.root.string()), &error), qPrintable(error));
  }

  void tableChartsAndDrillDown() {
    EvaluationPage page(context_.get());
    page.resize(1300, 850);
    page.show();
    QSignalSpy shown(&page, &EvaluationPage::comparisonShown);
    QTRY_VERIFY_WITH_TIMEOUT(shown.count() > 0 && page.comparisonModel()->rowCount() == 2, 20000);
    auto* model = page.comparisonModel();
    QCOMPARE(model->columnCount(), 6);
    QVERIFY(model->data(model->index(1, 2)).toString().startsWith("0.7500 ± "));
    QCOMPARE(page.barChart()->categories(), QStringList({"gsm8k", "haerae", "kmmlu"}));
    QCOMPARE(page.barChart()->barSeries(), 2);
    QCOMPARE(page.radarChart()->axes(), QStringList({"gsm8k", "haerae", "kmmlu"}));
    QCOMPARE(page.radarChart()->polygons(), 2);
    QCOMPARE(page.languageChart()->languages(), QStringList({"en", "ko"}));
    QCOMPARE(page.languageChart()->barSeries(), 2);
    // The checkpoint list comes in its own signal, which may still be queued here.
    QTRY_COMPARE(page.checkpointCount(), 2);

    QSignalSpy samples(&page, &EvaluationPage::samplesShown);
    QVERIFY(page.drillDown(0, 2));
    QTRY_VERIFY_WITH_TIMEOUT(samples.count() == 1, 20000);
    QCOMPARE(page.samplesModel()->rowCount(), 40);
    QCOMPARE(page.samplesModel()->headerData(6, Qt::Horizontal).toString(), QString("log p(A)"));
    QVERIFY(page.detailText().contains("log p ="));
    QCOMPARE(page.tabs()->currentIndex(), page.tabs()->count() - 1);
    // Korean perplexity documents only.
    QVERIFY(page.drillDown(0, 5));
    QTRY_VERIFY_WITH_TIMEOUT(samples.count() == 2, 20000);
    QCOMPARE(page.samplesModel()->rowCount(), 3);

    const QString shot = qEnvironmentVariable("KANANA_EVALUATION_SCREENSHOT");
    if (!shot.isEmpty()) {
      page.tabs()->setCurrentIndex(0);
      QTest::qWait(200);
      QVERIFY(page.grab().save(shot));
    }
  }

  void launchFromThePage() {
    const fs::path dir = fs::path(tmp_.path().toStdString());
    QVERIFY(test::write_byte_tokenizer(dir / "tok"));
    const fs::path model = fx_.root / "models" / "tiny";
    auto r = test::run_kanana({"model", "init", "--preset", "debug", "--out", QString::fromStdString(model.string()),
                               "--tokenizer", QString::fromStdString((dir / "tok").string())});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    {
      auto ws = store::Workspace::open(fx_.root);
      QVERIFY(ws.is_ok());
      store::CheckpointRecord c;
      c.name = "tiny";
      c.path = model.string();
      QVERIFY((*ws)->add_checkpoint(c).is_ok());
    }
    const fs::path task = dir / "mmlu_page.jsonl";
    {
      std::ofstream f(task);
      for (int i = 0; i < 5; ++i) {
        f << Json{{"question", "Item " + std::to_string(i)}, {"choices", {"a", "b", "c"}}, {"answer", i % 3}}.dump() << "\n";
      }
    }
    EvaluationPage page(context_.get());
    context_->jobService()->setKananaBinary(test::bin_path("kanana"));
    QTRY_VERIFY_WITH_TIMEOUT(page.checkpointCount() == 3, 20000);
    QVERIFY(page.addTask(QString::fromStdString(task.string())));
    QVERIFY(!page.addTask(QString::fromStdString((dir / "nope.jsonl").string())));
    QVERIFY(page.status().contains("no such task file"));
    page.checkCheckpoints({"tiny"});
    page.setLimit(3);
    QVERIFY(page.launchSelected());
    // The job runs `kanana eval mc`; the page polls, the registry records, the table reloads.
    auto has_tiny = [&] {
      auto data = page.comparisonModel()->comparison();
      if (!data) return false;
      for (const auto& c : data->checkpoints) {
        if (c.name == "tiny" && data->cell(c.id, "mmlu_page")) return true;
      }
      return false;
    };
    QTRY_VERIFY_WITH_TIMEOUT(has_tiny(), 120000);
    auto data = page.comparisonModel()->comparison();
    for (const auto& c : data->checkpoints) {
      if (c.name != "tiny") continue;
      const TaskCell* cell = data->cell(c.id, "mmlu_page");
      QCOMPARE(cell->metrics.at("acc").n, int64_t(3));
      QVERIFY(cell->metrics.at("acc").bootstrap_stderr.has_value());  // the job's samples file is local
    }
    // The task list is remembered for the next start.
    QVERIFY(settings_->value("evaluation/tasks").toStringList().contains(QString::fromStdString(task.string())));
  }
};

#include "test_main.h"
KANANA_TEST_MAIN(TestEvaluationPage)
#include "test_evaluation_page.moc"
