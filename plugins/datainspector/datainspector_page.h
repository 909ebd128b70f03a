// The Data Inspector page: open a corpus (file dialog, the workspace's datasets, or the demo
// corpora), browse it in the virtualized table, read one document with its PII, duplicate
// and Korean/English spans highlighted, tune the filter recipe on signal histograms with a
// live keep-rate, see what each rule removed, browse duplicate clusters, label documents
// for the quality classifier (keys 1/G good, 0/B bad) and export the kept set and recipe.
// All logic lives in the model layer (corpus_index.h ... label_store.h); this is widgets.
// Threading: GUI thread; the models' background work reports through queued signals.
#pragma once

#include <QPointer>
#include <QTimer>
#include <QWidget>
#include <memory>

class QComboBox;
class QLabel;
class QListWidget;
class QProgressBar;
class QPushButton;
class QTableView;
class QTableWidget;
class QTextEdit;
class QVBoxLayout;

namespace kanana::gui {
class WorkbenchContext;
}

namespace kanana::datainspector {

class CorpusIndex;
class SignalsCache;
class FilterModel;
class DocumentTableModel;
class HistogramPlot;
class LabelStore;

class DataInspectorPage : public QWidget {
  Q_OBJECT
 public:
  DataInspectorPage(gui::WorkbenchContext* context, QWidget* parent = nullptr);
  ~DataInspectorPage() override;

  bool openCorpus(const QString& path, QString* error);

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  QWidget* buildToolbar();
  QWidget* buildHistograms();
  QWidget* buildRules();
  QWidget* buildDuplicates();
  void refillSources();
  void showDocument(qint64 row);
  void updateStatus();
  void updateKeepRate();
  void refreshHistograms();
  void refreshRules();
  void refreshClusters();
  void onThresholdMoved(int rule, bool isMin, double value);
  void exportKept();
  void exportRecipe();
  void labelCurrent(bool good);
  QString recipeDefaultPath() const;

  gui::WorkbenchContext* context_;
  std::unique_ptr<CorpusIndex> index_;
  std::unique_ptr<SignalsCache> cache_;
  std::unique_ptr<FilterModel> filter_;
  std::unique_ptr<DocumentTableModel> model_;
  std::unique_ptr<LabelStore> labels_;
  qint64 openedAtMs_ = 0;
  qint64 firstRowsMs_ = -1;
  qint64 indexMs_ = -1;
  qint64 currentRow_ = -1;
  bool viewerPending_ = false;  // the viewer shows a row whose signals were not ready

  QComboBox* sources_ = nullptr;
  QLabel* status_ = nullptr;
  QProgressBar* progress_ = nullptr;
  QLabel* keepRate_ = nullptr;
  QPushButton* labelMode_ = nullptr;
  QTableView* table_ = nullptr;
  QLabel* docHeader_ = nullptr;
  QTextEdit* viewer_ = nullptr;
  QListWidget* signalList_ = nullptr;
  QVBoxLayout* plotsLayout_ = nullptr;
  QList<QPointer<HistogramPlot>> plots_;
  QTableWidget* rules_ = nullptr;
  QListWidget* clusters_ = nullptr;
  QLabel* viewFilter_ = nullptr;
  QTimer refresh_;
  bool refreshingRules_ = false;
};

}  // namespace kanana::datainspector
