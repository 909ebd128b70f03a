// scripts/demo-headless.sh end to end on a reduced budget (DEMO_* sizes: a 64-wide model,
// tens of thousands of tokens, a few SFT/DPO steps, 8 items per task), then the workspace it
// leaves: every registered checkpoint exists and carries its tokenizer; lineage reaches from a
// corpus through the filtered data, the tokenizer, the packs and the pre-training run to the
// DPO model; judgements by the ko-over-en rule and eval results of every stage exist; and a
// second run skips every stage (resumable). The full-size demo stays a script.
// With KANANA_DEMO_LOOP_WORKSPACE set, the workspace is kept there (the GUI page test reads it).
#include <QProcess>
#include <QtTest>

#include <filesystem>
#include <set>

#include "store/workspace.h"
#include "test_support.h"
#include "tokenizer/tokenizer.h"

using namespace kanana;
namespace fs = std::filesystem;

class TestDemoLoop : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  fs::path ws_;

  int runDemo(QString* log) {
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("KANANA_DEMO_WORKSPACE", QString::fromStdString(ws_.string()));
    env.insert("KANANA_BUILD_DIR", test::build_dir());
    env.insert("KANANA_DATA_CACHE", test::data_cache());
    const std::pair<const char*, const char*> sizes[] = {
        {"DEMO_HIDDEN", "64"},          {"DEMO_LAYERS", "2"},          {"DEMO_VOCAB", "3000"},
        {"DEMO_CORPUS_MB", "0.3"},
        {"DEMO_SEQ", "64"},             {"DEMO_PRETRAIN_TOKENS", "20480"}, {"DEMO_DISTILL_TOKENS", "4096"},
        {"DEMO_SFT_STEPS", "6"},        {"DEMO_DPO_STEPS", "3"},       {"DEMO_CHAT_PAIRS", "40"},
        {"DEMO_PROMPTS", "6"},          {"DEMO_EVAL_LIMIT", "8"},      {"DEMO_THREADS", "2"}};
    for (const auto& [k, v] : sizes) env.insert(k, v);
    p.setProcessEnvironment(env);
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start("bash", {test::source_dir() + "/scripts/demo-headless.sh"});
    if (!p.waitForFinished(900000)) {
      p.kill();
      p.waitForFinished();
      *log = "timed out:\n" + QString::fromUtf8(p.readAll());
      return -1;
    }
    *log = QString::fromUtf8(p.readAll());
    return p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
  }

 private Q_SLOTS:
  void initTestCase() {
    if (!QFileInfo::exists(test::bin_path("kanana"))) QSKIP("the kanana binary is not built");
    if (!QFileInfo::exists(test::data_cache() + "/corpora/ko_en_libreoffice_aligned.jsonl") ||
        !QFileInfo::exists(test::data_cache() + "/models/lid.176.ftz"))
      QSKIP("no demo data cache (run scripts/fetch-demo-data.sh or set KANANA_DATA_CACHE)");
    const QString keep = qEnvironmentVariable("KANANA_DEMO_LOOP_WORKSPACE");
    ws_ = keep.isEmpty() ? fs::path(tmp_.path().toStdString()) / "demo" : fs::path(keep.toStdString());
    if (!keep.isEmpty()) fs::remove_all(ws_);
  }

  void demoRunsAndTheWorkspaceTellsTheTruth() {
    QString log;
    const int code = runDemo(&log);
    QVERIFY2(code == 0, qPrintable(log.right(6000)));
    for (int stage = 1; stage <= 12; ++stage)
      QVERIFY2(log.contains(QString("stage %1/12").arg(stage)), qPrintable(log.right(3000)));

    auto ws = store::Workspace::open(ws_, {.read_only = true});
    QVERIFY2(ws.is_ok(), ws.status().to_string().c_str());
    store::Workspace& w = **ws;

    // Every registered checkpoint exists and loads its tokenizer from its own folder.
    auto checkpoints = w.list_checkpoints();
    QVERIFY(checkpoints.is_ok());
    QVERIFY(checkpoints->size() >= 4);
    for (const auto& c : *checkpoints) {
      QVERIFY2(w.checkpoint_on_disk(c), c.path.c_str());
      const fs::path dir = w.resolve(c.path);
      auto tok = tok::model_tokenizer_path(dir);
      QVERIFY2(tok.is_ok() && *tok == dir, (c.path + ": " + tok.status().to_string()).c_str());
    }

    // Runs of every stage finished.
    std::set<std::string> kinds;
    auto runs = w.list_runs();  // kept: a range-for over *w.list_runs() would read a destroyed Result
    QVERIFY(runs.is_ok());
    for (const auto& r : *runs)
      if (r.state == store::RunState::kFinished) kinds.insert(r.kind);
    for (const char* k : {"pretrain", "distill", "sft", "dpo", "eval"}) QVERIFY2(kinds.count(k), k);

    // Lineage: the DPO model's upstream reaches a corpus, the tokenizer, the packs, the
    // pre-training run, the distilled student and the SFT model.
    std::optional<store::CheckpointRecord> dpo;
    for (const auto& r : *runs)
      if (r.kind == "dpo") {
        auto checkpoints_of_run = w.list_checkpoints(r.id);
        QVERIFY(checkpoints_of_run.is_ok());
        for (const auto& c : *checkpoints_of_run) dpo = c;
      }
    QVERIFY(dpo.has_value());
    auto up = w.lineage_upstream({"checkpoint", dpo->id});
    QVERIFY(up.is_ok());
    std::set<std::string> seen;
    for (const auto& n : *up) {
      if (n.node.kind == "dataset") seen.insert("dataset:" + w.get_dataset(n.node.id)->kind);
      else if (n.node.kind == "run") seen.insert("run:" + w.get_run(n.node.id)->kind);
      else seen.insert(n.node.kind);
    }
    QString found;
    for (const auto& k : seen) found += QString::fromStdString(k) + " ";
    for (const char* need : {"dataset:corpus", "dataset:filtered", "dataset:shards", "tokenizer", "run:pretrain",
                             "run:distill", "run:sft", "checkpoint"})
      QVERIFY2(seen.count(need), qPrintable(QString("%1 not upstream of checkpoint %2; found: %3").arg(need).arg(dpo->id).arg(found)));

    // Judgements with their source, and eval results for the checkpoint of every stage.
    auto judgements = w.list_judgements();
    QVERIFY(judgements.is_ok() && !judgements->empty());
    bool by_rule = false;
    for (const auto& j : *judgements) by_rule = by_rule || j.annotator == "rule:ko-over-en";
    QVERIFY(by_rule);
    auto results = w.list_eval_results();
    QVERIFY(results.is_ok());
    std::set<int64_t> evaluated;
    std::set<std::string> tasks;
    for (const auto& r : *results) {
      if (r.checkpoint_id) evaluated.insert(*r.checkpoint_id);
      tasks.insert(r.task);
    }
    QVERIFY2(evaluated.size() >= 4, qPrintable(QString::number(evaluated.size())));
    QVERIFY(tasks.count("demo_faq_mc") && tasks.count("demo_faq_next"));
    QVERIFY(fs::exists(ws_ / "rag" / "faq"));

    // Resumable: a second run skips every stage.
    QString again;
    QCOMPARE(runDemo(&again), 0);
    QCOMPARE(again.count("done before, skipped"), 12);
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestDemoLoop)
#include "test_demo_loop.moc"
