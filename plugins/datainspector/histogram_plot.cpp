// HistogramPlot: QCustomPlot bars + draggable threshold lines.
#include "histogram_plot.h"

#include <QMouseEvent>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "sdk/qcustomplot_compat.h"

namespace kanana::datainspector {

namespace {
constexpr int kBins = 60;
constexpr int kGrabPixels = 7;
}

HistogramPlot::HistogramPlot(const QString& signal, QWidget* parent) : QWidget(parent), signal_(signal) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  plot_ = new QCustomPlot(this);
  plot_->setMinimumHeight(150);
  plot_->plotLayout()->insertRow(0);
  auto* title = new QCPTextElement(plot_, signal, QFont(font().family(), font().pointSize(), QFont::DemiBold));
  plot_->plotLayout()->addElement(0, 0, title);
  plot_->yAxis->setLabel(tr("documents"));
  plot_->xAxis->grid()->setVisible(false);
  plot_->yAxis->grid()->setPen(QPen(QColor(0xe0, 0xe0, 0xe0)));
  inside_ = new QCPBars(plot_->xAxis, plot_->yAxis);
  outside_ = new QCPBars(plot_->xAxis, plot_->yAxis);
  inside_->setPen(Qt::NoPen);
  outside_->setPen(Qt::NoPen);
  inside_->setBrush(QColor(0x42, 0x7d, 0xc9));
  outside_->setBrush(QColor(0xd9, 0x6a, 0x5b));
  outside_->moveAbove(inside_);
  layout->addWidget(plot_);
  connect(plot_, &QCustomPlot::mousePress, this, &HistogramPlot::onPress);
  connect(plot_, &QCustomPlot::mouseMove, this, &HistogramPlot::onMove);
  connect(plot_, &QCustomPlot::mouseRelease, this, &HistogramPlot::onRelease);
}

void HistogramPlot::setData(std::vector<double> values, std::vector<Bound> bounds, std::vector<uint8_t> subject) {
  if (subject.size() != values.size()) subject.assign(values.size(), 1);
  size_t kept = 0;
  for (size_t i = 0; i < values.size(); ++i)
    if (!std::isnan(values[i])) values[kept] = values[i], subject[kept] = subject[i], ++kept;
  values.resize(kept);
  subject.resize(kept);
  values_ = std::move(values);
  subject_ = std::move(subject);
  bounds_ = std::move(bounds);
  rebuild();
}

void HistogramPlot::setBounds(std::vector<Bound> bounds) {
  bounds_ = std::move(bounds);
  placeLines();
  colourBars();
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void HistogramPlot::rebuild() {
  binCentres_.clear();
  binCounts_.clear();
  binSubject_.clear();
  double lo = 0, hi = 1;
  if (!values_.empty()) {
    std::vector<double> v = values_;
    const size_t p98 = std::min(v.size() - 1, static_cast<size_t>(double(v.size()) * 0.98));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(p98), v.end());
    hi = v[p98];
    lo = *std::min_element(values_.begin(), values_.end());
    // Show the thresholds too, unless they are far outside the data (words <= 100000).
    for (const auto& b : bounds_) {
      if (b.value > hi && b.value <= hi + 2 * (hi - lo + 1e-9)) hi = b.value;
      if (b.value < lo && b.value >= lo - 2 * (hi - lo + 1e-9)) lo = b.value;
    }
    if (hi <= lo) hi = lo + 1;
    const double width = (hi - lo) / kBins;
    binCounts_.assign(kBins, 0);
    binSubject_.assign(kBins, 0);
    for (int i = 0; i < kBins; ++i) binCentres_.push_back(lo + (i + 0.5) * width);
    for (size_t i = 0; i < values_.size(); ++i) {
      const int bin = std::clamp(static_cast<int>((values_[i] - lo) / width), 0, kBins - 1);
      binCounts_[static_cast<size_t>(bin)] += 1;  // the last bin also holds the top 2%
      binSubject_[static_cast<size_t>(bin)] += subject_[i];
    }
    inside_->setWidth(width);
    outside_->setWidth(width);
    const double pad = width;
    plot_->xAxis->setRange(lo - pad, hi + pad);
    plot_->yAxis->setRange(0, *std::max_element(binCounts_.begin(), binCounts_.end()) * 1.1 + 1);
  }
  placeLines();
  colourBars();
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void HistogramPlot::placeLines() {
  while (lines_.size() > bounds_.size()) {
    plot_->removeItem(lines_.back());
    lines_.pop_back();
  }
  while (lines_.size() < bounds_.size()) {
    auto* line = new QCPItemStraightLine(plot_);
    line->setPen(QPen(QColor(0x22, 0x22, 0x22), 2, Qt::DashLine));
    line->setSelectable(false);
    lines_.push_back(line);
  }
  for (size_t i = 0; i < bounds_.size(); ++i) {
    lines_[i]->point1->setCoords(bounds_[i].value, 0);
    lines_[i]->point2->setCoords(bounds_[i].value, 1);
    lines_[i]->setPen(QPen(bounds_[i].isMin ? QColor(0x2e, 0x7d, 0x32) : QColor(0xb7, 0x1c, 0x1c), 2, Qt::DashLine));
  }
}

void HistogramPlot::colourBars() {
  double lo = -INFINITY, hi = INFINITY;
  if (!bounds_.empty()) {
    const int rule = bounds_.front().rule;
    for (const auto& b : bounds_)
      if (b.rule == rule) (b.isMin ? lo : hi) = b.value;
  }
  // Red (stacked on blue) = the documents the rule applies to in a bin outside its range.
  QVector<double> x, blue, red;
  for (size_t i = 0; i < binCentres_.size(); ++i) {
    const bool in = binCentres_[i] >= lo && binCentres_[i] <= hi;
    const double removed = in || bounds_.empty() ? 0 : binSubject_[i];
    x.push_back(binCentres_[i]);
    blue.push_back(binCounts_[i] - removed);
    red.push_back(removed);
  }
  inside_->setData(x, blue, true);
  outside_->setData(x, red, true);
}

std::pair<double, double> HistogramPlot::countsInAndOut() const {
  double in = 0, out = 0;
  for (auto it = inside_->data()->constBegin(); it != inside_->data()->constEnd(); ++it) in += it->value;
  for (auto it = outside_->data()->constBegin(); it != outside_->data()->constEnd(); ++it) out += it->value;
  return {in, out};
}

void HistogramPlot::onPress(QMouseEvent* event) {
  drag_ = -1;
  double best = kGrabPixels;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    const double d = std::abs(plot_->xAxis->coordToPixel(bounds_[i].value) - event->position().x());
    if (d <= best) best = d, drag_ = static_cast<int>(i);
  }
}

void HistogramPlot::onMove(QMouseEvent* event) {
  if (drag_ < 0) {
    bool near = false;
    for (const auto& b : bounds_)
      near |= std::abs(plot_->xAxis->coordToPixel(b.value) - event->position().x()) <= kGrabPixels;
    plot_->setCursor(near ? Qt::SizeHorCursor : Qt::ArrowCursor);
    return;
  }
  Bound& b = bounds_[static_cast<size_t>(drag_)];
  b.value = plot_->xAxis->pixelToCoord(event->position().x());
  placeLines();
  colourBars();
  plot_->replot(QCustomPlot::rpQueuedReplot);
  Q_EMIT thresholdMoved(b.rule, b.isMin, b.value);
}

void HistogramPlot::onRelease(QMouseEvent*) { drag_ = -1; }

}  // namespace kanana::datainspector
