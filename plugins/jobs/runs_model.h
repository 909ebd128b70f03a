// The queue: the workspace's runs as a table (id, name, state, target, step, loss, started),
// filled from snapshots the jobs worker takes on its own database connection. setRuns()
// updates rows in place when the set of runs is unchanged, so selections survive refreshes.
// QtCore only; GUI thread.
#pragma once

#include <QAbstractTableModel>
#include <QColor>
#include <QList>
#include <QMetaType>
#include <QString>

namespace kanana::jobsplugin {

struct RunRow {
  qint64 id = 0;
  QString name;
  QString kind;
  QString state;          // queued | running | finished | failed | cancelled
  QString target;         // local | ssh | slurm
  QString host;
  QString runDir;         // as the job sees it
  QString localDir;       // this machine's folder with events.jsonl (a mirror for ssh runs)
  int worldSize = 1;
  QString createdAt, startedAt, finishedAt;
  qint64 lastStep = -1;
  double lastLoss = qQNaN();
  QString reason;         // why it failed / was cancelled
  QString pollError;      // the last refresh could not reach the job (state left as is)
  qint64 resumedFrom = 0; // the run this one resumed, if any
  bool hasHandle = false; // launched through the job system (can be polled, cancelled, resumed)
};

bool isActiveState(const QString& state);  // queued or running

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

Q_DECLARE_METATYPE(kanana::jobsplugin::RunRow)
