// The Jobs page: write or pick a recipe (validated as you type), pick where it runs (this
// machine, an SSH host, a Slurm cluster; the sbatch script is shown before submission),
// launch it (or serve a model over the OpenAI API as a job on the same targets), and watch the workspace's runs: the queue with live states, charts of every
// logged step for one run or several overlaid, the run's event log and stdout/stderr, stop
// and resume. Runs are detached jobs: on start the page re-attaches to those still going
// (those whose processes died without a final state show as failed), and tells the desktop
// when a run it watched finishes or fails.
//
// Threading: widgets and event tailing on the GUI thread (reads are chunked); polling,
// launching, cancelling and resuming on the workbench's job service (gui/sdk/job_service.h).
#pragma once

#include <QHash>
#include <QPointer>
#include <QSet>
#include <QTimer>
#include <QWidget>
#include <memory>

#include "base/status.h"
#include "launch_plan.h"
#include "run_notifications.h"
#include "run_series.h"
#include "runs_model.h"

class QLabel;
class QPlainTextEdit;
class QPushButton;
class QTableView;
class QTabWidget;
class QFrame;

namespace kanana::gui {
class OptionsForm;
class WorkbenchContext;
}

namespace kanana::jobsplugin {

class DesktopNotifier;
class FileFollower;
class RecipeEditor;
class RunCharts;
class TargetPicker;

class JobsPage : public QWidget {
  Q_OBJECT
 public:
  explicit JobsPage(gui::WorkbenchContext* context, QWidget* parent = nullptr);
  ~JobsPage() override;

  RecipeEditor* recipeEditor() const { return editor_; }
  // What Launch starts: a training recipe (the editor) or a model server (the serve form:
  // `kanana serve` settings, run as a job on the picked target like a recipe).
  QTabWidget* launchKindTabs() const { return what_; }
  gui::OptionsForm* serveForm() const { return serveForm_; }
  bool servingSelected() const;
  TargetPicker* targetPicker() const { return picker_; }
  RunCharts* charts() const { return charts_; }
  RunsModel* runsModel() const { return model_; }
  QTableView* runsTable() const { return table_; }
  DesktopNotifier* notifier() const { return notifier_; }
  QPlainTextEdit* eventsLog() const { return eventsLog_; }
  QPlainTextEdit* outputLog() const { return outputLog_; }
  QTabWidget* tabs() const { return tabs_; }
  QPushButton* launchButton() const { return launch_; }
  QString bannerText() const;
  QString detailText() const;

  // The runs charted (the queue's selection), and the one whose logs show (current row).
  QList<qint64> shownRuns() const { return shownOrder_; }
  qint64 focusRun() const { return focus_; }
  void selectRuns(const QList<qint64>& ids);
  const RunSeries* series(qint64 runId) const;

  // The launch the editor and the target picker describe right now.
  Result<LaunchPlan> currentPlan() const;
  // Validates and launches in the background (runLaunched / launchFailed follow). Slurm
  // launches show the sbatch script for confirmation when `confirmSbatch`.
  bool launchCurrent(QString* error, bool confirmSbatch = true);
  void cancelRun(qint64 runId);
  void resumeRun(qint64 runId);
  // Ask the job service for a snapshot now (poll: also ask the launchers how active runs are doing).
  void refreshNow(bool poll = true);
  void setRefreshInterval(int activeMs, int idleMs);
  // Tests and scripted use: no confirmation dialog before stopping a run.
  void setConfirmActions(bool on) { confirmActions_ = on; }

 Q_SIGNALS:
  void runLaunched(qint64 runId);
  void launchFailed(const QString& error);
  void runsUpdated();  // a snapshot of the runs was applied
  void actionFinished(const QString& action, qint64 runId, qint64 newRunId, const QString& error);

 private:
  struct Watched {
    RunSeries series;
    FileFollower* events = nullptr;
  };

  QWidget* buildQueue();
  QWidget* buildMonitor();
  QWidget* buildLauncher();
  QWidget* buildServeForm(QWidget* parent);
  Json serveSettings() const;
  void openWorkspace(const QString& path);
  void applyRuns(const QString& workspace, const QList<RunRow>& rows);
  void syncShownRuns();
  void watch(qint64 runId);
  void unwatch(qint64 runId);
  void onEventLines(qint64 runId, const QByteArray& data, quint64 firstLine);
  void onEventsReset(qint64 runId);
  void setFocus(qint64 runId);
  void updateDetail();
  void updateButtons();
  void showBanner(const QString& title, const QString& body, bool failed);
  QColor colorFor(qint64 runId) const;
  QString runLabel(qint64 runId) const;
  void saveSelection() const;
  QList<qint64> savedSelection() const;

  gui::WorkbenchContext* context_;
  gui::JobService* jobs_;  // the context's (shared with the other pages)
  DesktopNotifier* notifier_;
  RunsModel* model_;
  QTableView* table_ = nullptr;
  RunCharts* charts_ = nullptr;
  QPlainTextEdit* eventsLog_ = nullptr;
  QPlainTextEdit* outputLog_ = nullptr;
  QTabWidget* tabs_ = nullptr;
  QTabWidget* logTabs_ = nullptr;
  QTabWidget* what_ = nullptr;
  RecipeEditor* editor_ = nullptr;
  gui::OptionsForm* serveForm_ = nullptr;
  TargetPicker* picker_ = nullptr;
  QPushButton* launch_ = nullptr;
  QPushButton* preview_ = nullptr;
  QPushButton* stop_ = nullptr;
  QPushButton* resume_ = nullptr;
  QLabel* launchStatus_ = nullptr;
  QLabel* detail_ = nullptr;
  QFrame* banner_ = nullptr;
  QLabel* bannerLabel_ = nullptr;

  QString workspacePath_;
  QHash<qint64, Watched*> watched_;
  QList<qint64> shownOrder_;
  qint64 focus_ = 0;
  FileFollower* output_ = nullptr;  // the focus run's rank-0.log
  FinishWatcher finishWatcher_;
  QSet<quint64> tickets_;  // this page's launches still in flight at the job service
  bool firstSnapshot_ = true;
  bool applyingSelection_ = false;
  bool confirmActions_ = true;
  qint64 selectAfterRefresh_ = 0;
  bool launching_ = false;
};

}  // namespace kanana::jobsplugin
