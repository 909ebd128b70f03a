// The Evaluation page: pick checkpoints and tasks and launch eval jobs (local, SSH or Slurm,
// through the job system, off the GUI thread); compare checkpoints × tasks in a table with
// bootstrap standard errors; bar, radar and per-language perplexity charts; double-click a
// cell to drill down to the per-item predictions with the log-prob of every choice.
// Reading results and bootstraps runs in EvalController; launching and polling the eval jobs
// in the workbench's job service.
#pragma once

#include <QPointer>
#include <QSet>
#include <QString>
#include <QWidget>

#include "comparison_model.h"
#include "eval_controller.h"
#include "samples_model.h"
#include "sdk/job_service.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QTabWidget;
class QTableView;

namespace kanana::gui {
class WorkbenchContext;
}

namespace kanana::evaluation {

class ScoreBarChart;
class ScoreRadarChart;
class LanguagePerplexityChart;

class EvaluationPage : public QWidget {
  Q_OBJECT
 public:
  explicit EvaluationPage(gui::WorkbenchContext* context, QWidget* parent = nullptr);
  ~EvaluationPage() override;

  // ---- for tests and scripted use
  ComparisonModel* comparisonModel() const { return comparison_; }
  SamplesModel* samplesModel() const { return samples_; }
  ScoreBarChart* barChart() const { return bars_; }
  ScoreRadarChart* radarChart() const { return radar_; }
  LanguagePerplexityChart* languageChart() const { return languages_; }
  EvalController* controller() const { return controller_; }
  QTableView* table() const { return table_; }
  QTabWidget* tabs() const { return tabs_; }
  QString status() const;
  // Adds a task file / pack folder to the task list (checked); false with a status message
  // when it is not one.
  bool addTask(const QString& path);
  // Checks the checkpoints whose name or path is listed (others unchecked).
  void checkCheckpoints(const QStringList& namesOrPaths);
  int checkpointCount() const;
  void setFewshot(int k);
  void setLimit(int n);
  // What the Launch button does.
  bool launchSelected();
  // Loads the per-item predictions of a table cell into the Items tab.
  bool drillDown(int row, int column);
  QString detailText() const;

 Q_SIGNALS:
  void comparisonShown();  // after the table and charts show newly loaded data
  void samplesShown();     // after the Items tab shows a cell's predictions

 private:
  void buildUi();
  void onWorkspaceChanged(const QString& path);
  void onComparison(const ComparisonPtr& data);
  void onCheckpoints(const QList<CheckpointEntry>& checkpoints, const QStringList& evalDatasets);
  void onRuns(const QString& workspace, const QList<gui::RunInfo>& runs);
  void onSamples(const SamplesPtr& samples, const QString& title, const QString& filter);
  void refreshCharts();
  void saveTasks() const;
  void setStatus(const QString& text, bool error = false);

  gui::WorkbenchContext* context_;
  EvalController* controller_;
  gui::JobService* jobs_;   // the context's: launches and polls the eval runs
  QSet<quint64> tickets_;   // this page's launches in flight
  int launchedNow_ = 0;
  ComparisonModel* comparison_;
  SamplesModel* samples_;

  QListWidget* checkpoints_ = nullptr;
  QListWidget* tasks_ = nullptr;
  QListWidget* runs_ = nullptr;
  QSpinBox* fewshot_ = nullptr;
  QSpinBox* limit_ = nullptr;
  QComboBox* target_ = nullptr;
  QLineEdit* host_ = nullptr;
  QPushButton* launch_ = nullptr;
  QLabel* status_ = nullptr;
  QComboBox* metric_ = nullptr;
  QTableView* table_ = nullptr;
  QTabWidget* tabs_ = nullptr;
  ScoreBarChart* bars_ = nullptr;
  ScoreRadarChart* radar_ = nullptr;
  LanguagePerplexityChart* languages_ = nullptr;
  QLabel* itemsTitle_ = nullptr;
  QTableView* itemsTable_ = nullptr;
  QPlainTextEdit* detail_ = nullptr;
};

}  // namespace kanana::evaluation
