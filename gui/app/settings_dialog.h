// Edit ▸ Settings…: extra plugin folder, theme, LibTorch threads for jobs, data cache folder.
// Values live in QSettings under the keys in sdk/workbench_context.h.
#pragma once

#include <QDialog>

class QComboBox;
class QLineEdit;
class QSettings;
class QSpinBox;

namespace kanana::app {

class SettingsDialog : public QDialog {
  Q_OBJECT
 public:
  explicit SettingsDialog(QSettings* settings, QWidget* parent = nullptr);

  // Writes the fields to the settings (called on OK).
  void save();

 Q_SIGNALS:
  void themeChanged(const QString& theme);

 private:
  QWidget* folderField(QLineEdit* edit, const QString& title);  // edit + Browse… button

  QSettings* settings_;
  QLineEdit* pluginPath_;
  QComboBox* theme_;
  QSpinBox* torchThreads_;
  QLineEdit* dataCache_;
};

}  // namespace kanana::app
