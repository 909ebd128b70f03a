// See workspace_switcher.h.
#include "workspace_switcher.h"

#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QLabel>
#include <QMessageBox>
#include <QToolButton>

#include "sdk/workbench_context.h"

namespace kanana::app {

WorkspaceSwitcher::WorkspaceSwitcher(gui::WorkbenchContext* context, QWidget* parent)
    : QWidget(parent), context_(context), combo_(new QComboBox(this)) {
  combo_->setObjectName(QStringLiteral("workspaceCombo"));
  combo_->setMinimumContentsLength(36);
  combo_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
  combo_->setMaximumWidth(560);
  combo_->setToolTip(tr("Recent workspaces"));
  auto* open = new QToolButton(this);
  open->setText(tr("Open…"));
  open->setToolTip(tr("Open a workspace folder (Ctrl+O)"));
  auto* create = new QToolButton(this);
  create->setText(tr("New…"));
  create->setToolTip(tr("Make a new workspace in a folder"));
  connect(open, &QToolButton::clicked, this, &WorkspaceSwitcher::openWorkspaceDialog);
  connect(create, &QToolButton::clicked, this, &WorkspaceSwitcher::newWorkspaceDialog);
  connect(combo_, &QComboBox::activated, this, [this](int index) {
    const QString dir = combo_->itemData(index).toString();
    if (!dir.isEmpty() && dir != context_->workspacePath() && !switchTo(dir)) refresh();
  });
  connect(context_, &gui::WorkbenchContext::workspaceChanged, this, &WorkspaceSwitcher::refresh);

  auto* layout = new QHBoxLayout(this);
  layout->setContentsMargins(4, 0, 4, 0);
  layout->setSpacing(4);
  auto* label = new QLabel(tr("Workspace"), this);
  label->setObjectName(QStringLiteral("toolbarLabel"));
  layout->addWidget(label);
  layout->addWidget(combo_, 1);
  layout->addWidget(open);
  layout->addWidget(create);
  layout->addStretch(0);
  refresh();
}

void WorkspaceSwitcher::refresh() {
  combo_->clear();
  const QString current = context_->workspacePath();
  QStringList recent = context_->recentWorkspaces();
  if (!current.isEmpty() && !recent.contains(current)) recent.prepend(current);
  for (const QString& dir : recent) {
    const QString name = QFileInfo(dir).fileName();
    const QString label = dir == current && !context_->workspaceName().isEmpty()
                              ? QStringLiteral("%1 — %2").arg(context_->workspaceName(), QDir::toNativeSeparators(dir))
                              : QStringLiteral("%1 — %2").arg(name, QDir::toNativeSeparators(dir));
    combo_->addItem(label, dir);
    combo_->setItemData(combo_->count() - 1, dir, Qt::ToolTipRole);
  }
  if (current.isEmpty()) {
    combo_->insertItem(0, tr("No workspace open"), QString());
    combo_->setCurrentIndex(0);
  } else {
    combo_->setCurrentIndex(combo_->findData(current));
  }
}

bool WorkspaceSwitcher::switchTo(const QString& dir) {
  QString error;
  if (context_->openWorkspace(dir, &error)) return true;
  context_->logError(QStringLiteral("workspace"), tr("Cannot open workspace %1: %2").arg(dir, error));
  QMessageBox::warning(this, tr("Open workspace"), tr("Cannot open the workspace in %1.\n\n%2").arg(dir, error));
  return false;
}

void WorkspaceSwitcher::openWorkspaceDialog() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Open workspace"), context_->workspacePath());
  if (!dir.isEmpty()) switchTo(dir);
}

void WorkspaceSwitcher::newWorkspaceDialog() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Folder for the new workspace"), QDir::homePath());
  if (dir.isEmpty()) return;
  bool ok = false;
  const QString name = QInputDialog::getText(this, tr("New workspace"), tr("Name:"), QLineEdit::Normal,
                                             QFileInfo(dir).fileName(), &ok);
  if (!ok) return;
  QString error;
  if (!context_->createWorkspace(dir, name.trimmed().isEmpty() ? QFileInfo(dir).fileName() : name.trimmed(), &error)) {
    context_->logError(QStringLiteral("workspace"), tr("Cannot create a workspace in %1: %2").arg(dir, error));
    QMessageBox::warning(this, tr("New workspace"), tr("Cannot create a workspace in %1.\n\n%2").arg(dir, error));
  }
}

}  // namespace kanana::app
