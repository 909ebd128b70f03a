// Tools mode: a checkpoint, the tools it may call (built-ins plus those plugins register
// through gui::IToolProvider), and a transcript that shows every model output, call, argument
// and result (or error) of the function-calling loop. Side-effect tools ask the user with a
// QMessageBox before they run.
#pragma once

#include <QJsonArray>
#include <QWidget>
#include <vector>

#include "tokenizer/chat_template.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QPushButton;
class QSpinBox;
class QTextBrowser;
class QTreeWidget;

namespace kanana::gui {
class WorkbenchContext;
}

namespace kanana::playground {

class CheckpointPicker;
class PlaygroundEngine;
class SamplingPanel;
struct ToolSetup;

class ToolsPanel : public QWidget {
  Q_OBJECT
 public:
  ToolsPanel(gui::WorkbenchContext* context, QWidget* parent = nullptr);

  PlaygroundEngine* engine() const { return engine_; }
  ToolSetup setup() const;
  void refreshTools();
  void run(const QString& question);
  QTreeWidget* transcript() const { return transcript_; }
  const std::vector<tok::ChatMessage>& conversation() const { return conversation_; }

 private:
  void addEvent(const QJsonObject& event);
  void updateButtons();
  bool confirm(const QString& tool, const QString& args);

  gui::WorkbenchContext* context_;
  PlaygroundEngine* engine_;
  CheckpointPicker* model_;
  QLabel* modelInfo_;
  QListWidget* tools_;
  QComboBox* ragIndex_;
  QSpinBox* maxSteps_;
  SamplingPanel* sampling_;
  QLineEdit* input_;
  QPushButton* run_;
  QPushButton* stop_;
  QPushButton* reset_;
  QPushButton* raw_;
  QPushButton* save_;
  QTreeWidget* transcript_;
  QTextBrowser* answer_;
  QLabel* status_;
  std::vector<tok::ChatMessage> conversation_;
  QString streaming_;
  int request_ = 0;
};

}  // namespace kanana::playground
