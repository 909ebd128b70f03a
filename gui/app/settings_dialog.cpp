// See settings_dialog.h.
#include "settings_dialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QSettings>
#include <QSpinBox>
#include <QThread>
#include <QToolButton>
#include <QVBoxLayout>

#include "sdk/workbench_context.h"

namespace kanana::app {

namespace keys = gui::settings_keys;

SettingsDialog::SettingsDialog(QSettings* settings, QWidget* parent)
    : QDialog(parent), settings_(settings) {
  setWindowTitle(tr("Settings"));

  pluginPath_ = new QLineEdit(settings_->value(keys::kPluginPath).toString(), this);
  pluginPath_->setPlaceholderText(tr("none (only the built-in plugin folder)"));
  theme_ = new QComboBox(this);
  theme_->addItem(tr("Light"), QStringLiteral("light"));
  theme_->addItem(tr("Dark"), QStringLiteral("dark"));
  theme_->addItem(tr("System"), QStringLiteral("system"));
  theme_->setCurrentIndex(qMax(0, theme_->findData(settings_->value(keys::kTheme, QStringLiteral("light")))));
  torchThreads_ = new QSpinBox(this);
  torchThreads_->setRange(0, 256);
  torchThreads_->setSpecialValueText(tr("Automatic (%1, one per core)").arg(QThread::idealThreadCount()));
  torchThreads_->setValue(settings_->value(keys::kTorchThreads, 0).toInt());
  dataCache_ = new QLineEdit(settings_->value(keys::kDataCache).toString(), this);
  dataCache_->setPlaceholderText(qEnvironmentVariable("KANANA_DATA_CACHE",
                                                      QDir::homePath() + QStringLiteral("/.cache/kanana-workbench")));

  auto* form = new QFormLayout;
  form->setFieldGrowthPolicy(QFormLayout::ExpandingFieldsGrow);
  form->addRow(tr("Theme:"), theme_);
  form->addRow(tr("Extra plugin folder:"), folderField(pluginPath_, tr("Plugin folder")));
  form->addRow(tr("LibTorch threads for jobs:"), torchThreads_);
  form->addRow(tr("Data cache:"), folderField(dataCache_, tr("Data cache folder")));
  auto* note = new QLabel(tr("Plugin folder changes apply at the next start. Jobs started from the "
                             "workbench read the thread count and data cache when they start."),
                          this);
  note->setWordWrap(true);
  note->setEnabled(false);

  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  connect(buttons, &QDialogButtonBox::accepted, this, [this] {
    save();
    accept();
  });
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addWidget(note);
  layout->addStretch(1);
  layout->addWidget(buttons);
  resize(620, sizeHint().height());
}

QWidget* SettingsDialog::folderField(QLineEdit* edit, const QString& title) {
  auto* row = new QWidget(this);
  auto* h = new QHBoxLayout(row);
  h->setContentsMargins(0, 0, 0, 0);
  auto* browse = new QToolButton(row);
  browse->setText(tr("Browse…"));
  connect(browse, &QToolButton::clicked, this, [this, edit, title] {
    const QString dir = QFileDialog::getExistingDirectory(this, title, edit->text());
    if (!dir.isEmpty()) edit->setText(dir);
  });
  h->addWidget(edit, 1);  // reparents the edit into the row
  h->addWidget(browse);
  return row;
}

void SettingsDialog::save() {
  const QString oldTheme = settings_->value(keys::kTheme, QStringLiteral("light")).toString();
  settings_->setValue(keys::kPluginPath, pluginPath_->text().trimmed());
  settings_->setValue(keys::kTheme, theme_->currentData().toString());
  settings_->setValue(keys::kTorchThreads, torchThreads_->value());
  settings_->setValue(keys::kDataCache, dataCache_->text().trimmed());
  if (oldTheme != theme_->currentData().toString()) Q_EMIT themeChanged(theme_->currentData().toString());
}

}  // namespace kanana::app
