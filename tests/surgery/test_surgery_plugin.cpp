// Surgery plugin: the session's live target preview (errors, parameter/FLOP ratios, removed
// importance mass), importance estimation on the background controller (progress, saved
// file, fingerprint check of loaded scores), the pipeline spec, a real prune → distill run
// launched through core/jobs and recorded in the workspace, and the page offscreen — model
// picked from the workspace, saved scores found again, heat map and plan marks, target spin
// boxes driving the preview, the run's validation curves, generations side by side, and a
// screenshot (SURGERY_SCREENSHOT=file.png keeps it).
#include <torch/torch.h>

#include <QLabel>
#include <QPlainTextEdit>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

#include "../shards/shard_test_util.h"
#include "importance_view.h"
#include "jobs/run_registry.h"
#include "model/checkpoint.h"
#include "model/presets.h"
#include "sdk/metric_plot.h"
#include "sdk/workbench_context.h"
#include "store/workspace.h"
#include "surgery/pipeline.h"
#include "sdk/job_service.h"
#include "surgery_controller.h"
#include "surgery_files.h"
#include "surgery_page.h"
#include "surgery_session.h"
#include "test_support.h"

using namespace kanana;
using namespace kanana::surgeryplugin;
namespace fs = std::filesystem;

namespace {

model::LlamaConfig teacherConfig() {
  auto c = *model::preset_config("debug");  // hidden 64, ffn 160, 4q/2kv, vocab 512
  c.num_hidden_layers = 3;
  c.initializer_range = 0.1;
  return c;
}

void saveModel(const fs::path& dir, const model::LlamaConfig& c, uint64_t seed) {
  auto m = model::init_model(c, seed);
  QVERIFY(m.is_ok());
  QVERIFY(model::save_model(dir, *m).is_ok());
}

}  // namespace

class TestSurgeryPlugin : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  std::unique_ptr<QSettings> settings_;
  std::unique_ptr<gui::WorkbenchContext> context_;
  std::shared_ptr<store::Workspace> ws_;
  QString wsDir_, teacher_, pack_, scoresFile_, runDir_;

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    torch::set_num_threads(1);
    QStandardPaths::setTestModeEnabled(true);
    settings_ = std::make_unique<QSettings>(tmp_.filePath(QStringLiteral("settings.ini")), QSettings::IniFormat);
    settings_->setValue(QStringLiteral("general/torchThreads"), 1);
    context_ = std::make_unique<gui::WorkbenchContext>(settings_.get());
    wsDir_ = tmp_.filePath(QStringLiteral("ws"));
    auto ws = store::Workspace::create(wsDir_.toStdString(), "surgery test");
    QVERIFY2(ws.is_ok(), ws.status().to_string().c_str());
    ws_ = std::shared_ptr<store::Workspace>(std::move(ws).value());
    context_->setWorkspace(ws_);
    const fs::path root = wsDir_.toStdString();
    saveModel(root / "models" / "teacher", teacherConfig(), 1);
    saveModel(root / "models" / "other", teacherConfig(), 2);  // same shape, other weights
    teacher_ = QString::fromStdString((root / "models" / "teacher").string());
    std::vector<std::vector<int32_t>> docs;
    std::mt19937 rng(5);
    for (int d = 0; d < 200; ++d) {
      std::vector<int32_t> doc;
      const int32_t a = 1 + int32_t(rng() % 50);
      for (int i = 0; i < 30; ++i) doc.push_back(1 + (a + 3 * (i % 5)) % 500);
      doc.push_back(0);
      docs.push_back(doc);
    }
    QVERIFY(shards::test::write_synthetic_pack(root / "data" / "packs" / "src", docs, "src", 1 << 20, 10, "fp-test", 512).is_ok());
    pack_ = QString::fromStdString((root / "data" / "packs" / "src").string());
  }

  void workspaceFilesAreFound() {
    auto models = findModels(wsDir_);
    QCOMPARE(models.size(), 2);
    QCOMPARE(models[1].label, QStringLiteral("models/teacher"));
    auto packs = findPacks(wsDir_);
    QCOMPARE(packs.size(), 1);
    QCOMPARE(packs[0].path, pack_);
    QVERIFY(importanceFileFor(wsDir_, teacher_).contains(QStringLiteral("surgery/importance-teacher-")));
  }

  void sessionPreviewsTargets() {
    SurgerySession s;
    QSignalSpy changed(&s, &SurgerySession::previewChanged);
    QString error;
    QVERIFY(!s.openModel(tmp_.filePath(QStringLiteral("nowhere")), &error));
    QVERIFY2(error.contains(QStringLiteral("nowhere")), qPrintable(error));
    QVERIFY2(s.openModel(teacher_, &error), qPrintable(error));
    QVERIFY(s.preview().valid);
    QCOMPARE(s.preview().target.parameters, s.preview().source.parameters);
    surgery::TargetShape t;
    t.num_attention_heads = 3;
    s.setTarget(t);
    QVERIFY(!s.preview().valid);
    QVERIFY(s.preview().error.contains(QStringLiteral("does not divide evenly")));
    t = {};
    t.hidden_size = 32;
    t.heads_per_group = 1;
    s.setTarget(t);
    QVERIFY(s.preview().valid);
    QVERIFY(s.preview().target.parameters < s.preview().source.parameters);
    QVERIFY(s.preview().target.flops_per_token < s.preview().source.flops_per_token);
    QVERIFY(!s.preview().plan);  // width pruning needs scores
    QVERIFY(!s.preview().removed);
    QVERIFY(changed.count() >= 3);
    QCOMPARE(humanCount(1393280), QStringLiteral("1.39M"));
  }

  void controllerEstimatesAndChecksScores() {
    gui::JobService jobs;
    SurgeryController c(&jobs);
    QSignalSpy ready(&c, &SurgeryController::importanceReady);
    QSignalSpy failed(&c, &SurgeryController::failed);
    QSignalSpy progress(&c, &SurgeryController::progress);
    ImportanceRequest r;
    r.model = teacher_;
    r.pack = pack_;
    r.samples = 24;
    r.seqLen = 16;
    r.options.batch_size = 8;
    r.outFile = importanceFileFor(wsDir_, teacher_);
    c.computeImportance(r);
    QVERIFY(c.busy());
    QVERIFY(ready.wait(60000));
    QCOMPARE(failed.count(), 0);
    QVERIFY(progress.count() >= 1);
    auto scores = ready.at(0).at(0).value<std::shared_ptr<const surgery::ImportanceScores>>();
    QVERIFY(scores);
    QCOMPARE(scores->samples, int64_t(24));
    QCOMPARE(int(scores->heads.size()), 3);
    scoresFile_ = ready.at(0).at(1).toString();
    QVERIFY(QFileInfo::exists(scoresFile_));

    // The session then shows the plan and the importance mass it removes.
    SurgerySession s;
    QString error;
    QVERIFY(s.openModel(teacher_, &error));
    s.setScores(scores, scoresFile_);
    surgery::TargetShape t;
    t.intermediate_size = 80;
    t.heads_per_group = 1;
    t.num_hidden_layers = 2;
    s.setTarget(t);
    QVERIFY(s.preview().plan);
    QVERIFY(s.preview().removed);
    QVERIFY(s.preview().removed->neurons > 0 && s.preview().removed->neurons < 0.5);
    QVERIFY(s.preview().removed->heads > 0);
    QCOMPARE(int(s.preview().plan->layers.size()), 2);

    // Scores of the teacher loaded for another model: refused with the reason.
    QSignalSpy loaded(&c, &SurgeryController::scoresLoaded);
    c.loadScores(QDir(wsDir_).filePath(QStringLiteral("models/other")), scoresFile_);
    QVERIFY(failed.wait(30000));
    QCOMPARE(failed.last().at(0).toString(), QStringLiteral("scores"));
    QVERIFY2(failed.last().at(1).toString().contains(QStringLiteral("different weights")), qPrintable(failed.last().at(1).toString()));
    c.loadScores(teacher_, scoresFile_);
    QVERIFY(loaded.wait(30000));
    // Saved files are found again by config, and the controller keeps the one of these weights.
    QCOMPARE(importanceFilesFor(wsDir_, s.config()), QStringList{scoresFile_});
    QSignalSpy idle(&c, &SurgeryController::idle);
    c.findSavedScores(QDir(wsDir_).filePath(QStringLiteral("models/other")), {scoresFile_});
    QVERIFY(idle.wait(30000));
    QCOMPARE(loaded.count(), 1);  // nothing matched the other model
  }

  void pipelineSpecIsValid() {
    PipelineSettings p;
    p.teacher = teacher_;
    p.target.hidden_size = 48;
    p.calibrationPack = pack_;
    p.calibrationSamples = 8;
    p.calibrationSeqLen = 16;
    QVERIFY(!pipelineSpecJson(p).is_ok());  // no training data yet
    p.trainPacks = {pack_};
    p.seqLen = 16;
    p.microBatch = 4;
    p.tokenBudget = 6 * 4 * 16;
    p.validationInterval = 3;
    auto j = pipelineSpecJson(p);
    QVERIFY2(j.is_ok(), j.status().message().c_str());
    auto spec = surgery::parse_pipeline_spec(*j, "spec", {});
    QVERIFY2(spec.is_ok(), spec.status().message().c_str());
    QCOMPARE(*spec->target.hidden_size, int64_t(48));
    QCOMPARE(spec->calibration.pack.string(), pack_.toStdString());
    p.target = {};
    p.target.num_attention_heads = 3;
    auto bad = surgery::parse_pipeline_spec(*pipelineSpecJson(p), "spec", {});
    QVERIFY(!bad.is_ok() && bad.status().message().find("does not divide") != std::string::npos);
  }

  void pipelineRunsThroughJobs() {
    PipelineSettings p;
    p.teacher = teacher_;
    p.target.hidden_size = 48;
    p.target.heads_per_group = 1;
    p.steps = 2;
    p.calibrationPack = pack_;
    p.calibrationSamples = 8;
    p.calibrationSeqLen = 16;
    p.importanceFile = scoresFile_;  // scores of the teacher for the first step
    p.trainPacks = {pack_};
    p.seqLen = 16;
    p.microBatch = 4;
    p.tokenBudget = 6 * 4 * 16;
    p.validationInterval = 3;
    gui::JobService jobs;  // the pipeline is launched through the workbench's job service
    jobs.setWorkspace(wsDir_);
    SurgeryController c(&jobs);
    QSignalSpy launched(&c, &SurgeryController::pipelineLaunched);
    QSignalSpy failed(&c, &SurgeryController::failed);
    c.launchPipeline(QStringLiteral("test pipeline"), p);
    QVERIFY(launched.wait(30000));
    QCOMPARE(failed.count(), 0);
    const qint64 id = launched.at(0).at(0).toLongLong();
    runDir_ = launched.at(0).at(1).toString();
    QVERIFY(QFileInfo::exists(runDir_ + QStringLiteral("/pipeline-spec.json")));
    jobs::RunRegistry registry(*ws_);
    QString state;
    for (int i = 0; i < 240 && state != QLatin1String("finished") && state != QLatin1String("failed"); ++i) {
      QTest::qWait(500);
      auto r = registry.refresh(id);
      QVERIFY2(r.is_ok(), r.status().message().c_str());
      state = QString::fromLatin1(store::run_state_name(jobs::to_run_state(r->state)));
    }
    QCOMPARE(state, QStringLiteral("finished"));
    auto run = ws_->get_run(id);
    QVERIFY(run.is_ok());
    QCOMPARE(run->kind, std::string("distill"));
    auto summary = read_json_file((runDir_ + QStringLiteral("/pipeline.json")).toStdString());
    QVERIFY(summary.is_ok() && summary->contains("final_checkpoint"));
    auto student = model::read_llama_config((runDir_ + QStringLiteral("/student")).toStdString());
    QVERIFY(student.is_ok());
    QCOMPARE(student->hidden_size, int64_t(48));
    QCOMPARE(student->num_attention_heads, int64_t(2));
  }

  void pageShowsScoresPreviewAndRun() {
    SurgeryPage page(context_.get());
    page.resize(1400, 900);
    page.show();
    // The first workspace model is selected and its saved scores come back by themselves.
    QVERIFY(page.session()->hasModel());
    QVERIFY(page.openModel(teacher_));
    QTRY_VERIFY_WITH_TIMEOUT(page.session()->scores() != nullptr, 120000);  // 3 s idle; minutes at load 10
    QCOMPARE(page.importanceView()->heatmapColumns(), 4);
    QCOMPARE(page.importanceView()->heatmapRows(), 3);
    QVERIFY(page.shapeLabel()->text().contains(QStringLiteral("parameters")));
    QCOMPARE(page.importanceView()->prunedHeadMarks(), 0);
    // Editing the target: the preview and the plan marks follow.
    page.headsPerGroupSpin()->setValue(1);
    page.hiddenSpin()->setValue(48);
    QVERIFY(page.previewLabel()->text().contains(QStringLiteral("Importance mass removed")));
    QCOMPARE(page.importanceView()->prunedHeadMarks(), 3 * 2);  // 2 of 4 heads in each of 3 layers
    const auto settings = page.pipelineSettings();
    QCOMPARE(*settings.target.hidden_size, int64_t(48));
    QCOMPARE(settings.trainPacks, QStringList{pack_});
    // The finished run's curves.
    page.followRun(runDir_);
    QVERIFY(page.comparePlot()->pointCount(QStringLiteral("student val_loss")) >= 2);
    QVERIFY(page.comparePlot()->pointCount(QStringLiteral("teacher val_loss")) >= 2);
    page.tabs()->setCurrentIndex(0);
    QTest::qWait(100);
    const QString shot = qEnvironmentVariable("SURGERY_SCREENSHOT");
    const QString file = shot.isEmpty() ? tmp_.filePath(QStringLiteral("surgery.png")) : shot;
    QVERIFY(page.grab().save(file));
    QVERIFY(QFileInfo(file).size() > 10000);
    page.tabs()->setCurrentIndex(1);
    QTest::qWait(100);
    QVERIFY(page.grab().save(QString(file).replace(QStringLiteral(".png"), QStringLiteral("-compare.png"))));
  }

  void generationsSideBySide() {
    const QString tokenizer = test::data_cache() + QStringLiteral("/tokenizers/spm/clean_30k.model");
    if (!QFileInfo::exists(tokenizer)) QSKIP("no cached SentencePiece model (scripts/fetch-demo-data.sh)");
    auto c = teacherConfig();
    c.num_hidden_layers = 1;
    c.vocab_size = 32000;
    c.bos_token_id = 1;
    c.eos_token_ids = {2};
    c.pad_token_id.reset();
    const fs::path dir = tmp_.filePath(QStringLiteral("gen-model")).toStdString();
    saveModel(dir, c, 3);
    fs::copy_file(tokenizer.toStdString(), dir / "tokenizer.model");
    gui::JobService jobs;
    SurgeryController ctl(&jobs);
    QSignalSpy generated(&ctl, &SurgeryController::generated);
    QSignalSpy failed(&ctl, &SurgeryController::failed);
    ctl.generate(QString::fromStdString(dir.string()), QString::fromStdString(dir.string()), QStringLiteral("hello"), 8);
    QVERIFY(generated.wait(60000) || failed.count() > 0);
    QVERIFY2(failed.count() == 0, failed.count() ? qPrintable(failed.at(0).at(1).toString()) : "");
    auto pair = generated.at(0).at(0).value<GenerationPair>();
    QVERIFY(!pair.teacher.isEmpty());
    QCOMPARE(pair.teacher, pair.student);  // same model, same seed: same text
  }
};

#include "test_main.h"
KANANA_TEST_MAIN(TestSurgeryPlugin)
#include "test_surgery_plugin.moc"
