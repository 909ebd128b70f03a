// See workspace_page.h.
#include "workspace_page.h"

#include <QAction>
#include <QDir>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QTreeWidget>
#include <QVBoxLayout>

#include "lineage_tree.h"
#include "sdk/workbench_context.h"
#include "store/workspace.h"
#include "workspace_table_model.h"

namespace kanana::workspace {

namespace {
const QString kSource = QStringLiteral("workspace");
using Kind = WorkspaceTableModel::Kind;
}  // namespace

WorkspacePage::WorkspacePage(gui::WorkbenchContext* context, QWidget* parent)
    : QWidget(parent), context_(context) {
  title_ = new QLabel(this);
  title_->setProperty("role", QStringLiteral("heading"));
  summary_ = new QLabel(this);
  summary_->setProperty("role", QStringLiteral("hint"));
  summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  auto* refreshButton = new QPushButton(tr("Refresh"), this);
  refreshButton->setToolTip(tr("Re-read the workspace database (F5)"));
  connect(refreshButton, &QPushButton::clicked, this, &WorkspacePage::refresh);
  auto* refreshAction = new QAction(this);
  refreshAction->setShortcut(QKeySequence::Refresh);
  refreshAction->setShortcutContext(Qt::WidgetWithChildrenShortcut);
  connect(refreshAction, &QAction::triggered, this, &WorkspacePage::refresh);
  addAction(refreshAction);

  auto* heading = new QVBoxLayout;
  heading->setSpacing(2);
  heading->addWidget(title_);
  heading->addWidget(summary_);
  auto* header = new QHBoxLayout;
  header->addLayout(heading, 1);
  header->addWidget(refreshButton, 0, Qt::AlignTop);

  tables_ = new QTabWidget(this);
  for (Kind kind : {Kind::Datasets, Kind::Tokenizers, Kind::Runs, Kind::Checkpoints}) {
    auto* model = new WorkspaceTableModel(kind, this);
    auto* proxy = new QSortFilterProxyModel(this);
    proxy->setSourceModel(model);
    proxy->setSortRole(WorkspaceTableModel::SortRole);
    proxy->setSortCaseSensitivity(Qt::CaseInsensitive);
    auto* view = new QTableView(tables_);
    view->setModel(proxy);
    view->setSortingEnabled(true);
    view->sortByColumn(-1, Qt::AscendingOrder);
    view->setSelectionBehavior(QAbstractItemView::SelectRows);
    view->setSelectionMode(QAbstractItemView::SingleSelection);
    view->setAlternatingRowColors(true);
    view->setShowGrid(false);
    view->setWordWrap(false);
    view->verticalHeader()->hide();
    view->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 10);
    view->horizontalHeader()->setStretchLastSection(true);
    view->horizontalHeader()->setHighlightSections(false);
    view->horizontalHeader()->setDefaultAlignment(Qt::AlignLeft | Qt::AlignVCenter);
    connect(view->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            [this, model, proxy](const QModelIndex& current) {
              if (current.isValid()) showLineage(model, proxy->mapToSource(current).row());
            });
    tables_->addTab(view, model->headerData(0, Qt::Horizontal, Qt::DisplayRole).toString());
    models_.append(model);
    views_.append(view);
  }

  lineageTitle_ = new QLabel(tr("Select a record to see where it came from and what was made from it."), this);
  lineageTitle_->setWordWrap(true);
  lineageTitle_->setProperty("role", QStringLiteral("hint"));
  lineage_ = new QTreeWidget(this);
  lineage_->setHeaderLabels({tr("Record"), tr("Kind"), tr("Relation")});
  lineage_->setUniformRowHeights(true);
  lineage_->setAlternatingRowColors(true);
  lineage_->header()->setStretchLastSection(true);
  lineage_->setColumnWidth(0, 220);
  lineage_->setColumnWidth(1, 90);
  auto* lineagePane = new QWidget(this);
  auto* lineageLayout = new QVBoxLayout(lineagePane);
  lineageLayout->setContentsMargins(0, 0, 0, 0);
  auto* lineageHeading = new QLabel(tr("Lineage"), lineagePane);
  lineageHeading->setStyleSheet(QStringLiteral("font-weight: 600;"));
  lineageLayout->addWidget(lineageHeading);
  lineageLayout->addWidget(lineageTitle_);
  lineageLayout->addWidget(lineage_, 1);

  auto* splitter = new QSplitter(Qt::Horizontal, this);
  splitter->addWidget(tables_);
  splitter->addWidget(lineagePane);
  splitter->setStretchFactor(0, 3);
  splitter->setStretchFactor(1, 2);
  splitter->setChildrenCollapsible(false);

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(14, 12, 14, 10);
  layout->setSpacing(10);
  layout->addLayout(header);
  layout->addWidget(splitter, 1);

  connect(context_, &gui::WorkbenchContext::workspaceChanged, this, &WorkspacePage::refresh);
  refresh();
}

void WorkspacePage::refresh() {
  const std::shared_ptr<store::Workspace> ws = context_->workspace();
  lineage_->clear();
  lineageTitle_->setText(tr("Select a record to see where it came from and what was made from it."));
  if (!ws) {
    title_->setText(tr("No workspace open"));
    summary_->setText(tr("Open or create a workspace with File ▸ Open Workspace… (Ctrl+O)."));
  } else {
    title_->setText(context_->workspaceName());
  }
  QStringList counts;
  static const char* const kNames[] = {QT_TR_NOOP("Datasets"), QT_TR_NOOP("Tokenizers"), QT_TR_NOOP("Runs"),
                                       QT_TR_NOOP("Checkpoints")};
  for (int i = 0; i < models_.size(); ++i) {
    QString error;
    if (!models_[i]->reload(ws.get(), &error))
      context_->logError(kSource, tr("Cannot list %1: %2").arg(tr(kNames[i]).toLower(), error));
    const int n = models_[i]->rowCount();
    tables_->setTabText(i, QStringLiteral("%1 (%2)").arg(tr(kNames[i])).arg(n));
    counts.append(QStringLiteral("%1 %2").arg(n).arg(tr(kNames[i]).toLower()));
    views_[i]->resizeColumnsToContents();
    for (int c = 0; c < models_[i]->columnCount(); ++c)
      views_[i]->setColumnWidth(c, qBound(70, views_[i]->columnWidth(c) + 16, 360));
  }
  // On a new workspace, open the first table that has rows and select its first record so
  // the lineage pane shows something useful straight away.
  if (context_->workspacePath() != shownPath_) {
    shownPath_ = context_->workspacePath();
    for (int i = 0; i < models_.size(); ++i) {
      if (models_[i]->rowCount() == 0) continue;
      tables_->setCurrentIndex(i);
      views_[i]->selectRow(0);
      break;
    }
  }
  if (ws) summary_->setText(QStringLiteral("%1  ·  %2").arg(QDir::toNativeSeparators(context_->workspacePath()),
                                                          counts.join(QStringLiteral(", "))));
}

void WorkspacePage::addLineageItems(QTreeWidgetItem* parent, const LineageItem& item) {
  for (const LineageItem& child : item.children) {
    auto* node = new QTreeWidgetItem(parent, {child.label, child.kind, child.relation});
    node->setToolTip(0, QStringLiteral("%1 #%2").arg(child.kind).arg(child.id));
    addLineageItems(node, child);
  }
}

void WorkspacePage::showLineage(WorkspaceTableModel* model, int row) {
  const std::shared_ptr<store::Workspace> ws = context_->workspace();
  lineage_->clear();
  if (!ws || row < 0) return;
  LineageTrees trees;
  QString error;
  if (!buildLineageTrees(*ws, model->lineageKind(), model->recordId(row), &trees, &error)) {
    lineageTitle_->setText(tr("Cannot read the lineage: %1").arg(error));
    context_->logError(kSource, tr("Cannot read the lineage of %1 #%2: %3")
                                    .arg(model->lineageKind()).arg(model->recordId(row)).arg(error));
    return;
  }
  lineageTitle_->setText(tr("%1 <b>%2</b>: %3 upstream, %4 downstream")
                             .arg(trees.root.kind, trees.root.label.toHtmlEscaped())
                             .arg(trees.upstreamCount)
                             .arg(trees.downstreamCount));
  auto* up = new QTreeWidgetItem(lineage_, {tr("Came from (%1)").arg(trees.upstreamCount)});
  addLineageItems(up, trees.upstream);
  auto* down = new QTreeWidgetItem(lineage_, {tr("Made from it (%1)").arg(trees.downstreamCount)});
  addLineageItems(down, trees.downstream);
  for (QTreeWidgetItem* top : {up, down}) {
    QFont f = top->font(0);
    f.setBold(true);
    top->setFont(0, f);
    top->setFirstColumnSpanned(true);
    if (top->childCount() == 0) {
      auto* none = new QTreeWidgetItem(top, {tr("nothing recorded")});
      none->setDisabled(true);
    }
  }
  lineage_->expandAll();
}

}  // namespace kanana::workspace
