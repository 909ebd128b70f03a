// HistogramPlot: the distribution of one signal over the documents computed so far, with a
// vertical line per rule bound on that signal. Dragging a line moves the bound (the page
// turns thresholdMoved into FilterModel::setThreshold, which updates the live keep-rate).
// Red marks what the first rule on this signal removes: documents it applies to (its language
// and guard conditions hold) whose value lies outside its kept range; every other document is
// blue, so English documents under a Korean-only hangul_ratio rule are never painted red.
// Threading: GUI thread only.
#pragma once

#include <QString>
#include <QWidget>
#include <cstdint>
#include <utility>
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
  // `subject[i]` (empty = all): whether the first rule applies to values[i].
  void setData(std::vector<double> values, std::vector<Bound> bounds, std::vector<uint8_t> subject = {});
  // Documents per bar: {blue, red}, for tests.
  std::pair<double, double> countsInAndOut() const;
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
  std::vector<uint8_t> subject_;
  std::vector<double> binCentres_, binCounts_, binSubject_;  // per bin: all documents, those the rule applies to
  int drag_ = -1;
};

}  // namespace kanana::datainspector
