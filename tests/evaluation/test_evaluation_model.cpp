// The Evaluation plugin's model layer on a workspace holding real results files: comparison
// data (newest result per cell, bootstrap stderr recomputed from the per-item samples, per-
// language perplexity from the ppl/all documents), the table model's cells and headers, the
// drill-down model (log-prob of every choice, generation, perplexity documents) and the
// launch plan (one eval job per checkpoint and kind).
#include <QtTest>

#include <filesystem>
#include <fstream>

#include "comparison.h"
#include "comparison_model.h"
#include "eval/stats.h"
#include "eval_fixture.h"
#include "eval_launch.h"
#include "samples_model.h"

using namespace kanana;
using namespace kanana::evaluation;
namespace fs = std::filesystem;

class TestEvaluationModel : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  test::EvalFixture fx_;

 private Q_SLOTS:
  void initTestCase() { QVERIFY(test::make_eval_fixture(fs::path(tmp_.path().toStdString()) / "ws", &fx_)); }

  void comparisonFromWorkspace() {
    auto ws = store::Workspace::open(fx_.root);
    QVERIFY(ws.is_ok());
    auto data = load_comparison(**ws);
    QVERIFY2(data.is_ok(), data.status().message().c_str());
    QCOMPARE(data->checkpoints.size(), size_t(2));
    QCOMPARE(data->tasks, (std::vector<std::string>{"gsm8k", "haerae", "kmmlu", "ppl/all", "ppl/all/en", "ppl/all/ko"}));
    for (size_t m = 0; m < 2; ++m) {
      const TaskCell* cell = data->cell(data->checkpoints[m].id, "kmmlu");
      QVERIFY(cell);
      QCOMPARE(primary_metric(cell->metrics), std::string("acc"));
      const MetricCell& acc = cell->metrics.at("acc");
      QCOMPARE(acc.value, eval::mean(fx_.kmmlu_acc[m]));
      QCOMPARE(acc.n, int64_t(40));
      QVERIFY(acc.stderr_value.has_value());
      QVERIFY(acc.bootstrap_stderr.has_value());
      QCOMPARE(*acc.bootstrap_stderr, eval::bootstrap_stderr(fx_.kmmlu_acc[m], 1000, 1234));
      QVERIFY(std::abs(*acc.bootstrap_stderr - *acc.stderr_value) < 0.3 * *acc.stderr_value);
      QVERIFY(!cell->samples_path.empty());
    }
    const TaskCell* gsm = data->cell(data->checkpoints[1].id, "gsm8k");
    QCOMPARE(primary_metric(gsm->metrics), std::string("exact_match,strict-match"));
    QCOMPARE(gsm->metrics.at("exact_match,strict-match").value, 0.4);
    QVERIFY(gsm->metrics.at("exact_match,strict-match").bootstrap_stderr.has_value());
    // Per-language perplexity: bootstrapped over the Korean documents of ppl/all's samples.
    const TaskCell* ko = data->cell(data->checkpoints[0].id, "ppl/all/ko");
    QCOMPARE(ko->samples_filter, std::string("lang=ko"));
    QCOMPARE(primary_metric(ko->metrics), std::string("bits_per_byte"));
    QVERIFY(ko->metrics.at("bits_per_byte").bootstrap_stderr.has_value());
    QVERIFY(!higher_is_better("bits_per_byte"));
    QCOMPARE(ppl_filter("ppl/web/ko"), std::string("source=web,lang=ko"));
    QCOMPARE(ppl_filter("ppl/web"), std::string("source=web"));
  }

  void tableModel() {
    auto ws = store::Workspace::open(fx_.root);
    auto data = load_comparison(**ws);
    QVERIFY(data.is_ok());
    ComparisonModel model;
    model.setData(std::make_shared<const ComparisonData>(*data));
    QCOMPARE(model.rowCount(), 2);
    QCOMPARE(model.columnCount(), 6);
    const int kmmlu = 2;
    QCOMPARE(model.taskAt(kmmlu), QString("kmmlu"));
    QVERIFY(model.headerData(kmmlu, Qt::Horizontal).toString().startsWith("kmmlu\nacc"));
    QCOMPARE(model.headerData(0, Qt::Vertical).toString(), QString("models/ckpt-0"));
    const QString shown = model.data(model.index(1, kmmlu)).toString();
    const MetricCell* m = model.metricAt(1, kmmlu);
    QCOMPARE(shown, ComparisonModel::formatCell(*m));
    QVERIFY2(shown.startsWith("0.7500 ± "), qPrintable(shown));
    QCOMPARE(model.data(model.index(1, kmmlu), ComparisonModel::StderrRole).toDouble(), *m->bootstrap_stderr);
    // Best of the column shaded; bits per byte: lower is better (checkpoint 1).
    QVERIFY(model.data(model.index(1, kmmlu), Qt::BackgroundRole).isValid());
    QVERIFY(!model.data(model.index(0, kmmlu), Qt::BackgroundRole).isValid());
    QVERIFY(model.data(model.index(1, 3), Qt::BackgroundRole).isValid());
    QVERIFY(model.headerData(3, Qt::Horizontal).toString().contains("bits_per_byte ↓"));
    QVERIFY(model.data(model.index(0, kmmlu), ComparisonModel::HasSamplesRole).toBool());
    // Another metric: acc_norm; a task without it shows a dash.
    model.setMetric("acc_norm");
    QCOMPARE(model.metricFor(kmmlu), std::string("acc_norm"));
    QCOMPARE(model.data(model.index(0, 0)).toString(), QString("—"));
  }

  void samplesModel() {
    auto ws = store::Workspace::open(fx_.root);
    auto data = load_comparison(**ws);
    const TaskCell* cell = data->cell(data->checkpoints[1].id, "kmmlu");
    auto samples = eval::read_samples(cell->samples_path);
    QVERIFY(samples.is_ok());
    SamplesModel model;
    model.setSamples(*samples, "kmmlu");
    QCOMPARE(model.kind(), SamplesModel::Kind::kMultipleChoice);
    QCOMPARE(model.rowCount(), 40);
    QCOMPARE(model.choiceColumns(), 4);
    QCOMPARE(model.columnCount(), 10);
    QCOMPARE(model.headerData(6, Qt::Horizontal).toString(), QString("log p(A)"));
    QCOMPARE(model.headerData(9, Qt::Horizontal).toString(), QString("log p(D)"));
    // Item 3 (gold D) is wrong for checkpoint 1: predicted A with log p -1.
    QCOMPARE(model.data(model.index(3, 4)).toString(), QString("✗"));
    QCOMPARE(model.data(model.index(3, 6)).toString(), QString("-1.000"));
    QVERIFY(model.data(model.index(3, 6), Qt::FontRole).value<QFont>().bold());  // the prediction
    QVERIFY(model.data(model.index(3, 9), Qt::BackgroundRole).isValid());        // the gold choice
    QVERIFY(model.detail(3).contains("← prediction"));
    QVERIFY(model.detail(3).contains("log p = -1.0000"));

    const TaskCell* ko = data->cell(data->checkpoints[0].id, "ppl/all/ko");
    auto docs = eval::read_samples(ko->samples_path);
    model.setSamples(*docs, "ppl", QString::fromStdString(ko->samples_filter));
    QCOMPARE(model.kind(), SamplesModel::Kind::kPerplexity);
    QCOMPARE(model.rowCount(), 3);
    QCOMPARE(model.data(model.index(0, 2)).toString(), QString("ko"));

    auto gen = eval::read_samples(data->cell(data->checkpoints[0].id, "gsm8k")->samples_path);
    model.setSamples(*gen, "gsm8k");
    QCOMPARE(model.kind(), SamplesModel::Kind::kGeneration);
    QCOMPARE(model.headerData(5, Qt::Horizontal).toString(), QString("exact_match,strict-match"));
    QCOMPARE(model.data(model.index(0, 5)).toString(), QString("✓"));
  }

  void launchPlan() {
    const fs::path dir = fs::path(tmp_.path().toStdString());
    const fs::path mmlu = dir / "mmlu_x.jsonl", gsm = dir / "gsm_x.jsonl", corpus = dir / "corpus.jsonl";
    std::ofstream(mmlu) << Json{{"question", "q"}, {"choices", {"a", "b"}}, {"answer", 0}}.dump() << "\n";
    std::ofstream(gsm) << Json{{"question", "q"}, {"answer", "x\n#### 3"}}.dump() << "\n";
    std::ofstream(corpus) << Json{{"text", "some text"}}.dump() << "\n";
    auto a = classify_task(mmlu.string()), b = classify_task(gsm.string()), c = classify_task(corpus.string());
    QVERIFY(a.is_ok() && b.is_ok() && c.is_ok());
    QCOMPARE(a->command, std::string("mc"));
    QCOMPARE(b->command, std::string("gen"));
    QCOMPARE(c->command, std::string("ppl"));
    QVERIFY(!classify_task((dir / "missing.jsonl").string()).is_ok());
    LaunchSettings s;
    s.num_fewshot = 5;
    s.limit = 100;
    s.target.kanana_binary = "/opt/kanana/bin/kanana";
    auto plan = plan_eval_jobs({{"ckpt-0", "/m/0"}, {"ckpt-1", "/m/1"}}, {*a, *b, *c}, s);
    QVERIFY2(plan.is_ok(), plan.status().message().c_str());
    QCOMPARE(plan->size(), size_t(6));  // 2 checkpoints x {gen, mc, ppl}
    for (const auto& spec : *plan) {
      QCOMPARE(spec.kind, std::string("eval"));
      QVERIFY(spec.validate().is_ok() || spec.run_dir.empty());
      const auto cmd = spec.resolved_command("/runs/x");
      QCOMPARE(cmd[0], std::string("/opt/kanana/bin/kanana"));
      QCOMPARE(cmd[1], std::string("eval"));
      QCOMPARE(cmd.back(), std::string("/runs/x"));
      const std::string joined = [&] {
        std::string j;
        for (const auto& x : cmd) j += x + " ";
        return j;
      }();
      if (cmd[2] == "ppl") {
        QVERIFY(joined.find("--max-docs 100") != std::string::npos);
        QVERIFY(joined.find("--num-fewshot") == std::string::npos);
      } else {
        QVERIFY(joined.find("--num-fewshot 5 --limit 100") != std::string::npos);
      }
    }
    QVERIFY(!plan_eval_jobs({}, {*a}, s).is_ok());
  }

  // Runs last: it changes the fixture.
  void newestResultWins() {
    auto ws = store::Workspace::open(fx_.root);
    QVERIFY(ws.is_ok());
    // A newer evaluation of checkpoint 0 replaces its kmmlu cell.
    eval::EvalReport again;
    std::vector<double> all_right(40, 1.0);
    again.tasks.push_back(test::mc_task("kmmlu", all_right));
    const fs::path res = fx_.root / "runs" / "eval-again" / "results.json";
    QVERIFY(eval::write_report(again, res).is_ok());
    eval::RecordOptions ro;
    ro.results_path = res;
    QVERIFY(eval::record_eval(**ws, again, fx_.models[0], ro).is_ok());
    auto newer = load_comparison(**ws);
    QVERIFY(newer.is_ok());
    QCOMPARE(newer->checkpoints.size(), size_t(2));  // the same checkpoint record
    QCOMPARE(newer->cell(newer->checkpoints[0].id, "kmmlu")->metrics.at("acc").value, 1.0);
    QCOMPARE(*newer->cell(newer->checkpoints[0].id, "kmmlu")->metrics.at("acc").bootstrap_stderr, 0.0);
    QCOMPARE(newer->cell(newer->checkpoints[0].id, "kmmlu")->results_path, res.string());
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestEvaluationModel)
#include "test_evaluation_model.moc"
