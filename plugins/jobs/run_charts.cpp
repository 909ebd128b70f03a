// See run_charts.h.
#include "run_charts.h"

#include <QGridLayout>
#include <QLabel>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <limits>

#include "sdk/qcustomplot_compat.h"

namespace kanana::jobsplugin {

namespace {
constexpr int kReplotDelayMs = 80;
// Points closer than this many pixels apart are drawn as a line only; farther apart, each
// one also gets a dot so a zoomed-in view shows every logged step.
constexpr double kDotSpacingPx = 6.0;
}  // namespace

const QList<RunCharts::Metric>& RunCharts::metrics() {
  static const QList<Metric> kMetrics = {
      {QStringLiteral("loss"), QStringLiteral("Loss")},
      {QStringLiteral("val_loss"), QStringLiteral("Validation loss")},
      {QStringLiteral("lr"), QStringLiteral("Learning rate")},
      {QStringLiteral("grad_norm"), QStringLiteral("Gradient norm")},
      {QStringLiteral("tokens_per_s"), QStringLiteral("Tokens / s")},
      {QStringLiteral("mfu"), QStringLiteral("MFU")},
  };
  return kMetrics;
}

RunCharts::RunCharts(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(2);
  legend_ = new QLabel(this);
  legend_->setTextFormat(Qt::RichText);
  legend_->setWordWrap(true);
  legend_->setText(tr("<i>Select runs in the queue to chart them; select several to compare.</i>"));
  layout->addWidget(legend_);
  auto* grid = new QGridLayout;
  grid->setSpacing(4);
  layout->addLayout(grid, 1);
  int i = 0;
  for (const Metric& m : metrics()) {
    auto* plot = new QCustomPlot(this);
    plot->setObjectName(QStringLiteral("chart_") + m.key);
    plot->setMinimumSize(220, 150);
    plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    plot->axisRect()->setRangeZoom(Qt::Horizontal | Qt::Vertical);
    plot->plotLayout()->insertRow(0);
    auto* title = new QCPTextElement(plot, m.title, QFont(font().family(), font().pointSize(), QFont::DemiBold));
    plot->plotLayout()->addElement(0, 0, title);
    plot->xAxis->setLabel(tr("step"));
    for (QCPAxis* axis : {plot->xAxis, plot->yAxis}) {
      axis->grid()->setPen(QPen(QColor(0, 0, 0, 28), 1, Qt::DotLine));
      axis->setBasePen(QPen(QColor(0, 0, 0, 90)));
    }
    plot->yAxis->setNumberFormat(QStringLiteral("gb"));
    plot->setNoAntialiasingOnDrag(true);
    connect(plot, &QCustomPlot::mousePress, this, [this, plot] { follow_ = false; Q_UNUSED(plot); });
    connect(plot, &QCustomPlot::mouseWheel, this, [this] { follow_ = false; });
    connect(plot->xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, [this, plot] {
      if (!syncing_ && !follow_) onUserRange(plot);
    });
    connect(plot, &QCustomPlot::mouseDoubleClick, this, [this] { followAll(); });
    plot->setToolTip(tr("Wheel: zoom · drag: pan · double-click: show the whole run"));
    plots_.insert(m.key, plot);
    grid->addWidget(plot, i / 2, i % 2);
    ++i;
  }
  replot_.setSingleShot(true);
  replot_.setInterval(kReplotDelayMs);
  connect(&replot_, &QTimer::timeout, this, &RunCharts::replotNow);
}

void RunCharts::setRun(qint64 runId, const QString& label, const QColor& color) {
  if (!runs_.contains(runId)) order_.append(runId);
  runs_.insert(runId, {label, color});
  for (auto it = graphs_.begin(); it != graphs_.end(); ++it) {
    if (it.key().first != runId) continue;
    it.value()->setPen(QPen(color, 1.6));
    it.value()->setName(label);
  }
  updateLegend();
  scheduleReplot();
}

void RunCharts::removeRun(qint64 runId) {
  for (auto it = graphs_.begin(); it != graphs_.end();) {
    if (it.key().first == runId) {
      QCustomPlot* plot = plots_.value(it.key().second);
      if (plot) plot->removeGraph(it.value());
      it = graphs_.erase(it);
    } else {
      ++it;
    }
  }
  runs_.remove(runId);
  order_.removeAll(runId);
  updateLegend();
  scheduleReplot();
}

void RunCharts::clearRun(qint64 runId) {
  for (auto it = graphs_.begin(); it != graphs_.end(); ++it)
    if (it.key().first == runId) it.value()->data()->clear();
  scheduleReplot();
}

QCPGraph* RunCharts::graph(qint64 runId, const QString& metric, bool create) {
  const auto key = qMakePair(runId, metric);
  if (QCPGraph* g = graphs_.value(key)) return g;
  QCustomPlot* plot = plots_.value(metric);
  if (!plot || !create || !runs_.contains(runId)) return nullptr;
  QCPGraph* g = plot->addGraph();
  const RunInfo& info = runs_[runId];
  g->setName(info.label);
  g->setPen(QPen(info.color, 1.6));
  // Per pixel column: the min and max of the points there (peaks survive); all points when sparse.
  g->setAdaptiveSampling(true);
  graphs_.insert(key, g);
  return g;
}

void RunCharts::sync(qint64 runId, const QString& metric, const MetricPoints& points) {
  QCPGraph* g = graph(runId, metric, true);
  if (!g) return;
  const auto data = g->data();
  const int have = data->size();
  const int want = int(points.steps.size());
  // Only grew: append the tail. Rewound or changed: replace.
  const bool grew = want >= have && (have == 0 || (data->at(have - 1)->key == points.steps[have - 1]));
  if (grew) {
    if (want > have) g->addData(points.steps.mid(have), points.values.mid(have), /*alreadySorted=*/true);
  } else {
    g->setData(points.steps, points.values, /*alreadySorted=*/true);
  }
  scheduleReplot();
}

int RunCharts::pointCount(qint64 runId, const QString& metric) const {
  const QCPGraph* g = graphs_.value(qMakePair(runId, metric));
  return g ? g->dataCount() : 0;
}

bool RunCharts::drawsEveryPoint(qint64 runId, const QString& metric) const {
  const QCPGraph* g = graphs_.value(qMakePair(runId, metric));
  return g && g->scatterStyle().shape() != QCPScatterStyle::ssNone;
}

QString RunCharts::legendText() const { return legend_->text(); }

void RunCharts::updateLegend() {
  if (order_.isEmpty()) {
    legend_->setText(tr("<i>Select runs in the queue to chart them; select several to compare.</i>"));
    return;
  }
  QString html;
  for (qint64 id : order_) {
    const RunInfo& info = runs_[id];
    html += QStringLiteral("<span style=\"color:%1; font-size:large\">&#9632;</span>&nbsp;%2&nbsp;&nbsp;&nbsp; ")
                .arg(info.color.name(), info.label.toHtmlEscaped());
  }
  legend_->setText(html);
}

void RunCharts::scheduleReplot() {
  if (!replot_.isActive()) replot_.start();
}

void RunCharts::followAll() {
  follow_ = true;
  replotNow();
}

void RunCharts::zoomSteps(double lo, double hi) {
  follow_ = false;
  syncing_ = true;
  for (QCustomPlot* p : plots_) {
    p->xAxis->setRange(lo, hi);
    // y to what is visible in [lo, hi]
    bool found = false;
    QCPRange y;
    for (int i = 0; i < p->graphCount(); ++i) {
      bool ok = false;
      const QCPRange r = p->graph(i)->getValueRange(ok, QCP::sdBoth, QCPRange(lo, hi));
      if (!ok) continue;
      y = found ? QCPRange(std::min(y.lower, r.lower), std::max(y.upper, r.upper)) : r;
      found = true;
    }
    if (found) {
      const double pad = std::max(1e-12, (y.upper - y.lower) * 0.05);
      p->yAxis->setRange(y.lower - pad, y.upper + pad);
    }
  }
  syncing_ = false;
  replotNow();
}

void RunCharts::onUserRange(QCustomPlot* source) {
  const QCPRange range = source->xAxis->range();
  syncing_ = true;
  for (QCustomPlot* p : plots_)
    if (p != source) {
      p->xAxis->setRange(range);
      p->replot(QCustomPlot::rpQueuedReplot);
    }
  syncing_ = false;
  updateDots();
}

void RunCharts::updateDots() {
  for (auto it = graphs_.begin(); it != graphs_.end(); ++it) {
    QCPGraph* g = it.value();
    QCustomPlot* p = plots_.value(it.key().second);
    const QCPRange xr = p->xAxis->range();
    const auto data = g->data();
    const int visible = int(data->findEnd(xr.upper) - data->findBegin(xr.lower));
    const double width = std::max(1, p->axisRect()->width());
    const bool sparse = visible > 0 && width / visible >= kDotSpacingPx;
    const auto shape = sparse ? QCPScatterStyle::ssDisc : QCPScatterStyle::ssNone;
    if (g->scatterStyle().shape() != shape)
      g->setScatterStyle(sparse ? QCPScatterStyle(QCPScatterStyle::ssDisc, 4) : QCPScatterStyle(QCPScatterStyle::ssNone));
  }
}

void RunCharts::replotNow() {
  replot_.stop();
  if (follow_) {
    // One step range for all charts, so the curves line up vertically.
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (QCPGraph* g : graphs_) {
      if (g->data()->isEmpty()) continue;
      lo = std::min(lo, g->data()->constBegin()->key);
      hi = std::max(hi, (g->data()->constEnd() - 1)->key);
    }
    syncing_ = true;
    for (QCustomPlot* p : plots_) {
      if (std::isfinite(lo)) p->xAxis->setRange(lo, hi > lo ? hi : lo + 1);
      bool any = false;
      for (int i = 0; i < p->graphCount(); ++i) any |= !p->graph(i)->data()->isEmpty();
      if (any) {
        p->yAxis->rescale(true);
        const QCPRange y = p->yAxis->range();
        const double pad = std::max(std::abs(y.upper) * 1e-3, (y.upper - y.lower) * 0.05);
        p->yAxis->setRange(y.lower - pad, y.upper + pad);
      }
    }
    syncing_ = false;
  }
  updateDots();
  for (QCustomPlot* p : plots_) p->replot(QCustomPlot::rpQueuedReplot);
}

}  // namespace kanana::jobsplugin
