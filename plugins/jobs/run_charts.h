// The monitor's live charts: loss, learning rate, gradient norm, tokens/s, MFU and
// validation loss over steps, one colour per run so several runs overlay for comparison,
// with one legend above the grid. Every point a run logged is in the chart's data (nothing
// is thrown away or randomly sampled); for drawing, QCustomPlot's adaptive sampling reduces a
// dense stretch to the minimum and maximum of each pixel column, so spikes stay visible, and
// once the view is zoomed in far enough that points are a few pixels apart each point is
// drawn as a dot. Zooming (wheel) or dragging one chart moves the step axis of all six;
// double-click returns to following the whole run. GUI thread only.
#pragma once

#include <QColor>
#include <QHash>
#include <QList>
#include <QPair>
#include <QTimer>
#include <QWidget>

#include "run_series.h"

class QCustomPlot;
class QCPGraph;
class QLabel;

namespace kanana::jobsplugin {

class RunCharts : public QWidget {
  Q_OBJECT
 public:
  struct Metric {
    QString key;    // metric name in events.jsonl ("loss", "lr", ...)
    QString title;  // chart title
  };
  static const QList<Metric>& metrics();

  explicit RunCharts(QWidget* parent = nullptr);

  // Adds a run (or changes its label/colour); its graphs are created on first data.
  void setRun(qint64 runId, const QString& label, const QColor& color);
  void removeRun(qint64 runId);
  void clearRun(qint64 runId);  // drop its points (its events file was truncated or replaced)
  QList<qint64> runs() const { return order_; }
  QColor runColor(qint64 runId) const { return runs_.value(runId).color; }

  // Brings the run's curve of `metric` in line with `points`: appends the new tail when the
  // series only grew, replaces it when it was rewound (a resumed run).
  void sync(qint64 runId, const QString& metric, const MetricPoints& points);

  int pointCount(qint64 runId, const QString& metric) const;
  QCustomPlot* plot(const QString& metric) const { return plots_.value(metric); }
  QString legendText() const;
  bool following() const { return follow_; }
  // Shows steps [lo, hi] in every chart (what a wheel zoom does) and stops following.
  void zoomSteps(double lo, double hi);
  // Whether `metric`'s curve of the run is currently drawn with a dot per point.
  bool drawsEveryPoint(qint64 runId, const QString& metric) const;

 public Q_SLOTS:
  void followAll();      // auto-range over all data again
  void replotNow();

 private:
  struct RunInfo {
    QString label;
    QColor color;
  };
  QCPGraph* graph(qint64 runId, const QString& metric, bool create);
  void scheduleReplot();
  void updateLegend();
  void updateDots();
  void onUserRange(QCustomPlot* source);

  QHash<QString, QCustomPlot*> plots_;
  QHash<qint64, RunInfo> runs_;
  QList<qint64> order_;
  QHash<QPair<qint64, QString>, QCPGraph*> graphs_;
  QLabel* legend_ = nullptr;
  QTimer replot_;
  bool follow_ = true;
  bool syncing_ = false;
};

}  // namespace kanana::jobsplugin
