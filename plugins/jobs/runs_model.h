// The queue: the workspace's runs as a table (id, name, state, target, step, loss, started),
// filled from the job service's listings (taken on its own database connection). setRuns()
// updates rows in place when the set of runs is unchanged, so selections survive refreshes.
// QtCore only; GUI thread.
#pragma once

#include <QAbstractTableModel>
#include <QColor>
#include <QList>
#include <QMetaType>
#include <QString>

#include "sdk/job_service.h"

namespace kanana::jobsplugin {

// A run as the job service lists it (gui/sdk/job_service.h).
using RunRow = gui::RunInfo;

inline bool isActiveState(const QString& state) { return gui::RunInfo::isActiveRunState(state); }  // queued or running

class RunsModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column { IdColumn = 0, NameColumn, StateColumn, TargetColumn, StepColumn, LossColumn, StartedColumn, ColumnCount };
  static constexpr int RunIdRole = Qt::UserRole + 1;
  static constexpr int StateRole = Qt::UserRole + 2;

  explicit RunsModel(QObject* parent = nullptr) : QAbstractTableModel(parent) {}

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

  void setRuns(const QList<RunRow>& runs);
  const QList<RunRow>& runs() const { return runs_; }
  const RunRow* run(qint64 id) const;
  int rowOf(qint64 id) const;
  static QColor stateColor(const QString& state);

 private:
  QList<RunRow> runs_;
};

}  // namespace kanana::jobsplugin
