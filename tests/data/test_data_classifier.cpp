// fastText quality classifier: trains on a small generated labelled JSONL, reports held-out
// precision/recall, saves a model that loads again and scores unseen text on the right side.
#include <QtTest>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "data/quality_classifier.h"

using namespace kanana::data;

class TestDataClassifier : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void trainEvaluateScore() {
    QTemporaryDir dir;
    const std::string data = dir.filePath("labelled.jsonl").toStdString();
    {
      std::ofstream out(data);
      const char* good[] = {"광합성은 식물이 빛 에너지를 이용해 양분을 만드는 과정이다", "The theorem follows from the definition of a continuous function",
                            "세포는 생명체를 이루는 기본 단위이며 핵과 세포질로 이루어진다", "Students measured the boiling point of water at different altitudes"};
      const char* bad[] = {"최저가 할인 지금 클릭 무료 배송 이벤트 당첨", "BUY CHEAP PILLS NOW click here free offer winner",
                           "대박 이벤트 클릭 클릭 무료 쿠폰 받기", "hot singles casino bonus click now limited offer"};
      for (int i = 0; i < 200; ++i) {
        const bool hq = i % 3 != 0;  // not period 2: held-out docs are every 10th, both labels must appear
        const std::string text = std::string(hq ? good[i % 4] : bad[i % 4]) + " " + std::to_string(i % 7);
        out << nlohmann::json{{"text", text}, {"label", hq ? "hq" : "lq"}}.dump() << "\n";
      }
      out << "{\"text\": \"no label\"}\n";
    }
    ClassifierTrainOptions o;
    o.data = data;
    o.model_out = dir.filePath("q.bin").toStdString();
    o.epoch = 20;
    o.dim = 16;
    auto rep = train_quality_classifier(o);
    QVERIFY2(rep.is_ok(), rep.status().to_string().c_str());
    QCOMPARE(rep->skipped, uint64_t(1));
    QCOMPARE(rep->train_docs + rep->eval_docs, uint64_t(200));
    QCOMPARE(rep->eval_docs, uint64_t(20));
    QVERIFY(rep->accuracy >= 0.9);
    QVERIFY(rep->labels["hq"].support > 0 && rep->labels["lq"].support > 0);
    QVERIFY(rep->labels["hq"].precision >= 0.9 && rep->labels["hq"].recall >= 0.9);
    auto model = QualityClassifier::load(o.model_out);
    QVERIFY(model.is_ok());
    QVERIFY((*model)->score("식물은 빛 에너지로 양분을 만드는 과정을 거친다", "hq") > 0.5);
    QVERIFY((*model)->score("free coupon click now casino offer", "hq") < 0.5);
    QCOMPARE((*model)->predict("click here free offer now").first, std::string("lq"));
    o.data = dir.filePath("missing.jsonl").toStdString();
    QVERIFY(!train_quality_classifier(o).is_ok());
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestDataClassifier)
#include "test_data_classifier.moc"
