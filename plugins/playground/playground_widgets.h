// Small widgets the three Playground modes share: the sampling controls, the checkpoint
// picker (workspace checkpoints, model folders under runs/ and models/, or any folder), the
// transcript view with per-turn edit links, and the raw prompt viewer (rendered template and
// token ids).
#pragma once

#include <QDialog>
#include <QTextBrowser>
#include <QWidget>
#include <vector>

#include "chat/chat_model.h"
#include "chat_session.h"

class QCheckBox;
class QComboBox;
class QScrollArea;
class QDoubleSpinBox;
class QSpinBox;
class QToolButton;

namespace kanana::gui {
class WorkbenchContext;
}

namespace kanana::playground {

// The scrollable settings column on the left of every mode (fixed width range, no horizontal bar).
QScrollArea* settingsScrollArea(QWidget* settings, QWidget* parent);

class SamplingPanel : public QWidget {
  Q_OBJECT
 public:
  explicit SamplingPanel(QWidget* parent = nullptr);
  chat::ChatSampling sampling() const;
  void setSampling(const chat::ChatSampling& s);

 Q_SIGNALS:
  void changed();

 private:
  QSpinBox* maxNew_;
  QDoubleSpinBox* temperature_;
  QDoubleSpinBox* topP_;
  QSpinBox* topK_;
  QDoubleSpinBox* minP_;
  QDoubleSpinBox* penalty_;
  QSpinBox* seed_;
  QCheckBox* greedy_;
};

class CheckpointPicker : public QWidget {
  Q_OBJECT
 public:
  CheckpointPicker(gui::WorkbenchContext* context, QWidget* parent = nullptr);
  QString currentDir() const;
  void setCurrentDir(const QString& dir);  // adds it when it is not listed
  QComboBox* combo() const { return combo_; }
  void setPlaceholder(const QString& text);

 public Q_SLOTS:
  void refresh();

 Q_SIGNALS:
  void chosen(const QString& dir);  // the user picked a folder ("" for the placeholder)

 private:
  gui::WorkbenchContext* context_;
  QComboBox* combo_;
  QToolButton* browse_;
  QString placeholder_;
};

// A conversation as HTML: one block per turn with its role, text and stats, an "edit" link per
// turn (anchor "edit:<index>"), and the reply being streamed at the end.
class TranscriptView : public QTextBrowser {
  Q_OBJECT
 public:
  explicit TranscriptView(QWidget* parent = nullptr);
  void setTitle(const QString& title) { title_ = title; }
  void showTurns(const std::vector<ChatTurn>& turns, const QString& system, const QString& streaming, bool busy);

 Q_SIGNALS:
  void editRequested(int index);

 private:
  QString title_;
};

// The rendered prompt and its tokens (id, piece) side by side.
class RawPromptDialog : public QDialog {
  Q_OBJECT
 public:
  RawPromptDialog(const QString& title, const QString& text, const QVector<int>& ids, const QStringList& pieces,
                  QWidget* parent = nullptr);
};

QString escapeHtml(const QString& text);  // with line breaks kept

}  // namespace kanana::playground
