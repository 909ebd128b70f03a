// RAG mode: pick or create an index (<workspace>/rag/<name>), ingest files, folders and
// workspace datasets into it (progress, cancel), ask a question, and read the answer with its
// numbered citations; clicking [n] (or a source in the list) opens the cited passage, read
// from its source file at the recorded byte range.
#pragma once

#include <QJsonArray>
#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTextBrowser;

namespace kanana::gui {
class WorkbenchContext;
}

namespace kanana::playground {

class CheckpointPicker;
class PlaygroundEngine;
class SamplingPanel;
struct RagSettings;

class RagPanel : public QWidget {
  Q_OBJECT
 public:
  RagPanel(gui::WorkbenchContext* context, QWidget* parent = nullptr);

  PlaygroundEngine* engine() const { return engine_; }
  RagSettings settings() const;
  void setIndexDir(const QString& dir);
  void addPaths(const QStringList& paths);
  void ask(const QString& question);
  // Shows citation `number` of the last answer in the passage viewer; false if there is none.
  bool openCitation(int number);
  QString answerText() const { return answer_; }
  const QJsonArray& citations() const { return citations_; }

 private:
  void refreshIndexes();
  void refreshDatasets();
  void renderAnswer(bool streaming);
  void updateButtons();

  gui::WorkbenchContext* context_;
  PlaygroundEngine* engine_;
  QComboBox* index_;
  CheckpointPicker* embedder_;
  CheckpointPicker* model_;
  QLabel* modelInfo_;
  QLabel* indexInfo_;
  QPushButton* addFiles_;
  QPushButton* addFolder_;
  QComboBox* datasets_;
  QPushButton* addDataset_;
  QProgressBar* progress_;
  QPushButton* cancel_;
  QComboBox* mode_;
  QSpinBox* k_;
  SamplingPanel* sampling_;
  QLineEdit* question_;
  QPushButton* askButton_;
  QTextBrowser* answerView_;
  QListWidget* sources_;
  QTextBrowser* passage_;
  QString customIndex_;
  QString answer_;
  QString failure_;  // why the last question got no answer (e.g. the prompt overflowing the context)
  QJsonArray citations_;
  int request_ = 0;
};

}  // namespace kanana::playground
