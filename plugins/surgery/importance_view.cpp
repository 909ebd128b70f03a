// See importance_view.h.
#include "importance_view.h"

#include <QGridLayout>

#include <algorithm>
#include <cmath>
#include <set>

#include "sdk/qcustomplot_compat.h"

namespace kanana::surgeryplugin {
namespace {

constexpr int kBins = 48;
const QColor kKept(0x42, 0x7d, 0xc9);
const QColor kRemoved(0xd9, 0x4f, 0x3d);
const QColor kLoss(0xe8, 0x9f, 0x3c);

QCustomPlot* makePlot(QWidget* parent, const QString& title) {
  auto* p = new QCustomPlot(parent);
  p->setMinimumSize(260, 200);
  p->plotLayout()->insertRow(0);
  p->plotLayout()->addElement(0, 0, new QCPTextElement(p, title, QFont(parent->font().family(), parent->font().pointSize(), QFont::DemiBold)));
  p->xAxis->grid()->setVisible(false);
  p->yAxis->grid()->setPen(QPen(QColor(0xe4, 0xe4, 0xe4)));
  return p;
}

void setNote(QCustomPlot* p, const QString& text) {
  if (auto* t = qobject_cast<QCPTextElement*>(p->plotLayout()->element(0, 0))) t->setText(text);
}

}  // namespace

ImportanceView::ImportanceView(QWidget* parent) : QWidget(parent) {
  auto* grid = new QGridLayout(this);
  grid->setContentsMargins(0, 0, 0, 0);
  grid->setSpacing(6);
  heads_ = makePlot(this, tr("Attention heads (score ÷ layer max)"));
  layers_ = makePlot(this, tr("Layer importance"));
  neurons_ = makePlot(this, tr("MLP neurons"));
  channels_ = makePlot(this, tr("Hidden channels (sorted)"));
  grid->addWidget(heads_, 0, 0);
  grid->addWidget(layers_, 0, 1);
  grid->addWidget(neurons_, 1, 0);
  grid->addWidget(channels_, 1, 1);

  // Heads: a colour map with a scale, crosses on the heads a plan prunes.
  heads_->xAxis->setLabel(tr("query head (| = kv group)"));
  heads_->yAxis->setLabel(tr("layer"));
  headMap_ = new QCPColorMap(heads_->xAxis, heads_->yAxis);
  auto* scale = new QCPColorScale(heads_);
  heads_->plotLayout()->addElement(1, 1, scale);
  scale->setType(QCPAxis::atRight);
  headMap_->setColorScale(scale);
  headMap_->setGradient(QCPColorGradient::gpThermal);
  headMap_->setInterpolate(false);
  auto* margins = new QCPMarginGroup(heads_);
  heads_->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
  scale->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
  headMarks_ = heads_->addGraph();
  headMarks_->setLineStyle(QCPGraph::lsNone);
  headMarks_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCross, QPen(QColor(0x10, 0x30, 0x80), 2.5), Qt::NoBrush, 11));
  headMarks_->setName(tr("pruned by the target"));
  // Integer ticks on the index axes.
  for (QCPAxis* axis : {heads_->xAxis, heads_->yAxis}) {
    QSharedPointer<QCPAxisTickerFixed> ticker(new QCPAxisTickerFixed);
    ticker->setTickStep(1.0);
    ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    axis->setTicker(ticker);
  }

  // Layers: block importance (left axis) and loss increase (right axis) side by side; a pale
  // red band behind the layers a plan drops.
  layers_->xAxis->setLabel(tr("layer"));
  layers_->yAxis->setLabel(tr("1 − cos(x_in, x_out)"));
  layers_->yAxis2->setVisible(true);
  layers_->yAxis2->setLabel(tr("loss increase if dropped"));
  droppedBars_ = new QCPBars(layers_->xAxis, layers_->yAxis);
  droppedBars_->setPen(Qt::NoPen);
  droppedBars_->setBrush(QColor(kRemoved.red(), kRemoved.green(), kRemoved.blue(), 60));
  droppedBars_->setWidth(0.95);
  droppedBars_->setName(tr("dropped"));
  auto* group = new QCPBarsGroup(layers_);
  blockBars_ = new QCPBars(layers_->xAxis, layers_->yAxis);
  blockBars_->setPen(Qt::NoPen);
  blockBars_->setBrush(kKept);
  blockBars_->setName(tr("block importance"));
  blockBars_->setWidth(0.4);
  blockBars_->setBarsGroup(group);
  lossBars_ = new QCPBars(layers_->xAxis, layers_->yAxis2);
  lossBars_->setPen(Qt::NoPen);
  lossBars_->setBrush(kLoss);
  lossBars_->setName(tr("loss increase"));
  lossBars_->setWidth(0.4);
  lossBars_->setBarsGroup(group);
  {
    QSharedPointer<QCPAxisTickerFixed> ticker(new QCPAxisTickerFixed);
    ticker->setTickStep(1.0);
    ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    layers_->xAxis->setTicker(ticker);
  }
  layers_->legend->setVisible(true);
  layers_->legend->setFont(QFont(font().family(), std::max(6, font().pointSize() - 2)));
  layers_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);

  // Neurons: stacked histogram, kept below, removed above.
  neurons_->xAxis->setLabel(tr("score (act(gate)·up, batch L2 of sequence mean)"));
  neurons_->yAxis->setLabel(tr("neurons"));
  keptNeurons_ = new QCPBars(neurons_->xAxis, neurons_->yAxis);
  removedNeurons_ = new QCPBars(neurons_->xAxis, neurons_->yAxis);
  keptNeurons_->setPen(Qt::NoPen);
  removedNeurons_->setPen(Qt::NoPen);
  keptNeurons_->setBrush(kKept);
  removedNeurons_->setBrush(kRemoved);
  keptNeurons_->setName(tr("kept"));
  removedNeurons_->setName(tr("pruned"));
  removedNeurons_->moveAbove(keptNeurons_);
  neurons_->legend->setVisible(true);
  neurons_->legend->setFont(layers_->legend->font());
  neurons_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);

  // Channels: scores sorted high to low, removed ones in red.
  channels_->xAxis->setLabel(tr("rank"));
  channels_->yAxis->setLabel(tr("score (RMSNorm outputs, Σ layers)"));
  keptChannels_ = channels_->addGraph();
  removedChannels_ = channels_->addGraph();
  keptChannels_->setLineStyle(QCPGraph::lsImpulse);
  removedChannels_->setLineStyle(QCPGraph::lsImpulse);
  keptChannels_->setPen(QPen(kKept, 1.5));
  removedChannels_->setPen(QPen(kRemoved, 1.5));
  rebuild();
}

void ImportanceView::setScores(std::shared_ptr<const surgery::ImportanceScores> scores) {
  scores_ = std::move(scores);
  rebuild();
}

void ImportanceView::setPlan(const std::optional<surgery::PrunePlan>& plan) {
  plan_ = plan;
  rebuild();
}

int ImportanceView::heatmapColumns() const { return headMap_->data()->keySize(); }
int ImportanceView::heatmapRows() const { return headMap_->data()->valueSize(); }
int ImportanceView::prunedHeadMarks() const { return headMarks_->data()->size(); }
int ImportanceView::droppedLayerBars() const {
  int n = 0;
  for (auto it = droppedBars_->data()->constBegin(); it != droppedBars_->data()->constEnd(); ++it) n += it->value > 0;
  return n;
}
double ImportanceView::removedNeuronCount() const {
  double n = 0;
  for (auto it = removedNeurons_->data()->constBegin(); it != removedNeurons_->data()->constEnd(); ++it) n += it->value;
  return n;
}

void ImportanceView::rebuild() {
  // Clear everything first, then draw what the scores have.
  for (auto* item : heads_->findChildren<QCPItemStraightLine*>()) heads_->removeItem(item);
  headMarks_->data()->clear();
  droppedBars_->data()->clear();
  blockBars_->data()->clear();
  lossBars_->data()->clear();
  keptNeurons_->data()->clear();
  removedNeurons_->data()->clear();
  keptChannels_->data()->clear();
  removedChannels_->data()->clear();
  const auto* s = scores_.get();
  const bool plan_fits = s && plan_ && plan_->source.num_hidden_layers == s->config.num_hidden_layers &&
                         plan_->source.num_attention_heads == s->config.num_attention_heads &&
                         plan_->source.intermediate_size == s->config.intermediate_size &&
                         plan_->source.hidden_size == s->config.hidden_size;
  const auto* plan = plan_fits ? &*plan_ : nullptr;
  if (!s) {
    headMap_->data()->setSize(1, 1);
    headMap_->data()->setCell(0, 0, 0);
    headMap_->setVisible(false);  // an empty map would paint one cell over the whole axis rect
    headMap_->colorScale()->setVisible(false);
    setNote(heads_, tr("Attention heads — no importance scores yet"));
    for (auto* p : {heads_, layers_, neurons_, channels_}) p->replot(QCustomPlot::rpQueuedReplot);
    return;
  }
  setNote(heads_, tr("Attention heads (score ÷ layer max)"));
  const int L = int(s->heads.size());
  const int H = L > 0 ? int(s->heads[0].size()) : 0;
  const int G = int(s->config.kv_groups());
  // Kept indices per source layer (empty set = layer dropped).
  std::vector<std::set<int64_t>> keptHeads(static_cast<size_t>(L)), keptNeurons(static_cast<size_t>(L));
  std::vector<bool> layerKept(size_t(L), true);
  std::set<int64_t> keptChannels;
  if (plan) {
    std::fill(layerKept.begin(), layerKept.end(), false);
    for (size_t i = 0; i < plan->layers.size(); ++i) {
      const size_t l = size_t(plan->layers[i]);
      layerKept[l] = true;
      keptHeads[l] = {plan->heads[i].begin(), plan->heads[i].end()};
      keptNeurons[l] = {plan->neurons[i].begin(), plan->neurons[i].end()};
    }
    keptChannels = {plan->channels.begin(), plan->channels.end()};
  }

  // Heads.
  headMap_->setVisible(true);
  headMap_->colorScale()->setVisible(true);
  headMap_->data()->setSize(H, L);
  headMap_->data()->setRange(QCPRange(0, std::max(1, H - 1)), QCPRange(0, std::max(1, L - 1)));
  for (int l = 0; l < L; ++l) {
    const double mx = std::max(1e-30, *std::max_element(s->heads[size_t(l)].begin(), s->heads[size_t(l)].end()));
    for (int h = 0; h < H; ++h) {
      headMap_->data()->setCell(h, l, s->heads[size_t(l)][size_t(h)] / mx);
      if (plan && (!layerKept[size_t(l)] || !keptHeads[size_t(l)].count(h))) headMarks_->addData(h, l);
    }
  }
  // Scores within a layer are often close: stretch the colours over the range actually used.
  double lowest = 1.0;
  for (int l = 0; l < L; ++l)
    for (int h = 0; h < H; ++h) lowest = std::min(lowest, headMap_->data()->cell(h, l));
  headMap_->setDataRange(QCPRange(std::min(lowest, 0.999), 1.0));
  for (int g = 1; g * G < H; ++g) {
    auto* line = new QCPItemStraightLine(heads_);
    line->point1->setCoords(g * G - 0.5, 0);
    line->point2->setCoords(g * G - 0.5, 1);
    line->setPen(QPen(Qt::white, 2));
  }
  heads_->xAxis->setRange(-0.5, H - 0.5);
  heads_->yAxis->setRange(-0.5, L - 0.5);
  heads_->replot(QCustomPlot::rpQueuedReplot);

  // Layers.
  const auto loss_increase = s->layer_scores(/*by_loss=*/true);
  double maxBlock = 0;
  for (int l = 0; l < L; ++l) {
    blockBars_->addData(l, s->block_importance[size_t(l)]);
    maxBlock = std::max(maxBlock, s->block_importance[size_t(l)]);
    if (!s->layer_loss.empty()) lossBars_->addData(l, loss_increase[size_t(l)]);
  }
  for (int l = 0; l < L; ++l) droppedBars_->addData(l, layerKept[size_t(l)] ? 0.0 : maxBlock * 1.08);
  layers_->xAxis->setRange(-0.6, L - 0.4);
  // Both axes share their zero line: dropping a layer can also lower the loss (negative bars).
  double lossLo = 0, lossHi = 0;
  for (int l = 0; l < L && !s->layer_loss.empty(); ++l) {
    lossLo = std::min(lossLo, loss_increase[size_t(l)]);
    lossHi = std::max(lossHi, loss_increase[size_t(l)]);
  }
  const double up = std::max(1e-9, maxBlock * 1.1), up2 = std::max(1e-9, lossHi * 1.1);
  const double below = lossLo < 0 ? -lossLo * 1.1 / up2 : 0.0;  // fraction of the upper part
  layers_->yAxis->setRange(-below * up, up);
  layers_->yAxis2->setRange(-below * up2, up2);
  layers_->replot(QCustomPlot::rpQueuedReplot);

  // Neurons: histogram up to the 99th percentile (the last bin holds the rest).
  std::vector<double> all;
  for (const auto& layer : s->neurons) all.insert(all.end(), layer.begin(), layer.end());
  if (!all.empty()) {
    std::vector<double> sorted = all;
    std::sort(sorted.begin(), sorted.end());
    const double lo = sorted.front();
    double hi = sorted[std::min(sorted.size() - 1, size_t(double(sorted.size()) * 0.99))];
    if (hi <= lo) hi = lo + 1e-9;
    const double width = (hi - lo) / kBins;
    std::vector<double> kept(kBins, 0), removed(kBins, 0);
    for (int l = 0; l < L; ++l)
      for (size_t i = 0; i < s->neurons[size_t(l)].size(); ++i) {
        const int bin = std::clamp(int((s->neurons[size_t(l)][i] - lo) / width), 0, kBins - 1);
        const bool gone = plan && (!layerKept[size_t(l)] || !keptNeurons[size_t(l)].count(int64_t(i)));
        (gone ? removed : kept)[size_t(bin)] += 1;
      }
    for (int b = 0; b < kBins; ++b) {
      keptNeurons_->addData(lo + (b + 0.5) * width, kept[size_t(b)]);
      removedNeurons_->addData(lo + (b + 0.5) * width, removed[size_t(b)]);
    }
    keptNeurons_->setWidth(width);
    removedNeurons_->setWidth(width);
    neurons_->xAxis->setRange(lo - width, hi + width);
    neurons_->yAxis->rescale();
    neurons_->yAxis->setRangeLower(0);
  }
  neurons_->replot(QCustomPlot::rpQueuedReplot);

  // Channels.
  std::vector<std::pair<double, int64_t>> ch;
  for (size_t c = 0; c < s->channels.size(); ++c) ch.push_back({s->channels[c], int64_t(c)});
  std::sort(ch.begin(), ch.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t r = 0; r < ch.size(); ++r) {
    const bool gone = plan && !keptChannels.count(ch[r].second);
    (gone ? removedChannels_ : keptChannels_)->addData(double(r), ch[r].first);
  }
  channels_->xAxis->setRange(-1, double(ch.size()));
  channels_->yAxis->rescale();
  channels_->yAxis->setRangeLower(0);
  channels_->replot(QCustomPlot::rpQueuedReplot);
}

}  // namespace kanana::surgeryplugin
