// The tool bar's workspace switcher: a combo of recent workspaces (current first) and
// Open…/New… buttons. Switching goes through WorkbenchContext, so every page follows.
#pragma once

#include <QWidget>

class QComboBox;

namespace kanana::gui {
class WorkbenchContext;
}

namespace kanana::app {

class WorkspaceSwitcher : public QWidget {
  Q_OBJECT
 public:
  explicit WorkspaceSwitcher(gui::WorkbenchContext* context, QWidget* parent = nullptr);
  QComboBox* combo() const { return combo_; }

 public Q_SLOTS:
  // Folder dialogs; errors go to a message box and the log.
  void openWorkspaceDialog();
  void newWorkspaceDialog();
  // Switch to `dir` (no dialogs); false with the reason logged.
  bool switchTo(const QString& dir);

 private:
  void refresh();

  gui::WorkbenchContext* context_;
  QComboBox* combo_;
  bool refreshing_ = false;
};

}  // namespace kanana::app
