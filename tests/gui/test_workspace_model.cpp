// The Workspace plugin's QtCore models over a real workspace made in a temporary folder:
// every table lists what the store holds, and the lineage trees nest records along the
// recorded edges (dataset → run → checkpoint).
#include <QTemporaryDir>
#include <QtTest>

#include "lineage_tree.h"
#include "store/workspace.h"
#include "workspace_table_model.h"

using namespace kanana;
using kanana::workspace::WorkspaceTableModel;
using Kind = WorkspaceTableModel::Kind;

class TestWorkspaceModel : public QObject {
  Q_OBJECT
 private:
  QTemporaryDir dir_;
  std::unique_ptr<store::Workspace> ws_;
  int64_t corpus_ = 0, filtered_ = 0, tokenizer_ = 0, run_ = 0, checkpoint_ = 0;

  static QString cell(const QAbstractItemModel& m, int row, int column) {
    return m.index(row, column).data().toString();
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    auto ws = store::Workspace::create(dir_.filePath(QStringLiteral("ws")).toStdString(), "test workspace");
    QVERIFY2(ws.is_ok(), ws.status().to_string().c_str());
    ws_ = std::move(ws).value();
    store::DatasetRecord corpus;
    corpus.name = "ko-en web";
    corpus.path = "data/web.jsonl";
    corpus.format = "jsonl";
    corpus.doc_count = 1200;
    corpus.byte_count = 1'500'000;
    corpus_ = *ws_->add_dataset(corpus);
    store::DatasetRecord filtered = corpus;
    filtered.name = "ko-en web (filtered)";
    filtered.kind = "filtered";
    filtered.path = "data/web.filtered.jsonl";
    filtered.doc_count = 900;
    filtered_ = *ws_->add_dataset(filtered);
    store::TokenizerRecord tok;
    tok.name = "bpe-32k";
    tok.path = "tokenizers/bpe-32k/tokenizer.json";
    tok.vocab_size = 32000;
    tokenizer_ = *ws_->add_tokenizer(tok);
    store::RunRecord run;
    run.name = "stage1-pretrain";
    run.run_dir = "runs/stage1";
    run_ = *ws_->add_run(run);
    QVERIFY(ws_->update_run_state(run_, store::RunState::kRunning).is_ok());
    store::CheckpointRecord ckpt;
    ckpt.run_id = run_;
    ckpt.name = "step-500";
    ckpt.path = "runs/stage1/checkpoints/step-500";
    ckpt.step = 500;
    ckpt.tokens = 2'048'000;
    checkpoint_ = *ws_->add_checkpoint(ckpt);
    QVERIFY(ws_->add_lineage({"dataset", corpus_}, {"dataset", filtered_}, "filtered").is_ok());
    QVERIFY(ws_->add_lineage({"dataset", filtered_}, {"run", run_}, "trained").is_ok());
    QVERIFY(ws_->add_lineage({"tokenizer", tokenizer_}, {"run", run_}, "tokenized").is_ok());
    QVERIFY(ws_->add_lineage({"run", run_}, {"checkpoint", checkpoint_}, "produced").is_ok());
  }

  void tablesListTheStoredRecords() {
    WorkspaceTableModel datasets(Kind::Datasets);
    QString error;
    QVERIFY2(datasets.reload(ws_.get(), &error), qPrintable(error));
    QCOMPARE(datasets.rowCount(), 2);
    QCOMPARE(datasets.columnCount(), 7);
    const int row = datasets.rowOfId(corpus_);
    QVERIFY(row >= 0);
    QCOMPARE(cell(datasets, row, 0), QStringLiteral("ko-en web"));
    QCOMPARE(cell(datasets, row, 1), QStringLiteral("corpus"));
    QCOMPARE(cell(datasets, row, 3), QStringLiteral("1,200"));
    QCOMPARE(cell(datasets, row, 4), QStringLiteral("1.5 MB"));
    QCOMPARE(datasets.index(row, 4).data(WorkspaceTableModel::SortRole).toLongLong(), 1'500'000);
    QCOMPARE(datasets.lineageKind(), QStringLiteral("dataset"));

    WorkspaceTableModel tokenizers(Kind::Tokenizers);
    QVERIFY(tokenizers.reload(ws_.get()));
    QCOMPARE(tokenizers.rowCount(), 1);
    QCOMPARE(cell(tokenizers, 0, 2), QStringLiteral("32,000"));

    WorkspaceTableModel runs(Kind::Runs);
    QVERIFY(runs.reload(ws_.get()));
    QCOMPARE(runs.rowCount(), 1);
    QCOMPARE(cell(runs, 0, 0), QStringLiteral("stage1-pretrain"));
    QCOMPARE(cell(runs, 0, 2), QStringLiteral("running"));

    WorkspaceTableModel checkpoints(Kind::Checkpoints);
    QVERIFY(checkpoints.reload(ws_.get()));
    QCOMPARE(checkpoints.rowCount(), 1);
    QCOMPARE(cell(checkpoints, 0, 1), QStringLiteral("stage1-pretrain"));  // the run's name, not its id
    QCOMPARE(cell(checkpoints, 0, 2), QStringLiteral("500"));
    QCOMPARE(checkpoints.recordId(0), checkpoint_);

    // A closed workspace empties the table without an error.
    QVERIFY(checkpoints.reload(nullptr));
    QCOMPARE(checkpoints.rowCount(), 0);
  }

  void reloadSeesNewRecords() {
    WorkspaceTableModel datasets(Kind::Datasets);
    QVERIFY(datasets.reload(ws_.get()));
    const int before = datasets.rowCount();
    store::DatasetRecord extra;
    extra.name = "prefs";
    extra.kind = "preferences";
    extra.path = "data/prefs.jsonl";
    QVERIFY(ws_->add_dataset(extra).is_ok());
    QVERIFY(datasets.reload(ws_.get()));
    QCOMPARE(datasets.rowCount(), before + 1);
  }

  void lineageTreesNestAlongEdges() {
    workspace::LineageTrees trees;
    QString error;
    QVERIFY2(workspace::buildLineageTrees(*ws_, QStringLiteral("checkpoint"), checkpoint_, &trees, &error),
             qPrintable(error));
    QCOMPARE(trees.root.label, QStringLiteral("step-500"));
    QCOMPARE(trees.upstreamCount, 4);  // run, filtered, tokenizer, corpus
    QCOMPARE(trees.downstreamCount, 0);
    QCOMPARE(trees.upstream.children.size(), 1);
    const workspace::LineageItem& run = trees.upstream.children[0];
    QCOMPARE(run.kind, QStringLiteral("run"));
    QCOMPARE(run.label, QStringLiteral("stage1-pretrain"));
    QCOMPARE(run.relation, QStringLiteral("produced"));
    QStringList underRun;
    for (const auto& c : run.children) underRun.append(c.label);
    underRun.sort();
    QCOMPARE(underRun, (QStringList{"bpe-32k", "ko-en web (filtered)"}));
    for (const auto& c : run.children) {
      if (c.kind == QLatin1String("dataset")) {
        QCOMPARE(c.children.size(), 1);
        QCOMPARE(c.children[0].label, QStringLiteral("ko-en web"));
        QCOMPARE(c.children[0].relation, QStringLiteral("filtered"));
      }
    }

    QVERIFY(workspace::buildLineageTrees(*ws_, QStringLiteral("dataset"), corpus_, &trees, &error));
    QCOMPARE(trees.upstreamCount, 0);
    QCOMPARE(trees.downstreamCount, 3);  // filtered → run → checkpoint
    QCOMPARE(trees.downstream.children[0].children[0].children[0].label, QStringLiteral("step-500"));
  }

  void lineageOfUnknownRecordIsAnError() {
    workspace::LineageTrees trees;
    QString error;
    const bool ok = workspace::buildLineageTrees(*ws_, QStringLiteral("nonsense"), 1, &trees, &error);
    if (!ok) QVERIFY(!error.isEmpty());
    else QCOMPARE(trees.upstreamCount + trees.downstreamCount, 0);
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestWorkspaceModel)
#include "test_workspace_model.moc"
