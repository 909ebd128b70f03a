// What the monitor knows about one run from its events.jsonl: every metric point (all of
// them: charts decide how to draw, never what to keep), the log and state lines, the stage
// switches and checkpoints. A resumed run appends events from its last checkpoint on, so a
// metric step at or below the last one seen rewinds that metric to before it: the curve then
// shows the trajectory the run actually continued, not two overlapping copies.
#pragma once

#include <QMap>
#include <QSet>
#include <QString>
#include <QStringList>
#include <QVector>
#include <optional>
#include <vector>

#include "jobs/events.h"

namespace kanana::jobsplugin {

struct MetricPoints {
  QVector<double> steps;   // x, ascending
  QVector<double> values;  // y; non-finite values are kept out and counted in RunSeries::skipped
};

struct LogLine {
  double t = 0;
  QString level;           // "info", "warning", "error", "state", "stage", "checkpoint"
  QString text;
  std::optional<qint64> step;
};

// Events parsed from the complete lines a FileFollower delivered (see FileFollower::linesRead).
struct ParsedEvents {
  std::vector<jobs::Event> events;
  QStringList corrupt;     // "line 7: invalid JSON", one per skipped line
};
ParsedEvents parseEventLines(const QByteArray& data, quint64 firstLine);

class RunSeries {
 public:
  void clear();
  // Adds one event; returns the metric names that got a point (or were rewound).
  QSet<QString> add(const jobs::Event& event);

  const QMap<QString, MetricPoints>& metrics() const { return metrics_; }
  int pointCount(const QString& metric) const { return int(metrics_.value(metric).steps.size()); }
  const QList<LogLine>& log() const { return log_; }
  std::optional<QString> lastState() const { return lastState_; }
  QString lastStateReason() const { return lastReason_; }
  std::optional<qint64> lastStep() const { return lastStep_; }
  qint64 eventCount() const { return events_; }
  qint64 skipped() const { return skipped_; }
  qint64 rewinds() const { return rewinds_; }
  qint64 corruptLines() const { return corrupt_; }
  void addCorrupt(qint64 n) { corrupt_ += n; }

  static QString formatLog(const LogLine& line);  // "[step 12] warning: message"

 private:
  void addPoint(const QString& name, double step, double value, QSet<QString>& changed);
  void addLog(const jobs::Event& e, const QString& level, const QString& text);

  QMap<QString, MetricPoints> metrics_;
  QList<LogLine> log_;
  std::optional<QString> lastState_;
  QString lastReason_;
  std::optional<qint64> lastStep_;
  qint64 events_ = 0, skipped_ = 0, rewinds_ = 0, corrupt_ = 0;
};

}  // namespace kanana::jobsplugin
