// The importance plots of the Surgery page (QCustomPlot through gui/sdk/qcustomplot_compat.h):
// a heat map of head scores (query heads × layers, kv groups separated), layer importance
// bars (block importance and the loss increase when the layer is dropped), a histogram of
// MLP neuron scores over all layers and the sorted hidden-channel scores. With a prune plan,
// what the plan removes is marked: crosses on pruned heads, red bars for dropped layers,
// the removed share of every histogram bin and the removed channels in red.
// Threading: GUI thread only.
#pragma once

#include <QWidget>

#include <memory>
#include <optional>

#include "surgery/importance.h"
#include "surgery/prune_plan.h"

class QCustomPlot;
class QCPColorMap;
class QCPGraph;
class QCPBars;

namespace kanana::surgeryplugin {

class ImportanceView : public QWidget {
  Q_OBJECT
 public:
  explicit ImportanceView(QWidget* parent = nullptr);

  void setScores(std::shared_ptr<const surgery::ImportanceScores> scores);
  void setPlan(const std::optional<surgery::PrunePlan>& plan);

  // For tests and screenshots.
  int heatmapColumns() const;
  int heatmapRows() const;
  int prunedHeadMarks() const;
  double removedNeuronCount() const;  // sum of the "removed" histogram bars
  int droppedLayerBars() const;

 private:
  void rebuild();

  std::shared_ptr<const surgery::ImportanceScores> scores_;
  std::optional<surgery::PrunePlan> plan_;
  QCustomPlot* heads_;
  QCustomPlot* layers_;
  QCustomPlot* neurons_;
  QCustomPlot* channels_;
  QCPColorMap* headMap_ = nullptr;
  QCPGraph* headMarks_ = nullptr;
  QCPBars* blockBars_ = nullptr;
  QCPBars* lossBars_ = nullptr;
  QCPBars* droppedBars_ = nullptr;
  QCPBars* keptNeurons_ = nullptr;
  QCPBars* removedNeurons_ = nullptr;
  QCPGraph* keptChannels_ = nullptr;
  QCPGraph* removedChannels_ = nullptr;
};

}  // namespace kanana::surgeryplugin
