// Chat mode: a checkpoint (and optionally a second one side by side on the same user turns),
// a system prompt, sampling controls, streaming replies with tokens/s, stop, regenerate, edit
// any turn and continue, the raw prompt view, conversations saved in the workspace, and "send
// to annotation". Widgets only; ChatSession and PlaygroundEngine do the work.
#pragma once

#include <QWidget>
#include <optional>

class QCheckBox;
class QComboBox;
class QLabel;
class QPlainTextEdit;
class QPushButton;

namespace kanana::gui {
class WorkbenchContext;
}

namespace kanana::playground {

class ChatSession;
class CheckpointPicker;
class PlaygroundEngine;
class SamplingPanel;
class TranscriptView;

class ChatPanel : public QWidget {
  Q_OBJECT
 public:
  ChatPanel(gui::WorkbenchContext* context, QWidget* parent = nullptr);
  ~ChatPanel() override;

  ChatSession* session(int column = 0) const { return column == 0 ? sessionA_ : sessionB_; }
  PlaygroundEngine* engine(int column = 0) const { return column == 0 ? engineA_ : engineB_; }
  bool comparing() const;
  void setComparing(bool on);
  void loadCheckpoint(int column, const QString& dir);
  void sendMessage(const QString& text);   // what the Send button does
  std::optional<int64_t> conversationId() const { return conversationId_; }
  bool saveConversation(QString* error);
  bool sendToAnnotation(QString* error);

 private:
  void updateViews();
  void updateButtons();
  void editTurn(int column, int index);
  void showRaw(int column);
  void refreshSaved();
  void openSaved(int index);
  void applySettings();

  gui::WorkbenchContext* context_;
  PlaygroundEngine* engineA_;
  PlaygroundEngine* engineB_;
  ChatSession* sessionA_;
  ChatSession* sessionB_;
  CheckpointPicker* pickerA_;
  CheckpointPicker* pickerB_;
  QCheckBox* compare_;
  QLabel* modelInfoA_;
  QLabel* modelInfoB_;
  QPlainTextEdit* system_;
  SamplingPanel* sampling_;
  TranscriptView* viewA_;
  TranscriptView* viewB_;
  QPlainTextEdit* input_;
  QPushButton* send_;
  QPushButton* stop_;
  QPushButton* regenerate_;
  QPushButton* clear_;
  QPushButton* raw_;
  QPushButton* save_;
  QPushButton* annotate_;
  QComboBox* saved_;
  QComboBox* weights_;  // LibTorch or the CPU engine's weight format, for both columns
  QLabel* status_;
  std::optional<int64_t> conversationId_;
};

}  // namespace kanana::playground
