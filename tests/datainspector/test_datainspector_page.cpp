// The Data Inspector page's widgets over a generated corpus (offscreen): rows show, the
// viewer highlights, and labelling mode writes a label per key press and moves on.
#include <QFile>
#include <QPushButton>
#include <QStandardPaths>
#include <QLabel>
#include <QTableView>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTextEdit>
#include <QtTest>

#include "datainspector_page.h"
#include "histogram_plot.h"
#include "label_store.h"

using namespace kanana::datainspector;

class TestDataInspectorPage : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

  // Red is what the rule removes: a Korean-only hangul_ratio rule leaves English documents
  // (hangul_ratio 0, the rule does not apply to them) blue, whatever their value.
  void histogramColoursOnlyWhatTheRuleRemoves() {
    HistogramPlot plot("hangul_ratio");
    std::vector<double> values = {0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.1, 0.9, 0.95, 0.8};
    std::vector<uint8_t> korean = {0, 0, 0, 0, 0, 1, 1, 1, 1, 1};
    plot.setData(values, {{0, true, 0.3, "ko_hangul_ratio ≥"}}, korean);
    auto [blue, red] = plot.countsInAndOut();
    QCOMPARE(red, 2.0);   // the two Korean documents below 0.3
    QCOMPARE(blue, 8.0);
    plot.setBounds({{0, true, 0.85, "ko_hangul_ratio ≥"}});  // dragging the bound recolours
    std::tie(blue, red) = plot.countsInAndOut();
    QCOMPARE(red, 3.0);
    plot.setData(values, {});  // no rule on the signal: nothing is red
    QCOMPARE(plot.countsInAndOut().second, 0.0);
  }

  void labelWithKeys() {
    QTemporaryDir tmp;
    const QString corpus = tmp.filePath("page.jsonl");
    {
      QFile f(corpus);
      QVERIFY(f.open(QIODevice::WriteOnly));
      for (int i = 0; i < 30; ++i)
        f.write(QStringLiteral("{\"id\": \"d%1\", \"text\": \"문서 %1 입니다. Document %1 mail kim%1@example.com\"}\n").arg(i).toUtf8());
    }
    DataInspectorPage page(nullptr);
    page.resize(1200, 800);
    page.show();
    QString error;
    QVERIFY2(page.openCorpus(corpus, &error), qPrintable(error));
    QTableView* table = nullptr;  // the document table (the rules panel is a QTableWidget)
    for (auto* t : page.findChildren<QTableView*>())
      if (!qobject_cast<QTableWidget*>(t)) table = t;
    QVERIFY(table);
    QTRY_COMPARE_WITH_TIMEOUT(table->model()->rowCount(), 30, 10000);
    // The keep-rate follows the signals to the last row.
    QTRY_VERIFY_WITH_TIMEOUT([&] {
      for (auto* l : page.findChildren<QLabel*>())
        if (l->text().startsWith("Keep ") && l->text().endsWith(" of 30)")) return true;
      return false;
    }(), 20000);
    table->setFocus();
    table->selectRow(2);
    auto* viewer = page.findChild<QTextEdit*>();
    QTRY_VERIFY(viewer->toPlainText().contains("kim2@example.com"));
    QPushButton* labelMode = nullptr;
    for (auto* b : page.findChildren<QPushButton*>())
      if (b->text() == QStringLiteral("Label mode")) labelMode = b;
    QVERIFY(labelMode);
    labelMode->setChecked(true);
    QTest::keyClick(table, Qt::Key_1);
    QTest::keyClick(table, Qt::Key_B);
    QCOMPARE(table->currentIndex().row(), 4);
    QFile labels(LabelStore::defaultPath(QString(), corpus));
    QVERIFY(labels.open(QIODevice::ReadOnly));
    const QList<QByteArray> lines = labels.readAll().split('\n');
    QCOMPARE(lines.size(), 3);  // two labels and the final newline
    QVERIFY(lines[0].contains("\"label\":\"good\"") && lines[0].contains("\"row\":2"));
    QVERIFY(lines[1].contains("\"label\":\"bad\"") && lines[1].contains("\"row\":3"));
    labels.remove();
  }
};

#include "test_main.h"
KANANA_TEST_MAIN(TestDataInspectorPage)
#include "test_datainspector_page.moc"
