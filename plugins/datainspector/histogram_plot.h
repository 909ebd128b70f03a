// HistogramPlot: the distribution of one signal over the documents computed so far, with a
// vertical line per rule bound on that signal. Dragging a line moves the bound (the page
// turns thresholdMoved into FilterModel::setThreshold, which updates the live keep-rate).
// Bars inside the first rule's kept range are blue, bars outside it red.
// Threading: GUI thread only.
#pragma once

#include <QString>
#include <QWidget>
#include <vector>

class QCustomPlot;
class QCPBars;
class QCPItemStraightLine;
class QMouseEvent;

namespace kanana::datainspector {

class HistogramPlot : public QWidget {
  Q_OBJECT
 public:
  struct Bound {
    int rule = -1;
    bool isMin = true;
    double value = 0;
    QString label;  // "ko_char_count ≥"
  };

  explicit HistogramPlot(const QString& signal, QWidget* parent = nullptr);
  QString signal() const { return signal_; }
  // Values of the computed rows (NaNs are ignored); bounds of the rules on this signal.
  void setData(std::vector<double> values, std::vector<Bound> bounds);
  void setBounds(std::vector<Bound> bounds);
  bool dragging() const { return drag_ >= 0; }

 Q_SIGNALS:
  void thresholdMoved(int rule, bool isMin, double value);

 private:
  void rebuild();
  void placeLines();
  void colourBars();
  void onPress(QMouseEvent* event);
  void onMove(QMouseEvent* event);
  void onRelease(QMouseEvent* event);

  QString signal_;
  QCustomPlot* plot_;
  QCPBars* inside_;
  QCPBars* outside_;
  std::vector<double> values_;
  std::vector<Bound> bounds_;
  std::vector<QCPItemStraightLine*> lines_;
  std::vector<double> binCentres_, binCounts_;
  int drag_ = -1;
};

}  // namespace kanana::datainspector
