// The comparison table: checkpoints (rows) × tasks (columns), each cell the chosen metric as
// "value ± stderr" — the bootstrap stderr from the per-item samples when the run's file is
// readable here, else the recorded sample stderr (marked "s"). The best checkpoint of each
// column is shaded. GUI thread only.
#pragma once

#include <QAbstractTableModel>
#include <QString>
#include <memory>

#include "comparison.h"

namespace kanana::evaluation {

class ComparisonModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  // Item data roles beyond Qt's.
  enum Role { ValueRole = Qt::UserRole + 1, StderrRole, MetricRole, CheckpointIdRole, TaskRole, HasSamplesRole };

  explicit ComparisonModel(QObject* parent = nullptr);

  void setData(std::shared_ptr<const ComparisonData> data);
  std::shared_ptr<const ComparisonData> comparison() const { return data_; }
  // "" = each task's primary metric (acc, exact_match, bits_per_byte), else that metric.
  void setMetric(const QString& metric);
  QString metric() const { return metric_; }
  // The metric a column shows (the primary one of its first cell when metric() is "").
  std::string metricFor(int column) const;
  QString taskAt(int column) const;
  // The cell under (row, column), or nullptr.
  const TaskCell* cellAt(int row, int column) const;
  const MetricCell* metricAt(int row, int column) const;

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

  // "0.4120 ± 0.0210" (what the Display role shows), for tests and exports.
  static QString formatCell(const MetricCell& m);

 private:
  std::shared_ptr<const ComparisonData> data_;
  QString metric_;
};

}  // namespace kanana::evaluation
