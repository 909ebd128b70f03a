// The log console dock: the workbench's LogModel in a table with a minimum-level filter, a
// text filter, copy (selected rows, or everything visible) and clear. Follows new lines
// while the view is scrolled to the bottom.
#pragma once

#include <QSortFilterProxyModel>
#include <QWidget>

#include "sdk/log_entry.h"

class QComboBox;
class QLineEdit;
class QTableView;

namespace kanana::gui {
class LogModel;
}

namespace kanana::app {

// Rows at or above a level whose source or message contains a text.
class LogFilterModel : public QSortFilterProxyModel {
  Q_OBJECT
 public:
  using QSortFilterProxyModel::QSortFilterProxyModel;
  void setMinimumLevel(gui::LogLevel level);
  void setText(const QString& text);

 protected:
  bool filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const override;

 private:
  gui::LogLevel minimum_ = gui::LogLevel::Debug;
  QString text_;
};

class LogConsole : public QWidget {
  Q_OBJECT
 public:
  explicit LogConsole(gui::LogModel* model, QWidget* parent = nullptr);
  LogFilterModel* filterModel() const { return filter_; }
  QTableView* view() const { return view_; }

 public Q_SLOTS:
  void copy();

 private:
  gui::LogModel* model_;
  LogFilterModel* filter_;
  QTableView* view_;
  QComboBox* level_;
  QLineEdit* search_;
};

}  // namespace kanana::app
