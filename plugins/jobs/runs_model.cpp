// See runs_model.h.
#include "runs_model.h"

#include <cmath>

namespace kanana::jobsplugin {

int RunsModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(runs_.size()); }
int RunsModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QColor RunsModel::stateColor(const QString& state) {
  if (state == QStringLiteral("running")) return QColor(0x1f, 0x6f, 0xd0);
  if (state == QStringLiteral("queued")) return QColor(0x80, 0x80, 0x80);
  if (state == QStringLiteral("finished")) return QColor(0x2a, 0x8a, 0x4a);
  if (state == QStringLiteral("failed")) return QColor(0xc0, 0x30, 0x30);
  if (state == QStringLiteral("cancelled")) return QColor(0xb0, 0x70, 0x10);
  return {};
}

QVariant RunsModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= runs_.size()) return {};
  const RunRow& r = runs_[index.row()];
  if (role == RunIdRole) return r.id;
  if (role == StateRole) return r.state;
  if (role == Qt::DisplayRole) {
    switch (index.column()) {
      case IdColumn: return r.id;
      case NameColumn: return r.name;
      case StateColumn: return r.pollError.isEmpty() ? r.state : r.state + QStringLiteral(" (unreachable)");
      case TargetColumn: return r.host.isEmpty() ? r.target : r.target + QStringLiteral(" @ ") + r.host;
      case StepColumn: return r.lastStep >= 0 ? QVariant(r.lastStep) : QVariant();
      case LossColumn: return std::isfinite(r.lastLoss) ? QVariant(QString::number(r.lastLoss, 'f', 4)) : QVariant();
      case StartedColumn: return (r.startedAt.isEmpty() ? r.createdAt : r.startedAt).left(19).replace('T', ' ');
    }
  }
  if (role == Qt::ForegroundRole && index.column() == StateColumn) return stateColor(r.state);
  if (role == Qt::ToolTipRole) {
    QString tip = QStringLiteral("%1 (%2)\n%3").arg(r.name, r.kind, r.runDir);
    if (!r.reason.isEmpty()) tip += QStringLiteral("\n") + r.reason;
    if (!r.pollError.isEmpty()) tip += QStringLiteral("\nlast poll: ") + r.pollError;
    if (r.resumedFrom) tip += QStringLiteral("\nresumed from run %1").arg(r.resumedFrom);
    return tip;
  }
  if (role == Qt::TextAlignmentRole && (index.column() == IdColumn || index.column() == StepColumn || index.column() == LossColumn))
    return int(Qt::AlignRight | Qt::AlignVCenter);
  return {};
}

QVariant RunsModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
  switch (section) {
    case IdColumn: return tr("ID");
    case NameColumn: return tr("Name");
    case StateColumn: return tr("State");
    case TargetColumn: return tr("Target");
    case StepColumn: return tr("Step");
    case LossColumn: return tr("Loss");
    case StartedColumn: return tr("Started");
  }
  return {};
}

void RunsModel::setRuns(const QList<RunRow>& runs) {
  bool sameIds = runs.size() == runs_.size();
  for (qsizetype i = 0; sameIds && i < runs.size(); ++i) sameIds = runs[i].id == runs_[i].id;
  if (!sameIds) {
    beginResetModel();
    runs_ = runs;
    endResetModel();
    return;
  }
  runs_ = runs;
  if (!runs_.isEmpty()) Q_EMIT dataChanged(index(0, 0), index(int(runs_.size()) - 1, ColumnCount - 1));
}

const RunRow* RunsModel::run(qint64 id) const {
  for (const RunRow& r : runs_)
    if (r.id == id) return &r;
  return nullptr;
}

int RunsModel::rowOf(qint64 id) const {
  for (qsizetype i = 0; i < runs_.size(); ++i)
    if (runs_[i].id == id) return int(i);
  return -1;
}

}  // namespace kanana::jobsplugin
