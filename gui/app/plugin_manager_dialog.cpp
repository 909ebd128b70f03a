// See plugin_manager_dialog.h.
#include "plugin_manager_dialog.h"

#include <QDialogButtonBox>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTableView>
#include <QVBoxLayout>

#include "plugin_table_model.h"
#include "sdk/plugin_manager.h"

namespace kanana::app {

PluginManagerDialog::PluginManagerDialog(gui::PluginManager* manager, QWidget* parent)
    : QDialog(parent), model_(new PluginTableModel(manager, this)) {
  setWindowTitle(tr("Plugins"));
  auto* intro = new QLabel(tr("Plugins are loaded from: %1").arg(manager->pluginPaths().join(QStringLiteral(", "))), this);
  intro->setWordWrap(true);
  intro->setTextInteractionFlags(Qt::TextSelectableByMouse);

  auto* view = new QTableView(this);
  view->setModel(model_);
  view->setSelectionBehavior(QAbstractItemView::SelectRows);
  view->setSelectionMode(QAbstractItemView::SingleSelection);
  view->setAlternatingRowColors(true);
  view->setShowGrid(false);
  view->setWordWrap(false);
  view->verticalHeader()->hide();
  view->horizontalHeader()->setStretchLastSection(true);
  view->resizeColumnsToContents();
  view->setColumnWidth(PluginTableModel::NameColumn, qMax(view->columnWidth(PluginTableModel::NameColumn), 200));

  auto* restart = new QLabel(tr("Restart Kanana Workbench to apply the changes."), this);
  restart->setObjectName(QStringLiteral("restartHint"));
  restart->setVisible(false);
  connect(model_, &PluginTableModel::restartRequiredChanged, restart, &QLabel::setVisible);

  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::accept);

  auto* layout = new QVBoxLayout(this);
  layout->addWidget(intro);
  layout->addWidget(view, 1);
  layout->addWidget(restart);
  layout->addWidget(buttons);
  resize(860, 420);
}

}  // namespace kanana::app
