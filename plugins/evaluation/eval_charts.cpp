// See eval_charts.h.
#include "eval_charts.h"

#include <QVBoxLayout>

#include <cmath>

#include "comparison_model.h"
#include "sdk/qcustomplot_compat.h"

namespace kanana::evaluation {

QColor checkpointColor(int i) {
  static const QColor palette[] = {QColor(0x42, 0x7d, 0xc9), QColor(0xe0, 0x8a, 0x2e), QColor(0x3f, 0xa3, 0x5b),
                                   QColor(0xc9, 0x4a, 0x4a), QColor(0x8e, 0x6b, 0xbf), QColor(0x8c, 0x6d, 0x50),
                                   QColor(0xd9, 0x6f, 0xb5), QColor(0x60, 0x60, 0x60)};
  return palette[i % 8];
}

namespace {

QCustomPlot* makePlot(QWidget* owner, const QString& title) {
  auto* layout = new QVBoxLayout(owner);
  layout->setContentsMargins(0, 0, 0, 0);
  auto* plot = new QCustomPlot(owner);
  plot->setMinimumHeight(180);
  plot->plotLayout()->insertRow(0);
  plot->plotLayout()->addElement(0, 0, new QCPTextElement(plot, title, QFont(owner->font().family(), owner->font().pointSize(), QFont::DemiBold)));
  plot->legend->setVisible(true);
  plot->legend->setFont(QFont(owner->font().family(), owner->font().pointSize() - 1));
  plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
  plot->xAxis->grid()->setVisible(false);
  plot->yAxis->grid()->setPen(QPen(QColor(0xe0, 0xe0, 0xe0)));
  layout->addWidget(plot);
  return plot;
}

// Grouped bars: categories on x, one QCPBars (+ error bars) per checkpoint.
// value(row, category) -> (value, stderr, present).
template <typename ValueFn>
void drawGroupedBars(QCustomPlot* plot, const ComparisonModel& model, const QStringList& categories,
                     const QString& yLabel, ValueFn value) {
  plot->clearPlottables();
  auto ticker = QSharedPointer<QCPAxisTickerText>::create();
  for (int c = 0; c < categories.size(); ++c) ticker->addTick(c + 1, categories[c]);
  plot->xAxis->setTicker(ticker);
  plot->xAxis->setTickLabelRotation(categories.size() > 4 ? 30 : 0);
  plot->xAxis->setRange(0.4, categories.size() + 0.6);
  plot->yAxis->setLabel(yLabel);
  const int rows = model.rowCount();
  if (categories.isEmpty() || rows == 0) {
    plot->legend->setVisible(false);
    plot->replot(QCustomPlot::rpQueuedReplot);
    return;
  }
  plot->legend->setVisible(true);
  auto* group = new QCPBarsGroup(plot);
  group->setSpacingType(QCPBarsGroup::stAbsolute);
  group->setSpacing(2);
  double top = 0;
  for (int r = 0; r < rows; ++r) {
    auto* bars = new QCPBars(plot->xAxis, plot->yAxis);
    bars->setName(model.headerData(r, Qt::Vertical).toString());
    bars->setPen(Qt::NoPen);
    bars->setBrush(checkpointColor(r));
    bars->setWidth(0.8 / rows);
    bars->setBarsGroup(group);
    auto* errors = new QCPErrorBars(plot->xAxis, plot->yAxis);
    errors->removeFromLegend();
    errors->setPen(QPen(QColor(0x30, 0x30, 0x30)));
    QVector<double> keys, values;
    QVector<double> err;
    for (int c = 0; c < categories.size(); ++c) {
      double v = 0, e = 0;
      if (!value(r, c, &v, &e)) continue;
      keys << c + 1;
      values << v;
      err << e;
      top = std::max(top, v + e);
    }
    bars->setData(keys, values);
    errors->setDataPlottable(bars);
    errors->setData(err);
  }
  plot->yAxis->setRange(0, top > 0 ? top * 1.15 : 1.0);
  plot->replot(QCustomPlot::rpQueuedReplot);
}

int countBars(QCustomPlot* plot) {
  int n = 0;
  for (int i = 0; i < plot->plottableCount(); ++i) n += qobject_cast<QCPBars*>(plot->plottable(i)) != nullptr;
  return n;
}

bool isBenchmark(const QString& task) { return !task.startsWith(QStringLiteral("ppl/")); }

}  // namespace

// ---- bars

ScoreBarChart::ScoreBarChart(QWidget* parent) : QWidget(parent) { plot_ = makePlot(this, tr("Benchmarks")); }

int ScoreBarChart::barSeries() const { return countBars(plot_); }

void ScoreBarChart::refresh(const ComparisonModel& model) {
  categories_.clear();
  QList<int> columns;
  for (int c = 0; c < model.columnCount(); ++c) {
    const QString task = model.taskAt(c);
    if (!isBenchmark(task)) continue;
    categories_ << task;
    columns << c;
  }
  const QString metric = model.metric().isEmpty() ? tr("score (each task's primary metric)") : model.metric();
  drawGroupedBars(plot_, model, categories_, metric, [&](int r, int c, double* v, double* e) {
    const QModelIndex idx = model.index(r, columns[c]);
    const QVariant value = model.data(idx, ComparisonModel::ValueRole);
    if (!value.isValid()) return false;
    *v = value.toDouble();
    *e = model.data(idx, ComparisonModel::StderrRole).toDouble();
    return true;
  });
}

// ---- radar

ScoreRadarChart::ScoreRadarChart(QWidget* parent) : QWidget(parent) {
  plot_ = makePlot(this, tr("Benchmarks (radar, 0..1)"));
  plot_->xAxis->setVisible(false);
  plot_->yAxis->setVisible(false);
  plot_->xAxis->grid()->setVisible(false);
  plot_->yAxis->grid()->setVisible(false);
}

void ScoreRadarChart::refresh(const ComparisonModel& model) {
  plot_->clearPlottables();
  plot_->clearItems();
  axes_.clear();
  polygons_ = 0;
  QList<int> columns;
  for (int c = 0; c < model.columnCount(); ++c) {
    const QString task = model.taskAt(c);
    const QString metric = QString::fromStdString(model.metricFor(c));
    if (!isBenchmark(task) || !higher_is_better(metric.toStdString())) continue;
    axes_ << task;
    columns << c;
  }
  const int k = axes_.size();
  auto angle = [k](int i) { return M_PI / 2 - 2 * M_PI * i / std::max(1, k); };
  plot_->xAxis->setRange(-1.45, 1.45);
  plot_->yAxis->setRange(-1.25, 1.25);
  if (k < 3) {
    auto* note = new QCPItemText(plot_);
    note->position->setCoords(0, 0);
    note->setText(tr("a radar needs three or more benchmarks (%1 so far)").arg(k));
    note->setColor(QColor(0x70, 0x70, 0x70));
    plot_->legend->setVisible(false);
    plot_->replot(QCustomPlot::rpQueuedReplot);
    return;
  }
  plot_->legend->setVisible(true);
  // Rings and spokes.
  const QPen gridPen(QColor(0xd0, 0xd0, 0xd0));
  for (double ring : {0.25, 0.5, 0.75, 1.0}) {
    auto* curve = new QCPCurve(plot_->xAxis, plot_->yAxis);
    curve->removeFromLegend();
    curve->setPen(gridPen);
    QVector<double> x, y;
    for (int i = 0; i <= k; ++i) {
      x << ring * std::cos(angle(i % k));
      y << ring * std::sin(angle(i % k));
    }
    curve->setData(x, y);
  }
  for (int i = 0; i < k; ++i) {
    auto* spoke = new QCPItemLine(plot_);
    spoke->setPen(gridPen);
    spoke->start->setCoords(0, 0);
    spoke->end->setCoords(std::cos(angle(i)), std::sin(angle(i)));
    auto* label = new QCPItemText(plot_);
    label->position->setCoords(1.15 * std::cos(angle(i)), 1.12 * std::sin(angle(i)));
    label->setText(axes_[i]);
    label->setFont(QFont(font().family(), font().pointSize() - 1));
  }
  for (int r = 0; r < model.rowCount(); ++r) {
    QVector<double> x, y;
    bool any = false;
    for (int i = 0; i <= k; ++i) {
      const QVariant v = model.data(model.index(r, columns[i % k]), ComparisonModel::ValueRole);
      const double value = v.isValid() ? std::clamp(v.toDouble(), 0.0, 1.0) : 0.0;
      any = any || v.isValid();
      x << value * std::cos(angle(i % k));
      y << value * std::sin(angle(i % k));
    }
    if (!any) continue;
    auto* curve = new QCPCurve(plot_->xAxis, plot_->yAxis);
    curve->setName(model.headerData(r, Qt::Vertical).toString());
    QColor c = checkpointColor(r);
    curve->setPen(QPen(c, 2));
    c.setAlpha(40);
    curve->setBrush(c);
    curve->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 5));
    curve->setData(x, y);
    ++polygons_;
  }
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

// ---- per-language perplexity

LanguagePerplexityChart::LanguagePerplexityChart(QWidget* parent) : QWidget(parent) {
  plot_ = makePlot(this, tr("Bits per byte by language (lower is better)"));
}

int LanguagePerplexityChart::barSeries() const { return countBars(plot_); }

void LanguagePerplexityChart::refresh(const ComparisonModel& model) {
  languages_.clear();
  QList<int> columns;
  const auto data = model.comparison();
  if (data) {
    for (size_t c = 0; c < data->tasks.size(); ++c) {
      const QString task = QString::fromStdString(data->tasks[c]);
      if (task.startsWith(QStringLiteral("ppl/all/"))) {
        languages_ << task.mid(8);
        columns << int(c);
      }
    }
    if (languages_.isEmpty()) {
      for (size_t c = 0; c < data->tasks.size(); ++c) {
        if (data->tasks[c] == "ppl/all") {
          languages_ << tr("all");
          columns << int(c);
        }
      }
    }
  }
  drawGroupedBars(plot_, model, languages_, tr("bits per byte"), [&](int r, int c, double* v, double* e) {
    const TaskCell* cell = model.cellAt(r, columns[c]);
    if (!cell) return false;
    auto it = cell->metrics.find("bits_per_byte");
    if (it == cell->metrics.end()) return false;
    *v = it->second.value;
    *e = it->second.bootstrap_stderr.value_or(it->second.stderr_value.value_or(0.0));
    return true;
  });
}

}  // namespace kanana::evaluation
