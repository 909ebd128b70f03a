// Tools ▸ Plugins…: every plugin found, its state and error, and a checkbox to enable or
// disable it at the next start.
#pragma once

#include <QDialog>

namespace kanana::gui {
class PluginManager;
}

namespace kanana::app {

class PluginTableModel;

class PluginManagerDialog : public QDialog {
  Q_OBJECT
 public:
  explicit PluginManagerDialog(gui::PluginManager* manager, QWidget* parent = nullptr);
  PluginTableModel* model() const { return model_; }

 private:
  PluginTableModel* model_;
};

}  // namespace kanana::app
