// The SDK's MetricPlot: series are created on first use, non-finite and (in log scale)
// non-positive values are skipped instead of breaking the axes, and the plot renders to PNG.
#include <QImage>
#include <QTemporaryDir>
#include <QtTest>
#include <cmath>
#include <limits>

#include "sdk/metric_plot.h"

using kanana::gui::MetricPlot;

class TestMetricPlot : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void seriesCollectPoints() {
    MetricPlot plot;
    for (int step = 1; step <= 100; ++step) {
      plot.addPoint(QStringLiteral("train/loss"), step, 4.0 * std::exp(-step / 40.0) + 1.5);
      if (step % 10 == 0) plot.addPoint(QStringLiteral("val/loss"), step, 4.2 * std::exp(-step / 40.0) + 1.6);
    }
    plot.addPoint(QStringLiteral("train/loss"), 101, std::numeric_limits<double>::quiet_NaN());
    QCOMPARE(plot.seriesNames(), (QStringList{"train/loss", "val/loss"}));
    QCOMPARE(plot.pointCount(QStringLiteral("train/loss")), 100);
    QCOMPARE(plot.pointCount(QStringLiteral("val/loss")), 10);
    QCOMPARE(plot.skippedPoints(), 1);
    plot.removeSeries(QStringLiteral("val/loss"));
    QCOMPARE(plot.seriesNames(), QStringList{"train/loss"});
    plot.clear();
    QCOMPARE(plot.pointCount(QStringLiteral("train/loss")), 0);
  }

  void logScaleSkipsNonPositive() {
    MetricPlot plot;
    plot.setLogScaleY(true);
    plot.setSeries(QStringLiteral("lr"), {0, 1, 2, 3}, {0.0, 1e-4, 3e-4, -1.0});
    QCOMPARE(plot.pointCount(QStringLiteral("lr")), 2);
    QCOMPARE(plot.skippedPoints(), 2);
  }

  void rendersToPng() {
    QTemporaryDir dir;
    MetricPlot plot;
    plot.setTitle(QStringLiteral("Stage 1 loss"));
    plot.setAxisLabels(QStringLiteral("step"), QStringLiteral("loss"));
    for (int step = 0; step < 50; ++step) plot.addPoint(QStringLiteral("loss"), step, 5.0 - step * 0.05);
    const QString file = dir.filePath(QStringLiteral("plot.png"));
    QString error;
    QVERIFY2(plot.savePng(file, 480, 320, &error), qPrintable(error));
    const QImage image(file);
    QCOMPARE(image.size(), QSize(480, 320));
    // The curve is drawn in the first palette colour (blue): some pixels must be blue-ish.
    int blue = 0;
    for (int y = 0; y < image.height(); ++y)
      for (int x = 0; x < image.width(); ++x) {
        const QColor c = image.pixelColor(x, y);
        if (c.blue() > 180 && c.red() < 120) ++blue;
      }
    QVERIFY2(blue > 50, qPrintable(QString::number(blue)));
  }
};

#include "test_main.h"
KANANA_TEST_MAIN(TestMetricPlot)
#include "test_metric_plot.moc"
