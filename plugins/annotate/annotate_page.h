// The Preference Annotation page: choose a prompt set and one or two checkpoints, generate N
// candidates per prompt in the background (they appear in the queue as they finish), read
// them side by side with their word-level differences marked, and decide from the keyboard:
//   pairwise mode   1 / 2 the better one, T tie, S skip, E edit (repair), C continue the
//                   chosen reply with a new user turn (multi-turn branch), Ctrl+Z undo
//   ranking mode    the candidates' numbers best first (saved when all are ranked, or Enter
//                   after two or more), Backspace starts the ranking again
// A reason typed in the reason box goes with the next decision. The queue shows what is left
// for this annotator, everything, or the items where annotators disagree; with a reward model
// (or any scoring function, RewardScorer) a best-of-N column and per-candidate scores appear.
// All logic lives in AnnotationSession (model), GenerationController and RewardScorer
// (background threads); this is widgets.
// Threading: GUI thread; background work reports through queued signals.
#pragma once

#include <QPointer>
#include <QTimer>
#include <QWidget>
#include <functional>
#include <memory>
#include <set>
#include <vector>

class QCheckBox;
class QComboBox;
class QFrame;
class QHBoxLayout;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableView;
class QTextBrowser;
class QToolButton;

namespace kanana::gui {
class WorkbenchContext;
}

namespace kanana::annotate {

class AnnotationSession;
class GenerationController;
class QueueModel;
class RewardScorer;

class AnnotatePage : public QWidget {
  Q_OBJECT
 public:
  explicit AnnotatePage(gui::WorkbenchContext* context, QWidget* parent = nullptr);
  ~AnnotatePage() override;

  AnnotationSession* session() const { return session_; }
  GenerationController* generation() const { return generation_; }
  RewardScorer* scorer() const { return scorer_; }

  // What the controls do, callable from tests and scripts.
  void setModels(const QString& modelA, const QString& modelB = {});
  void setCandidatesPerPrompt(int n);
  void setMaxNewTokens(int n);
  void setAnnotator(const QString& name);
  bool selectPromptSet(qint64 id);
  bool startGeneration(QString* error, const QList<qint64>& promptIds = {});
  bool importPrompts(const QString& file, QString* error);
  bool editCurrent(int displayIndex, const QString& text, QString* error);
  // Continue the candidate this annotator preferred on the current prompt with `userText`,
  // then generate candidates for the new turn.
  bool continueCurrent(const QString& userText, QString* error);
  bool exportPairs(const QString& file, bool messagesForm, QString* error);
  const std::vector<int>& rankBuffer() const { return rankBuffer_; }
  QString statusText() const;

 private:
  QWidget* buildToolbar();
  QWidget* buildDecisionBar();
  void installShortcuts();
  void onWorkspaceChanged();
  void refillSets();
  void refillModels();
  void showCurrent();
  void updateProgress();
  void updateButtons();
  void setStatus(const QString& text, bool error = false);
  void onDigit(int digit);
  void decide(const std::function<bool(QString*)>& action);
  void askEdit();
  void askContinue();
  void chooseRewardModel();
  void scheduleScoring(qint64 promptId);
  void flushScoring();
  void browseModel(QComboBox* combo);
  QStringList models() const;
  void saveSettings();

  gui::WorkbenchContext* context_;
  AnnotationSession* session_;
  QueueModel* queueModel_;
  GenerationController* generation_;
  RewardScorer* scorer_;
  std::vector<int> rankBuffer_;
  std::set<qint64> pendingScores_;
  QTimer scoreTimer_;
  bool filling_ = false;

  QComboBox* sets_ = nullptr;
  QComboBox* modelA_ = nullptr;
  QComboBox* modelB_ = nullptr;
  QSpinBox* perPrompt_ = nullptr;
  QSpinBox* maxTokens_ = nullptr;
  QPushButton* generate_ = nullptr;
  QPushButton* stop_ = nullptr;
  QLineEdit* annotator_ = nullptr;
  QComboBox* mode_ = nullptr;
  QComboBox* filter_ = nullptr;
  QCheckBox* blind_ = nullptr;
  QCheckBox* diff_ = nullptr;
  QPushButton* reward_ = nullptr;
  QTableView* queue_ = nullptr;
  QProgressBar* progress_ = nullptr;
  QLabel* progressLabel_ = nullptr;
  QProgressBar* genProgress_ = nullptr;
  QTextBrowser* conversation_ = nullptr;
  QHBoxLayout* panes_ = nullptr;
  std::vector<QFrame*> paneFrames_;
  QLabel* labels_ = nullptr;
  QLineEdit* reason_ = nullptr;
  QLabel* rankLabel_ = nullptr;
  QLabel* status_ = nullptr;
  std::vector<QPushButton*> decisionButtons_;
};

}  // namespace kanana::annotate
