// See metric_plot.h.
#include "metric_plot.h"

#include <QVBoxLayout>
#include <cmath>
#include "qcustomplot_compat.h"

namespace kanana::gui {

namespace {
// Distinguishable on light and dark backgrounds, in the order series appear.
const QColor kPalette[] = {QColor(0x2f, 0x6f, 0xeb), QColor(0xe0, 0x6c, 0x1f), QColor(0x2a, 0x9d, 0x5c),
                           QColor(0xc2, 0x3b, 0x8f), QColor(0x7a, 0x4f, 0xe0), QColor(0x8a, 0x8f, 0x1c)};
constexpr int kReplotDelayMs = 50;
}  // namespace

MetricPlot::MetricPlot(QWidget* parent) : QWidget(parent), plot_(new QCustomPlot(this)) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(plot_);
  plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  plot_->legend->setVisible(true);
  plot_->legend->setBrush(QColor(255, 255, 255, 200));
  plot_->legend->setBorderPen(Qt::NoPen);
  plot_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
  for (QCPAxis* axis : {plot_->xAxis, plot_->yAxis}) {
    axis->grid()->setPen(QPen(QColor(0, 0, 0, 28), 1, Qt::DotLine));
    axis->setBasePen(QPen(QColor(0, 0, 0, 90)));
  }
  replotTimer_.setSingleShot(true);
  replotTimer_.setInterval(kReplotDelayMs);
  connect(&replotTimer_, &QTimer::timeout, this, &MetricPlot::rescaleAndReplot);
}

void MetricPlot::setTitle(const QString& title) {
  if (!title_) {
    plot_->plotLayout()->insertRow(0);
    title_ = new QCPTextElement(plot_, title, QFont(font().family(), font().pointSize() + 1, QFont::DemiBold));
    plot_->plotLayout()->addElement(0, 0, title_);
  }
  title_->setText(title);
  scheduleReplot();
}

void MetricPlot::setAxisLabels(const QString& x, const QString& y) {
  plot_->xAxis->setLabel(x);
  plot_->yAxis->setLabel(y);
  scheduleReplot();
}

void MetricPlot::setLogScaleY(bool on) {
  logY_ = on;
  plot_->yAxis->setScaleType(on ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
  if (on) plot_->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
  else plot_->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
  scheduleReplot();
}

QCPGraph* MetricPlot::graph(const QString& series) {
  if (QCPGraph* g = graphs_.value(series)) return g;
  QCPGraph* g = plot_->addGraph();
  g->setName(series);
  g->setPen(QPen(kPalette[order_.size() % std::size(kPalette)], 1.6));
  g->setAdaptiveSampling(true);  // keeps 100k-point curves fast
  graphs_.insert(series, g);
  order_.append(series);
  return g;
}

void MetricPlot::addPoint(const QString& series, double x, double y) {
  if (!std::isfinite(x) || !std::isfinite(y) || (logY_ && y <= 0)) {
    ++skipped_;
    return;
  }
  graph(series)->addData(x, y);
  scheduleReplot();
}

void MetricPlot::setSeries(const QString& series, const QVector<double>& x, const QVector<double>& y) {
  QVector<double> fx, fy;
  const qsizetype n = qMin(x.size(), y.size());
  for (qsizetype i = 0; i < n; ++i) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i]) || (logY_ && y[i] <= 0)) {
      ++skipped_;
      continue;
    }
    fx.append(x[i]);
    fy.append(y[i]);
  }
  graph(series)->setData(fx, fy, /*alreadySorted=*/false);
  scheduleReplot();
}

void MetricPlot::removeSeries(const QString& series) {
  if (QCPGraph* g = graphs_.take(series)) {
    plot_->removeGraph(g);
    order_.removeAll(series);
    scheduleReplot();
  }
}

void MetricPlot::clear() {
  plot_->clearGraphs();
  graphs_.clear();
  order_.clear();
  skipped_ = 0;
  scheduleReplot();
}

int MetricPlot::pointCount(const QString& series) const {
  const QCPGraph* g = graphs_.value(series);
  return g ? g->dataCount() : 0;
}

void MetricPlot::scheduleReplot() {
  if (!replotTimer_.isActive()) replotTimer_.start();
}

void MetricPlot::rescaleAndReplot() {
  replotTimer_.stop();
  if (!graphs_.isEmpty()) plot_->rescaleAxes();
  plot_->replot();
}

bool MetricPlot::savePng(const QString& file, int width, int height, QString* error) {
  rescaleAndReplot();
  if (!plot_->savePng(file, width, height)) {
    if (error) *error = tr("cannot write the plot to %1").arg(file);
    return false;
  }
  return true;
}

}  // namespace kanana::gui
