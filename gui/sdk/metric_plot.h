// A shared plot widget for metrics over steps (loss, learning rate, throughput), so every
// plugin draws curves the same way. Wraps QCustomPlot; plugins never include it directly.
// Threading: GUI thread only. addPoint() is cheap: replots are coalesced on a short timer,
// so a run streaming hundreds of events per second does not redraw per point.
#pragma once

#include <QHash>
#include <QStringList>
#include <QTimer>
#include <QWidget>

class QCustomPlot;
class QCPGraph;
class QCPTextElement;

namespace kanana::gui {

class MetricPlot : public QWidget {
  Q_OBJECT
 public:
  explicit MetricPlot(QWidget* parent = nullptr);

  void setTitle(const QString& title);
  void setAxisLabels(const QString& x, const QString& y);
  // Log-scaled y (e.g. loss); points with y <= 0 are then left out.
  void setLogScaleY(bool on);
  bool logScaleY() const { return logY_; }

  // Append a point to the named series, creating it on first use with the next palette
  // colour. Non-finite values (a NaN loss) are skipped and counted in skippedPoints().
  void addPoint(const QString& series, double x, double y);
  // Replace a series' points (x ascending).
  void setSeries(const QString& series, const QVector<double>& x, const QVector<double>& y);
  void removeSeries(const QString& series);
  void clear();

  QStringList seriesNames() const { return order_; }
  int pointCount(const QString& series) const;
  int skippedPoints() const { return skipped_; }

  // Render at the given size (the widget's size when 0) to a PNG.
  bool savePng(const QString& file, int width, int height, QString* error);

 public Q_SLOTS:
  void rescaleAndReplot();

 private:
  QCPGraph* graph(const QString& series);
  void scheduleReplot();

  QCustomPlot* plot_;
  QCPTextElement* title_ = nullptr;
  QHash<QString, QCPGraph*> graphs_;
  QStringList order_;
  QTimer replotTimer_;
  bool logY_ = false;
  int skipped_ = 0;
};

}  // namespace kanana::gui
