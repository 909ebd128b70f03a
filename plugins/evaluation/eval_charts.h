// Charts of the comparison (QCustomPlot through gui/sdk/qcustomplot_compat.h):
//  - ScoreBarChart: benchmarks on the x axis, one bar per checkpoint, bootstrap error bars;
//  - ScoreRadarChart: one polygon per checkpoint over the benchmarks (scores on 0..1 axes);
//  - LanguagePerplexityChart: bits per byte per language (ppl/all/<lang>), one bar per checkpoint.
// Each takes the comparison model (the metric it shows) and redraws on setModel()/refresh().
// GUI thread only.
#pragma once

#include <QStringList>
#include <QWidget>

class QCustomPlot;

namespace kanana::evaluation {

class ComparisonModel;

class ScoreBarChart : public QWidget {
  Q_OBJECT
 public:
  explicit ScoreBarChart(QWidget* parent = nullptr);
  void refresh(const ComparisonModel& model);
  QStringList categories() const { return categories_; }
  int barSeries() const;     // one per checkpoint drawn
  QCustomPlot* plot() const { return plot_; }

 private:
  QCustomPlot* plot_;
  QStringList categories_;
};

class ScoreRadarChart : public QWidget {
  Q_OBJECT
 public:
  explicit ScoreRadarChart(QWidget* parent = nullptr);
  void refresh(const ComparisonModel& model);
  QStringList axes() const { return axes_; }
  int polygons() const { return polygons_; }
  QCustomPlot* plot() const { return plot_; }

 private:
  QCustomPlot* plot_;
  QStringList axes_;
  int polygons_ = 0;
};

class LanguagePerplexityChart : public QWidget {
  Q_OBJECT
 public:
  explicit LanguagePerplexityChart(QWidget* parent = nullptr);
  void refresh(const ComparisonModel& model);
  QStringList languages() const { return languages_; }
  int barSeries() const;
  QCustomPlot* plot() const { return plot_; }

 private:
  QCustomPlot* plot_;
  QStringList languages_;
};

// The colour of the i-th checkpoint in every chart.
QColor checkpointColor(int i);

}  // namespace kanana::evaluation
