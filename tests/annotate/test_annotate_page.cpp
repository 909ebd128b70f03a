// The Preference Annotation page offscreen: decisions from the keyboard (1/2/T, ranking by
// number keys, Ctrl+Z) while typing a reason does not decide anything; candidates generated in
// the background on debug-preset models stream into the queue and can be labelled while the
// generation still runs, with the GUI thread answering timers throughout; Stop cancels; a
// chosen reply is continued into a new turn; best-of-N scores from a scoring function and from
// a reward model trained by `kanana train`.
#include <QCheckBox>
#include <QComboBox>
#include <QElapsedTimer>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QTableView>
#include <QTemporaryDir>
#include <QTextBrowser>
#include <QProgressBar>
#include <QtTest>

#include <filesystem>

#include "../posttrain/byte_tokenizer.h"
#include "../prefs/prefs_test_support.h"
#include "annotate_page.h"
#include "annotation_session.h"
#include "generation_controller.h"
#include "prefs/pref_store.h"
#include "queue_model.h"
#include "reward_scorer.h"
#include "sdk/workbench_context.h"
#include "store/workspace.h"
#include "test_support.h"

using namespace kanana;
using namespace kanana::annotate;
using kanana::test::user;
namespace fs = std::filesystem;

namespace {


}  // namespace

class TestAnnotatePage : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  fs::path root_;
  std::unique_ptr<QSettings> settings_;
  std::unique_ptr<gui::WorkbenchContext> context_;
  std::shared_ptr<store::Workspace> ws_;
  QString s(const fs::path& p) const { return QString::fromStdString(p.string()); }

  size_t judgementCount(qint64 set) {
    auto other = store::Workspace::open(ws_->root());  // a separate connection: what is committed
    if (!other.is_ok()) return 0;
    prefs::PrefStore store(**other);
    auto js = store.list_judgements(set);
    return js.is_ok() ? js->size() : 0;
  }
  std::vector<prefs::Judgement> judgements(qint64 set) {
    auto other = store::Workspace::open(ws_->root());
    prefs::PrefStore store(**other);
    return *store.list_judgements(set);
  }
  static std::vector<qint64> sorted(std::vector<qint64> v) {
    std::sort(v.begin(), v.end());
    return v;
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    root_ = tmp_.path().toStdString();
    for (const auto& [name, seed] : {std::pair{"m1", "3"}, {"m2", "4"}}) {
      auto init = test::run_kanana({"model", "init", "--preset", "debug", "--out", s(root_ / name), "--seed", seed});
      QVERIFY2(init.code == 0, qPrintable(init.err));
      QVERIFY(test::write_byte_tokenizer(root_ / name));
    }
    settings_ = std::make_unique<QSettings>(s(root_ / "settings.ini"), QSettings::IniFormat);
    settings_->setValue("general/torchThreads", 1);
    context_ = std::make_unique<gui::WorkbenchContext>(settings_.get());
    auto ws = store::Workspace::create(root_ / "ws", "annotate");
    QVERIFY2(ws.is_ok(), ws.status().to_string().c_str());
    ws_ = std::move(ws).value();
    context_->setWorkspace(ws_);
  }

  void keyboardDecisions() {
    prefs::PrefStore store(*ws_);
    const qint64 set = *store.find_or_create_prompt_set("keys");
    std::vector<qint64> prompts;
    for (const auto& [prompt, replies] :
         {std::pair<std::string, std::vector<std::string>>{"Capital of Korea?", {"Seoul is the capital.", "Busan is the capital."}},
          {"2+2?", {"4", "five"}},
          {"Three colours?", {"red, green, blue", "red green", "cyan magenta yellow"}}}) {
      const qint64 p = *store.add_prompt(set, {.messages = user(prompt)});
      prompts.push_back(p);
      for (const auto& r : replies) {
        store::CandidateRecord c;
        c.prompt_id = p;
        c.text = r;
        QVERIFY(store.add_candidate(c).is_ok());
      }
    }
    AnnotatePage page(context_.get());
    page.resize(1400, 820);
    page.show();
    QVERIFY(QTest::qWaitForWindowExposed(&page));
    {
      gui::WorkbenchContext noWorkspace(settings_.get());
      AnnotatePage empty(&noWorkspace);
      QCOMPARE(empty.findChild<QProgressBar*>("labelProgress")->text(), QStringLiteral("0 of 0 labelled"));
    }
    auto* progress = page.findChild<QProgressBar*>("labelProgress");
    QVERIFY(progress);
    page.setAnnotator("alice");
    QVERIFY(page.selectPromptSet(set));
    QCOMPARE(progress->text(), QStringLiteral("0 of 4 labelled"));
    AnnotationSession* session = page.session();
    QCOMPARE(session->rowCount(), 4);  // 1 + 1 + 2 pairs
    auto* queue = page.findChild<QTableView*>("queue");
    QVERIFY(queue);
    page.activateWindow();
    queue->setFocus();

    // Side by side with the differing words marked.
    QTRY_COMPARE(page.findChildren<QTextBrowser*>("candidateText").size(), 2);
    bool marked = false;
    for (auto* b : page.findChildren<QTextBrowser*>("candidateText")) marked = marked || b->toHtml().contains("Busan") || b->toHtml().contains("Seoul");
    QVERIFY(marked);

    const auto shown = session->current()->candidates;
    QTest::keyClick(queue, Qt::Key_1);
    QCOMPARE(judgementCount(set), size_t(1));
    QCOMPARE(*judgements(set)[0].chosen_id, shown[0]);
    QTest::keyClick(queue, Qt::Key_T);
    QCOMPARE(judgementCount(set), size_t(2));
    QCOMPARE(progress->text(), QStringLiteral("2 of 4 labelled"));
    QCOMPARE(judgements(set)[1].kind, prefs::JudgementKind::kTie);
    // Typing a reason (with digits) decides nothing; the reason goes with the next key.
    auto* reason = page.findChild<QLineEdit*>("reason");
    reason->setFocus();
    QTest::keyClicks(reason, "2 reasons: shorter");
    QCOMPARE(judgementCount(set), size_t(2));
    QCOMPARE(reason->text(), QStringLiteral("2 reasons: shorter"));
    queue->setFocus();
    QTest::keyClick(queue, Qt::Key_2);
    QCOMPARE(judgementCount(set), size_t(3));
    QCOMPARE(judgements(set)[2].reason, std::string("2 reasons: shorter"));
    QVERIFY(reason->text().isEmpty());
    QVERIFY2(page.statusText().contains("Saved"), qPrintable(page.statusText()));
    // Ctrl+Z takes the last one back.
    QTest::keyClick(queue, Qt::Key_Z, Qt::ControlModifier);
    QCOMPARE(judgementCount(set), size_t(2));
    QVERIFY2(page.statusText().contains("Undone"), qPrintable(page.statusText()));

    // Ranking mode: number keys best first; Enter saves a partial ranking.
    page.findChild<QComboBox*>("mode")->setCurrentIndex(1);
    QCOMPARE(session->mode(), Mode::kRanking);
    session->setCurrentRow(session->rowOfPrompt(prompts[2]));
    QCOMPARE(session->current()->candidates.size(), size_t(3));
    const auto three = session->current()->candidates;
    QTest::keyClick(queue, Qt::Key_3);
    QTest::keyClick(queue, Qt::Key_9);  // no candidate 9: ignored
    QTest::keyClick(queue, Qt::Key_1);
    QCOMPARE(page.rankBuffer(), (std::vector<int>{2, 0}));
    QVERIFY(page.findChild<QLabel*>("ranking")->text().contains("3 > 1"));
    QTest::keyClick(queue, Qt::Key_Return);
    QCOMPARE(judgementCount(set), size_t(3));
    const prefs::Judgement rank = judgements(set)[2];
    QCOMPARE(rank.kind, prefs::JudgementKind::kRanking);
    QCOMPARE(rank.ranking, (std::vector<int64_t>{three[2], three[0]}));
    // A full ranking saves itself.
    session->setCurrentRow(session->rowOfPrompt(prompts[0]));
    QTest::keyClick(queue, Qt::Key_2);
    QTest::keyClick(queue, Qt::Key_1);
    QCOMPARE(judgementCount(set), size_t(4));
    // Repair.
    session->setCurrentRow(session->rowOfPrompt(prompts[1]));
    QString error;
    QVERIFY2(page.editCurrent(1, "4 (two plus two)", &error), qPrintable(error));
    QCOMPARE(judgements(set).back().edited_text, std::string("4 (two plus two)"));
    page.findChild<QComboBox*>("mode")->setCurrentIndex(0);
  }

  void generationStreamsWhileTheGuiAnswers() {
    std::string prompts;
    for (const char* p : {"Tell me about Seoul.", "한국어로 인사해 주세요.", "Write a short poem.", "What is a language model?"})
      prompts += Json{{"prompt", p}}.dump() + "\n";
    test::write_text(root_ / "gen-prompts.jsonl", prompts);
    AnnotatePage page(context_.get());
    page.resize(1400, 820);
    page.show();
    QVERIFY(QTest::qWaitForWindowExposed(&page));
    page.setAnnotator("alice");
    QString error;
    QVERIFY2(page.importPrompts(s(root_ / "gen-prompts.jsonl"), &error), qPrintable(error));
    AnnotationSession* session = page.session();
    const qint64 set = session->promptSetId();
    QCOMPARE(session->rowCount(), 4);
    QCOMPARE(session->progress().waiting, 4);
    page.setModels(s(root_ / "m1"), s(root_ / "m2"));
    page.setCandidatesPerPrompt(2);
    page.setMaxNewTokens(160);
    auto* queue = page.findChild<QTableView*>("queue");
    page.activateWindow();
    queue->setFocus();

    QSignalSpy stored(page.generation(), &GenerationController::candidateStored);
    QSignalSpy finished(page.generation(), &GenerationController::finished);
    // The GUI thread's responsiveness: the longest gap between 10 ms timer ticks.
    QElapsedTimer clock;
    qint64 last = 0, worst = 0;
    int ticks = 0;
    QTimer ticker;
    ticker.setInterval(10);
    connect(&ticker, &QTimer::timeout, [&] {
      const qint64 now = clock.elapsed();
      worst = std::max(worst, now - last);
      last = now;
      ++ticks;
    });
    clock.start();
    ticker.start();
    QVERIFY2(page.startGeneration(&error), qPrintable(error));
    QVERIFY(page.generation()->busy());
    // Label the first pair as soon as it is complete, while generation goes on.
    QTRY_VERIFY_WITH_TIMEOUT(session->current() && session->current()->state == ItemState::kToLabel, 60000);
    const bool busyWhenLabelled = page.generation()->busy();
    const int storedWhenLabelled = stored.count();
    QTest::keyClick(queue, Qt::Key_1);
    QCOMPARE(judgementCount(set), size_t(1));
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 120000);
    ticker.stop();
    const double seconds = clock.elapsed() / 1000.0;
    qInfo("generation of %d candidates took %.2f s; labelled after %d of them (generation still running: %s); "
          "longest GUI-thread gap %lld ms over %d ticks",
          int(stored.count()), seconds, storedWhenLabelled, busyWhenLabelled ? "yes" : "no", worst, ticks);
    QVERIFY2(finished.at(0).at(0).toBool(), qPrintable(finished.at(0).at(2).toString()));
    QCOMPARE(stored.count(), 16);  // 4 prompts x 2 models x 2
    QVERIFY(busyWhenLabelled);
    QVERIFY(storedWhenLabelled < 16);
    QVERIFY2(worst < 1000, qPrintable(QString("the GUI thread stalled for %1 ms").arg(worst)));
    // Every prompt now has two pairs (one candidate of each model side by side).
    session->setFilter(QueueFilter::kAll);
    QCOMPARE(session->rowCount(), 8);
    QCOMPARE(session->progress().waiting, 0);
    for (int r = 0; r < session->rowCount(); ++r) {
      const auto& it = session->item(r);
      QCOMPARE(it.candidates.size(), size_t(2));
      QVERIFY(session->candidate(it.candidates[0])->row.checkpoint_id != session->candidate(it.candidates[1])->row.checkpoint_id);
    }
    session->setFilter(QueueFilter::kToLabel);

    // Multi-turn: continue the chosen reply of the labelled prompt; its candidates are generated.
    session->setFilter(QueueFilter::kAll);
    session->setCurrentRow(0);
    QVERIFY(session->preferredCandidate().has_value());
    QVERIFY2(page.continueCurrent("And then?", &error), qPrintable(error));
    const qint64 branch = session->current()->promptId;
    QCOMPARE(session->prompt(branch)->messages.size(), size_t(3));
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 60000);
    QCOMPARE(session->candidatesOf(branch).size(), size_t(4));
    QCOMPARE(session->prompt(branch)->parent_candidate_id.value_or(0), *session->preferredCandidate());
    session->setFilter(QueueFilter::kToLabel);
  }

  void stopCancelsGeneration() {
    prefs::PrefStore store(*ws_);
    const qint64 set = *store.find_or_create_prompt_set("long");
    for (int i = 0; i < 6; ++i) QVERIFY(store.add_prompt(set, {.messages = user("long " + std::to_string(i))}).is_ok());
    AnnotatePage page(context_.get());
    page.show();
    QVERIFY(page.selectPromptSet(set));
    page.setModels(s(root_ / "m1"));
    page.setCandidatesPerPrompt(8);
    page.setMaxNewTokens(400);
    QSignalSpy stored(page.generation(), &GenerationController::candidateStored);
    QSignalSpy finished(page.generation(), &GenerationController::finished);
    QString error;
    QVERIFY(page.startGeneration(&error));
    QVERIFY(!page.startGeneration(&error));  // one at a time
    QTRY_VERIFY_WITH_TIMEOUT(stored.count() >= 1, 60000);
    QElapsedTimer t;
    t.start();
    page.findChild<QPushButton*>("stopGeneration")->click();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 10000);
    qInfo("stopped %lld ms after Stop, %d of 48 candidates kept", t.elapsed(), int(stored.count()));
    QVERIFY(!finished.at(0).at(0).toBool());
    QVERIFY(finished.at(0).at(1).toBool());  // cancelled
    QVERIFY(stored.count() < 48);
    QVERIFY(t.elapsed() < 5000);
    // What was finished is in the database.
    QCOMPARE(int(store.list_candidates_of_set(set)->size()), int(stored.count()));
  }

  void bestOfNScores() {
    AnnotatePage page(context_.get());
    page.resize(1400, 820);
    page.show();
    AnnotationSession* session = page.session();
    qint64 set = 0;
    for (const auto& info : session->promptSets())
      if (info.name == "gen-prompts") set = info.id;
    QVERIFY(page.selectPromptSet(set));
    session->setFilter(QueueFilter::kAll);
    // Any scoring function: here, longer is better.
    page.scorer()->setFunction(
        [](const Json&, const std::vector<std::string>& replies, const CancelToken*) -> Result<std::vector<double>> {
          std::vector<double> out;
          for (const auto& r : replies) out.push_back(double(r.size()));
          return out;
        },
        "length");
    auto* queue = page.findChild<QTableView*>("queue");
    QTRY_VERIFY_WITH_TIMEOUT(!queue->model()->index(0, QueueModel::kBest).data().toString().isEmpty(), 10000);
    const qint64 prompt = session->item(0).promptId;
    auto best = session->best(prompt);
    QVERIFY(best);
    for (const auto* c : session->candidatesOf(prompt)) QVERIFY(double(c->row.text.size()) <= best->second);
    QTRY_VERIFY_WITH_TIMEOUT([&] {
      for (auto* l : page.findChildren<QLabel*>("candidateHeader"))
        if (l->text().contains("reward")) return true;
      return false;
    }(), 5000);

    // A Bradley-Terry reward model trained for two steps by `kanana train`.
    std::string lines;
    for (int i = 0; i < 16; ++i)
      lines += Json{{"prompt", "q" + std::to_string(i)}, {"chosen", "yes " + std::to_string(i)}, {"rejected", "no"}}.dump() + "\n";
    test::write_text(root_ / "rm-prefs.jsonl", lines);
    QVERIFY(test::write_byte_tokenizer(root_ / "tok"));
    Json recipe = {{"type", "reward"}, {"name", "rm"}, {"model", {{"preset", "debug"}}}, {"seq_len", 48},
                   {"micro_batch_size", 4}, {"schedule", {{"kind", "constant"}, {"peak_lr", 1e-3}}},
                   {"reward", {{"train", s(root_ / "rm-prefs.jsonl").toStdString()}, {"tokenizer", s(root_ / "tok").toStdString()}, {"max_steps", 2}}},
                   {"runtime", {{"peak_tflops", 1.0}}}};
    QVERIFY(write_json_file(root_ / "rm.json", recipe).is_ok());
    auto train = test::run_kanana({"train", "--recipe", s(root_ / "rm.json"), "--run-dir", s(root_ / "rm-run"), "--threads", "1"});
    QVERIFY2(train.code == 0, qPrintable(train.err));
    fs::path ckpt;
    for (const auto& e : fs::directory_iterator(root_ / "rm-run" / "checkpoints"))
      if (e.is_directory()) ckpt = std::max(ckpt, e.path());
    QVERIFY(!ckpt.empty());
    QSignalSpy ready(page.scorer(), &RewardScorer::ready);
    QSignalSpy failed(page.scorer(), &RewardScorer::failed);
    QSignalSpy scored(page.scorer(), &RewardScorer::scored);
    page.scorer()->loadModel(s(ckpt));
    QTRY_VERIFY_WITH_TIMEOUT(ready.count() == 1 || failed.count() > 0, 60000);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.at(0).at(0).toString()));
    QTRY_VERIFY_WITH_TIMEOUT(scored.count() >= 1, 60000);
    const auto ids = scored.at(0).at(1).value<QList<qint64>>();
    const auto values = scored.at(0).at(2).value<QList<double>>();
    QCOMPARE(ids.size(), values.size());
    QVERIFY(!ids.isEmpty());
    for (double v : values) QVERIFY(std::isfinite(v));
    QTRY_VERIFY_WITH_TIMEOUT(session->score(ids[0]).has_value() && *session->score(ids[0]) == values[0], 5000);
  }
};

#include "test_main.h"
KANANA_TEST_MAIN(TestAnnotatePage)
#include "test_annotate_page.moc"
