// The annotation page's model layer without widgets: queue items (pairs across two models,
// consecutive pairs, waiting prompts), blind order, decisions written at once, skip to the
// back, undo back to the item, two annotators and the disagreement filter, ranking mode,
// repairs, multi-turn branches, candidates streaming in from another connection, best-of-N
// scores and the queue table, word-diff HTML.
#include <QtTest>

#include <filesystem>

#include "annotation_session.h"
#include "diff_html.h"
#include "prefs/pref_store.h"
#include "queue_model.h"
#include "store/workspace.h"
#include "../prefs/prefs_test_support.h"

using namespace kanana;
using namespace kanana::annotate;
using kanana::test::user;
namespace fs = std::filesystem;

namespace {


}  // namespace

class TestAnnotateSession : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  int counter_ = 0;
  std::shared_ptr<store::Workspace> ws_;
  qint64 set_ = 0, p1_ = 0, p2_ = 0, p3_ = 0;
  std::vector<qint64> a_, b_, c_;  // P1's model-A and model-B candidates, P2's candidates

  void makeFixture() {
    const fs::path dir = fs::path(tmp_.path().toStdString()) / ("ws" + std::to_string(++counter_));
    auto ws = store::Workspace::create(dir, "annotate");
    QVERIFY2(ws.is_ok(), ws.status().to_string().c_str());
    ws_ = std::move(ws).value();
    prefs::PrefStore s(*ws_);
    qint64 cks[2];
    for (int m = 0; m < 2; ++m) {
      const fs::path model = dir / "models" / (m ? "B" : "A");
      fs::create_directories(model);
      QFile f(QString::fromStdString((model / "config.json").string()));
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write("{}");
      f.close();
      cks[m] = *s.find_or_add_checkpoint(model);
    }
    set_ = *s.find_or_create_prompt_set("set");
    p1_ = *s.add_prompt(set_, {.messages = user("서울에 대해 알려줘")});
    p2_ = *s.add_prompt(set_, {.messages = user("Name three colours.")});
    p3_ = *s.add_prompt(set_, {.messages = user("Waiting prompt")});
    a_.clear(), b_.clear(), c_.clear();
    auto add = [&](qint64 prompt, const std::string& text, std::optional<int64_t> ck) {
      store::CandidateRecord r;
      r.prompt_id = prompt;
      r.text = text;
      r.checkpoint_id = ck;
      return *s.add_candidate(r);
    };
    // Interleaved on purpose: pairing goes by model, not by insertion order.
    a_.push_back(add(p1_, "서울은 한국의 수도입니다.", cks[0]));
    a_.push_back(add(p1_, "서울은 큰 도시입니다.", cks[0]));
    b_.push_back(add(p1_, "Seoul is the capital.", cks[1]));
    b_.push_back(add(p1_, "I don't know.", cks[1]));
    for (const char* t : {"red, green, blue", "red green", "cyan, magenta, yellow"}) c_.push_back(add(p2_, t, std::nullopt));
    add(p3_, "only one so far", std::nullopt);
  }

  static std::vector<qint64> sorted(std::vector<qint64> v) {
    std::sort(v.begin(), v.end());
    return v;
  }

 private Q_SLOTS:
  void init() { makeFixture(); }

  void itemsPairModelsAndWaitForCandidates() {
    AnnotationSession s;
    s.setAnnotator("alice");
    s.setWorkspace(ws_);
    QString error;
    QVERIFY2(s.setPromptSet(set_, &error), qPrintable(error));
    QCOMPARE(s.rowCount(), 5);
    QCOMPARE(sorted(s.item(0).candidates), sorted({a_[0], b_[0]}));
    QCOMPARE(sorted(s.item(1).candidates), sorted({a_[1], b_[1]}));
    QCOMPARE(sorted(s.item(2).candidates), sorted({c_[0], c_[1]}));
    QCOMPARE(sorted(s.item(3).candidates), sorted({c_[2], c_[0]}));  // odd one out meets the first
    QCOMPARE(s.item(4).state, ItemState::kWaiting);
    const QueueProgress p = s.progress();
    QCOMPARE(p.items, 4);
    QCOMPARE(p.waiting, 1);
    QCOMPARE(p.labelled, 0);
    // Blind order: fixed per item and annotator.
    const auto first = s.item(0).candidates;
    QVERIFY(s.reload(&error));
    QCOMPARE(s.item(0).candidates, first);
    // Without blind order: model A on the left, candidates in their order.
    s.setBlind(false);
    QCOMPARE(s.item(0).candidates, (std::vector<qint64>{a_[0], b_[0]}));
    QCOMPARE(s.item(3).candidates, (std::vector<qint64>{c_[2], c_[0]}));
  }

  void decisionsAreSavedAtOnceAndTheQueueMovesOn() {
    AnnotationSession s;
    s.setAnnotator("alice");
    s.setWorkspace(ws_);
    QString error;
    QVERIFY(s.setPromptSet(set_, &error));
    QSignalSpy saved(&s, &AnnotationSession::decisionSaved);
    QCOMPARE(s.currentRow(), 0);
    const auto shown = s.current()->candidates;
    s.setReason("더 정확함");
    QVERIFY2(s.choose(1, &error), qPrintable(error));
    QCOMPARE(saved.count(), 1);
    // Saved in the database: another connection sees it.
    {
      auto other = store::Workspace::open(ws_->root());
      QVERIFY(other.is_ok());
      prefs::PrefStore store(**other);
      auto js = store.list_judgements(set_);
      QCOMPARE(js->size(), size_t(1));
      QCOMPARE(*js->front().chosen_id, shown[1]);
      QCOMPARE(*js->front().rejected_id, shown[0]);
      QCOMPARE(js->front().annotator, std::string("alice"));
      QCOMPARE(js->front().reason, std::string("더 정확함"));
    }
    // The "to label" view dropped the labelled item; the next one is current.
    QCOMPARE(s.rowCount(), 4);
    QCOMPARE(s.current()->key(), s.item(0).key());
    QCOMPARE(s.progress().labelled, 1);
    // Tie, then skip: the skipped item goes to the back.
    QVERIFY(s.tie(&error));
    const QString skippedKey = s.current()->key();
    s.skip();
    QVERIFY(s.current()->key() != skippedKey);
    QCOMPARE(s.item(s.rowCount() - 1).key(), skippedKey);
    QCOMPARE(s.item(s.rowCount() - 1).state, ItemState::kSkipped);
    // A waiting item cannot be decided.
    s.setFilter(QueueFilter::kAll);
    s.setCurrentRow(s.rowOfPrompt(p3_));
    QCOMPARE(s.current()->state, ItemState::kWaiting);
    QVERIFY(!s.choose(0, &error));
    QVERIFY(error.contains("waiting"));
    // Undo the tie: its item is current again and to label.
    s.setFilter(QueueFilter::kToLabel);
    QVERIFY2(s.undo(&error), qPrintable(error));
    QCOMPARE(s.current()->state, ItemState::kToLabel);
    QCOMPARE(sorted(s.current()->candidates), sorted({a_[1], b_[1]}));
    QCOMPARE(s.progress().labelled, 1);
    QVERIFY(s.undo(&error));
    QVERIFY(!s.undo(&error));  // nothing left for alice
    QVERIFY(error.contains("Nothing to undo"));
  }

  void twoAnnotatorsAndTheDisagreementFilter() {
    QString error;
    for (const char* who : {"alice", "bob"}) {
      AnnotationSession s;
      s.setAnnotator(who);
      s.setWorkspace(ws_);
      QVERIFY(s.setPromptSet(set_, &error));
      s.setBlind(false);
      // alice prefers the lower id on both P1 items; bob agrees on the first only.
      QVERIFY(s.choose(0, &error));
      QVERIFY(s.choose(std::string(who) == "alice" ? 0 : 1, &error));
    }
    AnnotationSession s;
    s.setAnnotator("carol");
    s.setWorkspace(ws_);
    QVERIFY(s.setPromptSet(set_, &error));
    QCOMPARE(s.annotators(), (QStringList{"alice", "bob"}));
    s.setFilter(QueueFilter::kDisagreements);
    QCOMPARE(s.rowCount(), 1);
    QCOMPARE(sorted(s.item(0).candidates), sorted({a_[1], b_[1]}));
    QVERIFY(s.item(0).disagreement);
    const QStringList labels = s.labelsOf(s.item(0));
    QCOMPARE(labels.size(), 2);
    QVERIFY2(labels.join('|').contains("alice:") && labels.join('|').contains("bob:"), qPrintable(labels.join('|')));
    QCOMPARE(s.progress().disagreements, 1);
  }

  void rankingRepairsAndBranches() {
    AnnotationSession s;
    s.setAnnotator("alice");
    s.setWorkspace(ws_);
    QString error;
    QVERIFY(s.setPromptSet(set_, &error));
    s.setMode(Mode::kRanking);
    QCOMPARE(s.rowCount(), 3);  // P1 (4 candidates), P2 (3), P3 waiting
    QCOMPARE(s.item(0).candidates.size(), size_t(4));
    QVERIFY(!s.choose(0, &error));
    const auto shown = s.current()->candidates;
    QVERIFY(!s.rank({0}, &error));
    QVERIFY(!s.rank({0, 7}, &error));
    QVERIFY2(s.rank({2, 0, 3, 1}, &error), qPrintable(error));
    prefs::PrefStore store(*ws_);
    auto js = store.list_judgements(set_);
    QCOMPARE(js->back().kind, prefs::JudgementKind::kRanking);
    QCOMPARE(js->back().ranking, (std::vector<int64_t>{shown[2], shown[0], shown[3], shown[1]}));
    QCOMPARE(s.current()->promptId, p2_);
    // A repair keeps the item current.
    const qint64 repaired = s.current()->candidates[1];
    QVERIFY(!s.edit(1, "", &error));
    QVERIFY2(s.edit(1, "red, green and blue", &error), qPrintable(error));
    QCOMPARE(s.current()->promptId, p2_);
    QCOMPARE(store.list_judgements(set_)->back().edited_text, std::string("red, green and blue"));
    QCOMPARE(*store.list_judgements(set_)->back().chosen_id, repaired);
    // Branch from the reply alice ranked first on P1.
    s.setFilter(QueueFilter::kAll);
    s.setCurrentRow(s.rowOfPrompt(p1_));
    QCOMPARE(s.preferredCandidate().value_or(0), shown[2]);
    const qint64 branch = s.continueBranch(*s.preferredCandidate(), "더 자세히", &error);
    QVERIFY2(branch > 0, qPrintable(error));
    QCOMPARE(s.current()->promptId, branch);
    QCOMPARE(s.current()->state, ItemState::kWaiting);
    const prefs::Prompt* p = s.prompt(branch);
    QVERIFY(p);
    QCOMPARE(p->messages.size(), size_t(3));
    QCOMPARE(p->messages[2]["content"], Json("더 자세히"));
  }

  void candidatesStreamInAndScoresRank() {
    AnnotationSession s;
    s.setAnnotator("alice");
    s.setWorkspace(ws_);
    QString error;
    QVERIFY(s.setPromptSet(set_, &error));
    QueueModel model(&s);
    QCOMPARE(model.rowCount(), 5);
    QSignalSpy queue(&s, &AnnotationSession::queueChanged);
    // Another connection (the generation thread's) adds P3's second candidate.
    qint64 added = 0;
    {
      auto other = store::Workspace::open(ws_->root());
      prefs::PrefStore store(**other);
      store::CandidateRecord r;
      r.prompt_id = p3_;
      r.text = "now there are two";
      added = *store.add_candidate(r);
    }
    s.candidateAdded(p3_, added);
    QCOMPARE(queue.count(), 1);
    QCOMPARE(model.rowCount(), 5);
    QCOMPARE(s.item(4).state, ItemState::kToLabel);
    QCOMPARE(s.progress().waiting, 0);
    s.candidateAdded(p3_, added);  // twice is once
    QCOMPARE(queue.count(), 1);
    // Best-of-N.
    s.setScores(p2_, {{c_[0], 0.5}, {c_[1], -1.0}, {c_[2], 2.25}});
    auto best = s.best(p2_);
    QVERIFY(best.has_value());
    QCOMPARE(best->first, c_[2]);
    QCOMPARE(model.data(model.index(2, QueueModel::kBest)).toString(), QStringLiteral("reply 3 of 3: 2.250"));
    QVERIFY(!s.best(p1_).has_value());
    QVERIFY(model.data(model.index(0, QueueModel::kPrompt)).toString().contains(QStringLiteral("서울")));
  }

  void diffHtmlMarksWords() {
    const DiffHtml d = diffHtml(QStringLiteral("The cat <b>sat</b>"), QStringLiteral("The dog <b>sat</b>"));
    QVERIFY(d.left.contains(QStringLiteral("line-through;\">cat</span>")));
    QVERIFY(d.right.contains(QStringLiteral("#1b5e20;\">dog</span>")));
    QVERIFY(d.left.contains(QStringLiteral("&lt;b&gt;")));  // escaped, not markup
    QVERIFY(d.similarity > 0.5 && d.similarity < 1.0);
    QCOMPARE(plainHtml(QStringLiteral("a\nb")), QStringLiteral("a<br>b"));
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestAnnotateSession)
#include "test_annotate_session.moc"
