// The Preference Annotation page's model: one prompt set of the workspace as a queue of items
// to label, and the decisions on them. QtCore only; tests drive it without widgets.
//
// Items: in pairwise mode every prompt gives pairs of its candidates — one candidate of each
// model side by side when the candidates come from two checkpoints, else consecutive pairs
// (an odd last candidate is paired with the first); in ranking mode a prompt with two or more
// candidates is one item ranking all of them. A prompt with fewer than two candidates is one
// item waiting for generation.
//
// Every decision (choose, tie, rank, edit) is written to the database at once by
// prefs::PrefStore (its own transaction), so closing or killing the app loses no decision that
// was shown as saved. Skips are not labels: they only move the item to the back of this
// session's queue. Undo removes the annotator's latest judgement in this prompt set (kept in
// the undo log) and goes back to its item.
//
// Blind mode (default) shows each item's candidates in an order shuffled per item and
// annotator, so the side a model lands on says nothing about which model it is.
//
// Threading: GUI thread only (it uses the WorkbenchContext's workspace connection).
#pragma once

#include <QObject>
#include <QSet>
#include <QString>
#include <QStringList>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "prefs/agreement.h"
#include "prefs/pref_store.h"

namespace kanana::store {
class Workspace;
}

namespace kanana::annotate {

enum class Mode { kPairwise, kRanking };
enum class QueueFilter { kToLabel, kAll, kDisagreements };
enum class ItemState { kWaiting, kToLabel, kLabelled, kSkipped };
QString itemStateName(ItemState state);

struct QueueItem {
  qint64 promptId = 0;
  std::vector<qint64> candidates;  // in display order
  ItemState state = ItemState::kWaiting;
  bool disagreement = false;       // annotators gave this item (or, ranking, this prompt) different labels
  QString key() const;             // prompt and sorted candidate ids: the item's identity
};

struct QueueProgress {
  int items = 0;          // items with two or more candidates
  int labelled = 0;       // ... labelled by this annotator
  int skipped = 0;
  int waiting = 0;        // prompts still waiting for candidates
  int disagreements = 0;  // items with disagreeing annotators
};

struct PromptSetInfo {
  qint64 id = 0;
  QString name;
  qint64 prompts = 0;
};

class AnnotationSession : public QObject {
  Q_OBJECT
 public:
  explicit AnnotationSession(QObject* parent = nullptr);
  ~AnnotationSession() override;

  // ---- what is shown
  void setWorkspace(std::shared_ptr<store::Workspace> workspace);
  std::shared_ptr<store::Workspace> workspace() const { return workspace_; }
  QList<PromptSetInfo> promptSets() const { return sets_; }
  bool setPromptSet(qint64 id, QString* error);
  qint64 promptSetId() const { return setId_; }
  void setAnnotator(const QString& annotator);
  QString annotator() const { return annotator_; }
  void setMode(Mode mode);
  Mode mode() const { return mode_; }
  void setFilter(QueueFilter filter);
  QueueFilter filter() const { return filter_; }
  void setBlind(bool blind);
  bool blind() const { return blind_; }
  // Re-read sets, prompts, candidates and judgements (another process may have written).
  bool reload(QString* error);

  // ---- the queue (visible rows, after the filter)
  int rowCount() const { return static_cast<int>(visible_.size()); }
  const QueueItem& item(int row) const { return items_[visible_[size_t(row)]]; }
  int currentRow() const { return currentRow_; }
  void setCurrentRow(int row);
  const QueueItem* current() const { return currentRow_ >= 0 ? &item(currentRow_) : nullptr; }
  int rowOfPrompt(qint64 promptId) const;  // first visible row of the prompt, -1 if none
  QueueProgress progress() const;
  QStringList annotators() const;  // everyone who labelled in this set

  const prefs::Prompt* prompt(qint64 id) const;
  const prefs::Candidate* candidate(qint64 id) const;
  std::vector<const prefs::Candidate*> candidatesOf(qint64 promptId) const;
  // Labels of an item by every annotator ("alice: 1 better"), for the disagreement view.
  QStringList labelsOf(const QueueItem& item) const;
  QString checkpointName(std::optional<qint64> checkpointId) const;

  // ---- decisions on the current item; each is saved before these return true
  void setReason(const QString& reason) { reason_ = reason; }  // goes with the next decision
  bool choose(int displayIndex, QString* error);               // pairwise: this one is better
  bool tie(QString* error);
  bool rank(const std::vector<int>& displayOrder, QString* error);  // best first, at least two
  bool edit(int displayIndex, const QString& text, QString* error); // a repair of that candidate
  void skip();
  bool undo(QString* error);
  // The candidate this annotator preferred on the current prompt (latest decision), if any.
  std::optional<qint64> preferredCandidate() const;
  // Multi-turn: a new prompt continuing `candidateId` with a user turn. Returns its id (0 on error).
  qint64 continueBranch(qint64 candidateId, const QString& userText, QString* error);

  // ---- streaming and scores
  void candidateAdded(qint64 promptId, qint64 candidateId);
  void setScores(qint64 promptId, const std::map<qint64, double>& scores);
  std::optional<double> score(qint64 candidateId) const;
  // The prompt's best-scored candidate and its score (best-of-N), if scored.
  std::optional<std::pair<qint64, double>> best(qint64 promptId) const;

 Q_SIGNALS:
  void promptSetsChanged();
  void queueChanged();           // rows were rebuilt
  void currentChanged(int row);
  void scoresChanged(qint64 promptId);
  void decisionSaved(qint64 judgementId, const QString& what);

 private:
  bool loadSet(QString* error);
  bool reloadJudgements(QString* error);
  bool record(const prefs::Judgement& j, const QString& what, bool advance, QString* error);
  void rebuild(const QString& keepKey, int advanceFrom);
  std::vector<std::vector<qint64>> groupsFor(qint64 promptId) const;
  void selectKey(const QString& key);
  bool checkCurrent(int needed, QString* error) const;

  std::shared_ptr<store::Workspace> workspace_;
  std::unique_ptr<prefs::PrefStore> store_;
  QList<PromptSetInfo> sets_;
  qint64 setId_ = 0;
  QString annotator_;
  Mode mode_ = Mode::kPairwise;
  QueueFilter filter_ = QueueFilter::kToLabel;
  bool blind_ = true;
  QString reason_;

  std::vector<prefs::Prompt> prompts_;
  std::map<qint64, size_t> promptIndex_;
  std::map<qint64, prefs::Candidate> candidates_;
  std::map<qint64, std::vector<qint64>> byPrompt_;
  std::vector<prefs::Judgement> judgements_;
  std::vector<prefs::ItemLabel> labels_;
  std::set<prefs::ItemKey> mine_;            // items this annotator labelled
  std::set<qint64> rankedByMe_;              // prompts this annotator ranked
  std::set<prefs::ItemKey> disagreeing_;
  std::set<qint64> disagreeingPrompts_;
  QSet<QString> skipped_;
  std::map<qint64, double> scores_;
  std::map<qint64, QString> checkpointNames_;

  std::vector<QueueItem> items_;
  std::vector<size_t> visible_;
  int currentRow_ = -1;
};

}  // namespace kanana::annotate
