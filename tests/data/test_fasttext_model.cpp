// FastTextModel against libfasttext itself: the same labels in the same order, probabilities
// within float rounding, for the real lid.176.ftz (hierarchical softmax, quantized, pruned) on
// real Korean/English documents, and for classifiers trained here with the library (softmax
// and one-vs-all, word bigrams, dense) and quantized by it (pruned, quantized output, norms).
// Then every truncation of a model file and a few lies in it: an error naming the field, never
// a crash.
#include <fasttext/fasttext.h>

#include <QtTest>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "base/files.h"
#include "base/json.h"
#include "data/fasttext_model.h"
#include "data/lang_id.h"
#include "test_support.h"

using namespace kanana;
using namespace kanana::data;
namespace fs = std::filesystem;

namespace {

std::vector<std::pair<float, std::string>> reference(const fasttext::FastText& ft, const std::string& line, int k) {
  std::istringstream in(line);
  std::vector<std::pair<fasttext::real, std::string>> preds;
  ft.predictLine(in, preds, k, 0.0);
  return {preds.begin(), preds.end()};
}

// Compares on every line; returns how many lines predicted something.
int compare_all(const fasttext::FastText& ft, const FastTextModel& ours, const std::vector<std::string>& lines, int k) {
  int predicted = 0;
  for (const std::string& line : lines) {
    const auto want = reference(ft, line, k);
    const auto got = ours.predict(line, k);
    if (got.size() != want.size()) {
      QTest::qFail(qPrintable(QString("line '%1': %2 predictions, fastText %3")
                                  .arg(QString::fromStdString(line.substr(0, 80))).arg(got.size()).arg(want.size())),
                   __FILE__, __LINE__);
      return -1;
    }
    for (size_t i = 0; i < got.size(); ++i) {
      // Near-ties may swap places by a rounding difference; anything else must agree.
      const bool same_label = got[i].label == want[i].second;
      const bool tie = i + 1 < want.size() && std::abs(want[i].first - want[i + 1].first) < 1e-5;
      if ((!same_label && !tie) || std::abs(got[i].probability - want[i].first) > 2e-5f) {
        QTest::qFail(qPrintable(QString("line '%1' #%2: %3 %4, fastText %5 %6")
                                    .arg(QString::fromStdString(line.substr(0, 80))).arg(i)
                                    .arg(QString::fromStdString(got[i].label)).arg(got[i].probability)
                                    .arg(QString::fromStdString(want[i].second)).arg(want[i].first)),
                     __FILE__, __LINE__);
        return -1;
      }
    }
    predicted += got.empty() ? 0 : 1;
  }
  return predicted;
}

// Documents as the language identifier passes them (lid_input_line).
std::vector<std::string> corpus_lines(const fs::path& jsonl, size_t max_docs) {
  std::vector<std::string> out;
  std::ifstream in(jsonl);
  std::string raw;
  while (out.size() < max_docs && std::getline(in, raw)) {
    Json j = Json::parse(raw, nullptr, false);
    if (!j.is_object() || !j.contains("text") || !j["text"].is_string()) continue;
    out.push_back(lid_input_line(j["text"].get<std::string>()));
  }
  return out;
}

// A deterministic supervised run of libfasttext on `input`; callers set the model's shape.
fasttext::Args supervised(const std::string& input, fasttext::loss_name loss) {
  fasttext::Args a;
  a.input = input;
  a.model = fasttext::model_name::sup;
  a.loss = loss;
  a.minCount = 1;
  a.thread = 1;
  a.seed = 1;
  a.verbose = 0;
  return a;
}

// libfasttext's quantization (product quantizer with 2-d sub-vectors); empty or its error.
std::string quantize(fasttext::FastText& ft, fasttext::Args q, bool qout, bool qnorm, size_t cutoff) {
  q.qout = qout;
  q.qnorm = qnorm;
  q.cutoff = cutoff;
  q.retrain = false;
  q.dsub = 2;
  try {
    ft.quantize(q);
  } catch (const std::exception& e) {
    return e.what();
  }
  return {};
}

}  // namespace

class TestFastTextModel : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  std::vector<std::string> bilingual_;  // labelled-looking text for the trained classifiers
  std::vector<std::string> edge_lines_;

 private Q_SLOTS:
  void initTestCase() {
    std::mt19937 rng(7);
    const char* ko[] = {"한국어", "모델", "학습", "데이터", "서울", "날씨", "좋은", "하루", "연구", "결과를", "발표했다", "컴퓨터"};
    const char* en[] = {"the", "model", "learns", "from", "data", "weather", "today", "good", "research", "results", "computer", "science"};
    std::ofstream train(tmp_.filePath("train.txt").toStdString());
    for (int i = 0; i < 600; ++i) {
      const int kind = i % 3;  // ko, en, mixed
      std::string text;
      for (int w = 0; w < 4 + int(rng() % 8); ++w) {
        const bool k = kind == 0 || (kind == 2 && rng() % 2);
        text += std::string(k ? ko[rng() % 12] : en[rng() % 12]) + " ";
      }
      train << (kind == 0 ? "__label__ko " : kind == 1 ? "__label__en " : "__label__mixed ") << text << "\n";
      if (i % 5 == 0) bilingual_.push_back(text + "\n");
    }
    // Edge cases of tokenisation: empty, only spaces, no newline, tabs and \r, a label token,
    // an end-of-sentence token in the middle, unknown scripts, a lone continuation byte.
    edge_lines_ = {"\n", "   \n", "no newline at the end", "tab\tseparated\rwords\n", "__label__ko 한국어 문장\n",
                   "before </s> after\n", "Ελληνικά και русский текст\n", std::string("bad \x80 byte\n"), "한\n", "x\n"};
  }

  void lid176MatchesTheLibrary() {
    const fs::path model = kanana::test::data_cache().toStdString() + "/models/lid.176.ftz";
    if (!fs::exists(model)) QSKIP("lid.176.ftz is not in the data cache (scripts/fetch-demo-data.sh)");
    fasttext::FastText ft;
    ft.loadModel(model.string());
    auto ours = FastTextModel::load(model);
    QVERIFY2(ours.is_ok(), ours.status().to_string().c_str());
    QCOMPARE((*ours)->labels(), 176);
    QVERIFY2(QString::fromStdString((*ours)->describe()).contains("hs loss"), (*ours)->describe().c_str());
    qInfo("%s", (*ours)->describe().c_str());
    const fs::path corpora = kanana::test::data_cache().toStdString() + "/corpora";
    std::vector<std::string> lines;
    for (const char* name : {"demo_bilingual.jsonl", "gettext_ko_en.jsonl", "install_guide_ko.jsonl", "sotu_en.jsonl"}) {
      auto more = corpus_lines(corpora / name, 300);
      lines.insert(lines.end(), more.begin(), more.end());
    }
    QVERIFY2(lines.size() >= 300, "the demo corpora are missing from the data cache");
    lines.insert(lines.end(), edge_lines_.begin(), edge_lines_.end());
    const int n1 = compare_all(ft, **ours, lines, 1);
    QVERIFY(n1 > int(lines.size()) - 5);
    QVERIFY(compare_all(ft, **ours, lines, 5) == n1);
    QVERIFY(compare_all(ft, **ours, {"서울은 대한민국의 수도이다.\n"}, 1) == 1);
    QCOMPARE((*ours)->predict("서울은 대한민국의 수도이다.\n").at(0).label, std::string("__label__ko"));
    QCOMPARE((*ours)->predict("The capital of Korea is Seoul.\n").at(0).label, std::string("__label__en"));
  }

  void trainedClassifiersMatchTheLibrary_data() {
    QTest::addColumn<int>("loss");
    QTest::addColumn<bool>("quantized");
    QTest::newRow("softmax") << int(fasttext::loss_name::softmax) << false;
    QTest::newRow("one-vs-all") << int(fasttext::loss_name::ova) << false;
    QTest::newRow("hs") << int(fasttext::loss_name::hs) << false;
    QTest::newRow("softmax quantized, pruned, qnorm") << int(fasttext::loss_name::softmax) << true;
  }
  void trainedClassifiersMatchTheLibrary() {
    QFETCH(int, loss);
    QFETCH(bool, quantized);
    fasttext::Args a = supervised(tmp_.filePath("train.txt").toStdString(), static_cast<fasttext::loss_name>(loss));
    a.epoch = 5;
    a.lr = 0.5;
    a.dim = 16;
    a.wordNgrams = 2;
    a.minn = 2;
    a.maxn = 4;
    a.bucket = 50000;
    fasttext::FastText ft;
    ft.train(a);
    std::string file = tmp_.filePath(QString("clf-%1.bin").arg(loss)).toStdString();
    if (quantized) {
      // A quantized output needs >= 256 labels (lid.176 has none either); the cutoff prunes the
      // dictionary and buckets to the 2000 most important rows.
      const std::string error = quantize(ft, a, /*qout=*/false, /*qnorm=*/true, 2000);
      QVERIFY2(error.empty(), error.c_str());
      file = tmp_.filePath("clf-quantized.ftz").toStdString();
    }
    ft.saveModel(file);
    fasttext::FastText reloaded;  // what is compared is what the file says
    reloaded.loadModel(file);
    auto ours = FastTextModel::load(file);
    QVERIFY2(ours.is_ok(), ours.status().to_string().c_str());
    QCOMPARE((*ours)->labels(), 3);
    if (quantized) {
      QVERIFY2(QString::fromStdString((*ours)->describe()).contains("quantized input"), (*ours)->describe().c_str());
      QVERIFY2(QString::fromStdString((*ours)->describe()).contains("pruned"), (*ours)->describe().c_str());
    }
    std::vector<std::string> lines = bilingual_;
    lines.insert(lines.end(), edge_lines_.begin(), edge_lines_.end());
    const int n = compare_all(reloaded, **ours, lines, -1);
    QVERIFY(n >= int(bilingual_.size()));
    QVERIFY(compare_all(reloaded, **ours, lines, 1) == n);
  }

  void quantizedOutputMatchesTheLibrary() {
    // fastText quantizes an output matrix only from 256 rows: 300 labels, a few lines each.
    std::mt19937 rng(3);
    std::ofstream train(tmp_.filePath("many.txt").toStdString());
    std::vector<std::string> lines;
    for (int i = 0; i < 1200; ++i) {
      std::string text;
      for (int w = 0; w < 5; ++w) text += "w" + std::to_string(rng() % 400) + " ";
      train << "__label__c" << (i % 300) << " " << text << "\n";
      if (i % 10 == 0) lines.push_back(text + "\n");
    }
    train.close();
    fasttext::Args a = supervised(tmp_.filePath("many.txt").toStdString(), fasttext::loss_name::softmax);
    a.epoch = 3;
    a.dim = 8;
    a.minn = 0;
    a.maxn = 0;
    a.wordNgrams = 1;
    a.bucket = 0;
    fasttext::FastText ft;
    ft.train(a);
    const std::string error = quantize(ft, a, /*qout=*/true, /*qnorm=*/false, 0);
    QVERIFY2(error.empty(), error.c_str());
    const std::string file = tmp_.filePath("many.ftz").toStdString();
    ft.saveModel(file);
    fasttext::FastText reloaded;
    reloaded.loadModel(file);
    auto ours = FastTextModel::load(file);
    QVERIFY2(ours.is_ok(), ours.status().to_string().c_str());
    QVERIFY2(QString::fromStdString((*ours)->describe()).contains("quantized output"), (*ours)->describe().c_str());
    QCOMPARE((*ours)->labels(), 300);
    QVERIFY(compare_all(reloaded, **ours, lines, 5) == int(lines.size()));
  }

  void malformedFilesAreErrors() {
    // A small real model, then every prefix of it, and a few fields made to lie.
    const std::string file = tmp_.filePath("clf-3.bin").toStdString();  // the softmax model above
    auto bytes = read_file(file);
    QVERIFY2(bytes.is_ok(), "trainedClassifiersMatchTheLibrary writes the model first");
    const std::string good = *bytes;
    const std::string cut = tmp_.filePath("cut.bin").toStdString();
    const size_t step = std::max<size_t>(1, good.size() / 400);
    for (size_t n = 0; n < good.size(); n += (n < 200 ? 1 : step)) {
      QVERIFY(write_file_atomic(cut, good.substr(0, n)).is_ok());
      auto m = FastTextModel::load(cut);
      QVERIFY2(!m.is_ok(), qPrintable(QString("a %1-byte prefix loaded").arg(n)));
      const QString msg = QString::fromStdString(m.status().message());
      QVERIFY2(msg.contains("cut.bin") && (msg.contains("byte") || msg.contains("empty")), qPrintable(msg));
    }
    auto with = [&](size_t offset, const void* v, size_t len) {
      std::string s = good;
      std::memcpy(s.data() + offset, v, len);
      if (!write_file_atomic(cut, s).is_ok()) qFatal("cannot write %s", cut.c_str());
      return FastTextModel::load(cut);
    };
    const int32_t version = 11, model = 1, huge = 1 << 30;
    auto v = with(4, &version, 4);
    QVERIFY(!v.is_ok() && v.status().message().find("version") != std::string::npos);
    auto unsup = with(8 + 7 * 4, &model, 4);  // args.model: cbow
    QVERIFY(!unsup.is_ok() && unsup.status().message().find("supervised") != std::string::npos);
    auto sizes = with(8 + 12 * 4 + 8, &huge, 4);  // dictionary.size
    QVERIFY(!sizes.is_ok() && sizes.status().message().find("dictionary") != std::string::npos);
    std::string trailing = good + "x";
    QVERIFY(write_file_atomic(cut, trailing).is_ok());
    auto t = FastTextModel::load(cut);
    QVERIFY(!t.is_ok() && t.status().message().find("trailing") != std::string::npos);
    auto missing = FastTextModel::load(tmp_.filePath("nope.ftz").toStdString());
    QVERIFY(!missing.is_ok());

    // Random corruption of the header and dictionary (where sizes and offsets live): each
    // variant either fails with a message or loads and predicts without reading out of bounds.
    std::mt19937 rng(11);
    int loaded = 0;
    for (int trial = 0; trial < 300; ++trial) {
      std::string s = good;
      for (int f = 0; f < 3; ++f) s[rng() % std::min<size_t>(s.size(), 4096)] = static_cast<char>(rng());
      QVERIFY(write_file_atomic(cut, s).is_ok());
      auto m = FastTextModel::load(cut);
      if (!m.is_ok()) {
        QVERIFY(!m.status().message().empty());
        continue;
      }
      ++loaded;
      for (const std::string& line : bilingual_) (void)(*m)->predict(line, -1);
    }
    qInfo("%d of 300 corrupted variants still loaded and predicted", loaded);
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestFastTextModel)
#include "test_fasttext_model.moc"
