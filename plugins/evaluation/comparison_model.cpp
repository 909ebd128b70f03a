// See comparison_model.h.
#include "comparison_model.h"

#include <QBrush>
#include <QColor>
#include <QFont>

#include <cmath>

namespace kanana::evaluation {

ComparisonModel::ComparisonModel(QObject* parent) : QAbstractTableModel(parent) {}

void ComparisonModel::setData(std::shared_ptr<const ComparisonData> data) {
  beginResetModel();
  data_ = std::move(data);
  endResetModel();
}

void ComparisonModel::setMetric(const QString& metric) {
  beginResetModel();
  metric_ = metric;
  endResetModel();
}

int ComparisonModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() || !data_ ? 0 : int(data_->checkpoints.size());
}

int ComparisonModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() || !data_ ? 0 : int(data_->tasks.size());
}

std::string ComparisonModel::metricFor(int column) const {
  if (!metric_.isEmpty()) return metric_.toStdString();
  if (!data_ || column < 0 || column >= int(data_->tasks.size())) return {};
  for (const auto& c : data_->checkpoints) {
    if (const TaskCell* cell = data_->cell(c.id, data_->tasks[size_t(column)])) return primary_metric(cell->metrics);
  }
  return {};
}

QString ComparisonModel::taskAt(int column) const {
  if (!data_ || column < 0 || column >= int(data_->tasks.size())) return {};
  return QString::fromStdString(data_->tasks[size_t(column)]);
}

const TaskCell* ComparisonModel::cellAt(int row, int column) const {
  if (!data_ || row < 0 || column < 0 || row >= rowCount() || column >= columnCount()) return nullptr;
  return data_->cell(data_->checkpoints[size_t(row)].id, data_->tasks[size_t(column)]);
}

const MetricCell* ComparisonModel::metricAt(int row, int column) const {
  const TaskCell* cell = cellAt(row, column);
  if (!cell) return nullptr;
  auto it = cell->metrics.find(metricFor(column));
  return it == cell->metrics.end() ? nullptr : &it->second;
}

QString ComparisonModel::formatCell(const MetricCell& m) {
  QString s = QString::number(m.value, 'f', 4);
  if (m.bootstrap_stderr) return s + QString::fromUtf8(" ± ") + QString::number(*m.bootstrap_stderr, 'f', 4);
  if (m.stderr_value) return s + QString::fromUtf8(" ± ") + QString::number(*m.stderr_value, 'f', 4) + QStringLiteral(" s");
  return s;
}

QVariant ComparisonModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid()) return {};
  const int row = index.row(), col = index.column();
  const TaskCell* cell = cellAt(row, col);
  const MetricCell* m = metricAt(row, col);
  const std::string metric = metricFor(col);
  switch (role) {
    case Qt::DisplayRole:
      return m ? formatCell(*m) : QStringLiteral("—");
    case Qt::TextAlignmentRole:
      return int(Qt::AlignRight | Qt::AlignVCenter);
    case Qt::ToolTipRole: {
      if (!m) return tr("no %1 result for this checkpoint").arg(QString::fromStdString(metric));
      QString tip = tr("%1 = %2 (n = %3)").arg(QString::fromStdString(metric)).arg(m->value, 0, 'f', 6).arg(m->n);
      if (m->bootstrap_stderr) tip += tr("\nbootstrap stderr %1 (1000 resamples of the items)").arg(*m->bootstrap_stderr, 0, 'f', 6);
      if (m->stderr_value) tip += tr("\nsample stderr of the mean %1").arg(*m->stderr_value, 0, 'f', 6);
      if (cell && !cell->results_path.empty()) tip += tr("\nresults: %1").arg(QString::fromStdString(cell->results_path));
      if (cell && !cell->samples_path.empty()) tip += tr("\ndouble-click for the per-item predictions");
      tip += tr("\nrun %1").arg(m->run_id);
      return tip;
    }
    case Qt::BackgroundRole: {
      if (!m) return {};
      // Shade the best checkpoint of the column.
      const bool up = higher_is_better(metric);
      double best = m->value;
      for (int r = 0; r < rowCount(); ++r) {
        if (const MetricCell* o = metricAt(r, col)) best = up ? std::max(best, o->value) : std::min(best, o->value);
      }
      if (rowCount() > 1 && m->value == best) return QBrush(QColor(0xd8, 0xf0, 0xd8));
      return {};
    }
    case ValueRole:
      return m ? QVariant(m->value) : QVariant();
    case StderrRole:
      if (!m) return {};
      if (m->bootstrap_stderr) return *m->bootstrap_stderr;
      return m->stderr_value ? QVariant(*m->stderr_value) : QVariant();
    case MetricRole:
      return QString::fromStdString(metric);
    case CheckpointIdRole:
      return qint64(data_->checkpoints[size_t(row)].id);
    case TaskRole:
      return QString::fromStdString(data_->tasks[size_t(col)]);
    case HasSamplesRole:
      return cell && !cell->samples_path.empty();
    default:
      return {};
  }
}

QVariant ComparisonModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (!data_) return {};
  if (orientation == Qt::Horizontal && section < int(data_->tasks.size())) {
    const QString task = QString::fromStdString(data_->tasks[size_t(section)]);
    const QString metric = QString::fromStdString(metricFor(section));
    if (role == Qt::DisplayRole) return task + QStringLiteral("\n") + metric + (higher_is_better(metric.toStdString()) ? QStringLiteral(" ↑") : QStringLiteral(" ↓"));
    if (role == Qt::ToolTipRole) return tr("%1: %2; shaded = best checkpoint").arg(task, metric);
  }
  if (orientation == Qt::Vertical && section < int(data_->checkpoints.size())) {
    const auto& c = data_->checkpoints[size_t(section)];
    if (role == Qt::DisplayRole) return QString::fromStdString(c.name);
    if (role == Qt::ToolTipRole) return QString::fromStdString(c.path);
  }
  return {};
}

}  // namespace kanana::evaluation
