// The "Workspace" page: the current workspace's datasets, tokenizers, runs and checkpoints
// in sortable tables, with the lineage (upstream and downstream) of the selected record.
// A thin widget over WorkspaceTableModel and buildLineageTrees().
#pragma once

#include <QList>
#include <QWidget>

class QLabel;
class QSortFilterProxyModel;
class QTabWidget;
class QTableView;
class QTreeWidget;
class QTreeWidgetItem;

namespace kanana::gui {
class WorkbenchContext;
}

namespace kanana::workspace {

class WorkspaceTableModel;
struct LineageItem;

class WorkspacePage : public QWidget {
  Q_OBJECT
 public:
  explicit WorkspacePage(gui::WorkbenchContext* context, QWidget* parent = nullptr);

  WorkspaceTableModel* model(int kind) const { return models_.value(kind); }
  QTreeWidget* lineageView() const { return lineage_; }

 public Q_SLOTS:
  void refresh();

 private:
  void showLineage(WorkspaceTableModel* model, int row);
  void addLineageItems(QTreeWidgetItem* parent, const LineageItem& item);

  gui::WorkbenchContext* context_;
  QLabel* title_;
  QLabel* summary_;
  QTabWidget* tables_;
  QList<WorkspaceTableModel*> models_;
  QList<QTableView*> views_;
  QLabel* lineageTitle_;
  QTreeWidget* lineage_;
  QString shownPath_;  // the workspace the tables were last filled from
};

}  // namespace kanana::workspace
