// The Surgery page: pick a checkpoint (shape, parameters, FLOPs per token), estimate or load
// its importance scores (a background job with progress and cancel), look at them (heads ×
// layers heat map, layer bars, neuron histogram, channel curve), edit a target shape with a
// live parameter/FLOP preview and the importance mass it would remove, launch prune →
// distill as a workspace run (core/jobs), and compare teacher and student: validation
// curves from the run's events and generations side by side.
//
// Widgets only: state lives in SurgerySession, slow work in SurgeryController.
#pragma once

#include <QWidget>

#include <memory>

#include "surgery_controller.h"
#include "surgery_session.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTabWidget;
class QTimer;

namespace kanana::gui {
class MetricPlot;
class WorkbenchContext;
}  // namespace kanana::gui

namespace kanana::jobs {
class EventTailer;
}

namespace kanana::surgeryplugin {

class ImportanceView;

class SurgeryPage : public QWidget {
  Q_OBJECT
 public:
  explicit SurgeryPage(gui::WorkbenchContext* context, QWidget* parent = nullptr);
  ~SurgeryPage() override;

  // Select a model folder (also one that is not in the workspace list).
  bool openModel(const QString& dir);
  // Follow a prune → distill run folder in the Compare tab.
  void followRun(const QString& runDir);
  void setCalibrationPack(const QString& dir);

  SurgerySession* session() const { return session_; }
  SurgeryController* controller() const { return controller_; }
  ImportanceView* importanceView() const { return view_; }
  gui::MetricPlot* comparePlot() const { return valPlot_; }
  gui::MetricPlot* klPlot() const { return klPlot_; }
  QLabel* previewLabel() const { return previewLabel_; }
  QLabel* shapeLabel() const { return shapeLabel_; }
  QSpinBox* hiddenSpin() const { return hidden_; }
  QSpinBox* headsPerGroupSpin() const { return headsPerGroup_; }
  QTabWidget* tabs() const { return tabs_; }
  QPlainTextEdit* teacherText() const { return teacherText_; }
  QPlainTextEdit* studentText() const { return studentText_; }
  PipelineSettings pipelineSettings() const;

 public Q_SLOTS:
  void estimateImportance();
  void launchPipeline();
  void generateSideBySide();

 private:
  QWidget* buildControls();
  QWidget* buildCompareTab();
  void refreshWorkspace();
  void onModelChosen(int index);
  void onModelChanged();
  void onScoresChanged();
  void onPreviewChanged();
  void onTargetEdited();
  void pollRun();
  void setBusy(bool busy, const QString& what);

  gui::WorkbenchContext* context_;
  SurgerySession* session_;
  SurgeryController* controller_;
  // model
  QComboBox* modelCombo_;
  QLabel* shapeLabel_;
  // importance
  QComboBox* packCombo_;
  QSpinBox* samples_;
  QSpinBox* seqLen_;
  QSpinBox* batchSize_;
  QComboBox* batchAgg_;
  QComboBox* seqAgg_;
  QCheckBox* layerLoss_;
  QCheckBox* sumLayers_;
  QPushButton* estimate_;
  QPushButton* loadScores_;
  QPushButton* cancel_;
  QProgressBar* progress_;
  QLabel* scoresLabel_;
  // target
  QSpinBox* layers_;
  QSpinBox* hidden_;
  QSpinBox* intermediate_;
  QSpinBox* headsPerGroup_;
  QCheckBox* tie_;
  QComboBox* depthMetric_;
  QLabel* previewLabel_;
  QLabel* errorLabel_;
  bool updatingSpins_ = false;
  // pipeline
  QSpinBox* steps_;
  QSpinBox* tokens_;
  QDoubleSpinBox* lr_;
  QDoubleSpinBox* temperature_;
  QDoubleSpinBox* alpha_;
  QSpinBox* topK_;
  QLineEdit* runName_;
  QPushButton* launch_;
  QLabel* pipelineLabel_;
  // views
  QTabWidget* tabs_;
  ImportanceView* view_;
  QComboBox* runCombo_;
  gui::MetricPlot* valPlot_;
  gui::MetricPlot* klPlot_;
  QLabel* compareLabel_;
  QLineEdit* prompt_;
  QPushButton* generate_;
  QPlainTextEdit* teacherText_;
  QPlainTextEdit* studentText_;
  QTimer* pollTimer_;
  QString runDir_;
  std::unique_ptr<jobs::EventTailer> tailer_;
  double lastTeacherVal_ = -1, lastStudentVal_ = -1;
};

}  // namespace kanana::surgeryplugin
