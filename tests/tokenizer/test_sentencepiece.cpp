// SentencePiece inside a LibTorch process: the bridge (dlmopen'd into its own namespace)
// trains BPE and unigram models on generated Korean+English text, encodes and decodes while
// LibTorch is live, and matches Debian's spm_encode on the real models from the data cache.
#include <torch/torch.h>

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <random>

#include "test_support.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/sentencepiece.h"
#include "tokenizer/tokenizer.h"

using namespace kanana;

namespace {

// Bilingual sentences from a small lexicon; deterministic.
void write_corpus(const std::string& path, size_t lines) {
  const std::vector<std::string> ko = {"한국어", "모델은", "데이터를", "학습합니다", "토크나이저", "사전", "문장",
                                       "서울", "오늘", "날씨가", "좋습니다", "우리는", "언어", "처리", "카나나", "연구"};
  const std::vector<std::string> en = {"the", "model", "learns", "from", "bilingual", "text", "tokenizer", "Seoul",
                                       "weather", "is", "nice", "today", "we", "train", "language", "Kanana"};
  std::mt19937 rng(5);
  std::ofstream f(path);
  for (size_t i = 0; i < lines; ++i) {
    const auto& lex = (i % 2) ? ko : en;
    const size_t n = 4 + rng() % 8;
    for (size_t w = 0; w < n; ++w) f << (w ? " " : "") << lex[rng() % lex.size()];
    if (i % 5 == 0) f << " " << rng() % 1000 << " <|im_start|>";
    f << (i % 2 ? "." : "!") << "\n";
  }
}

}  // namespace

class TestSentencePiece : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir dir_;
  std::string corpus_;

  std::shared_ptr<const tok::Tokenizer> train(const std::string& type, const std::string& name) {
    tok::SentencePieceTrainOptions o;
    o.input = {corpus_};
    o.output = dir_.path().toStdString() + "/" + name;
    o.model_type = type;
    o.vocab_size = type == "bpe" ? 600 : 200;  // byte_fallback needs 256 byte pieces
    o.character_coverage = type == "bpe" ? 0.9995 : 1.0;
    o.byte_fallback = type == "bpe";
    o.hard_vocab_limit = false;
    o.user_defined_symbols = tok::chat_special_tokens(tok::ChatTemplateKind::kChatMl);
    auto written = tok::train_sentencepiece(o);
    if (!written.is_ok()) qWarning("%s", written.status().to_string().c_str());
    if (!written.is_ok()) return nullptr;
    auto loaded = tok::load_tokenizer(*written);
    return loaded.is_ok() ? *loaded : nullptr;
  }

  void round_trip(const tok::Tokenizer& t) {
    for (const std::string text : {"한국어 모델은 데이터를 학습합니다.", "the model learns from bilingual text!",
                                   "오늘 Seoul 날씨가 nice 합니다 123"}) {
      const auto ids = t.encode(text);
      QVERIFY(!ids.empty());
      QCOMPARE(t.decode(ids), std::string(text));
    }
  }

 private Q_SLOTS:
  void initTestCase() {
    // LibTorch is loaded and working before and after SentencePiece comes in.
    const auto before = torch::ones({4, 4}).matmul(torch::ones({4, 4})).sum().item<float>();
    QCOMPARE(before, 64.0f);
    QVERIFY(dir_.isValid());
    corpus_ = dir_.path().toStdString() + "/corpus.txt";
    write_corpus(corpus_, 3000);
  }

  void bpe_with_byte_fallback() {
    auto t = train("bpe", "bpe.model");
    QVERIFY(t);
    QCOMPARE(t->kind(), std::string("sentencepiece"));
    round_trip(*t);
    // Characters never seen in training come back through <0xXX> byte pieces.
    const std::string unseen = "漢字 🙂";
    const auto ids = t->encode(unseen);
    QVERIFY(std::any_of(ids.begin(), ids.end(), [&](int32_t id) { return t->id_to_piece(id).rfind("<0x", 0) == 0; }));
    QCOMPARE(t->decode(ids), unseen);
    // User-defined chat markers are one special piece.
    const auto im = t->piece_to_id("<|im_start|>");
    QVERIFY(im.has_value());
    QVERIFY(t->is_special(*im));
    const auto marked = t->encode("<|im_start|>user");
    QVERIFY(std::find(marked.begin(), marked.end(), *im) != marked.end());
    QCOMPARE(t->decode(marked, /*skip_special=*/true).find("<|im_start|>"), std::string::npos);
    QCOMPARE(t->bos_id().value_or(-1), 1);
    QCOMPARE(t->eos_id().value_or(-1), 2);
    tok::EncodeOptions bos;
    bos.add_bos = bos.add_eos = true;
    const auto wrapped = t->encode("the", bos);
    QCOMPARE(wrapped.front(), 1);
    QCOMPARE(wrapped.back(), 2);
    QCOMPARE(torch::tensor(std::vector<int64_t>(wrapped.begin(), wrapped.end())).numel(),
             static_cast<int64_t>(wrapped.size()));
  }

  void unigram() {
    auto t = train("unigram", "unigram.model");
    QVERIFY(t);
    round_trip(*t);
    QVERIFY(t->vocab_size() > 50);
    QVERIFY(t->encode("한국어").size() <= 3);
  }

  void stream_decoder_over_byte_pieces() {
    auto t = train("bpe", "bpe-stream.model");
    QVERIFY(t);
    const std::string text = "漢字 한국어 모델 🙂!";
    const auto ids = t->encode(text);
    tok::StreamDecoder stream(t);
    std::string out;
    int held = 0;
    for (int32_t id : ids) {
      const std::string piece = stream.push(id);
      held += piece.empty() ? 1 : 0;
      QVERIFY(piece.find("\xEF\xBF\xBD") == std::string::npos);
      out += piece;
    }
    out += stream.flush();
    QCOMPARE(out, text);
    QVERIFY(held > 0);  // the byte pieces of 漢, 字 and 🙂 were held back until complete
  }

  void errors_are_statuses() {
    tok::SentencePieceTrainOptions o;
    o.input = {dir_.path().toStdString() + "/missing.txt"};
    o.output = dir_.path().toStdString() + "/x.model";
    QVERIFY(!tok::train_sentencepiece(o).is_ok());
    o.input = {corpus_};
    o.model_type = "wordpiece";
    QVERIFY(!tok::train_sentencepiece(o).is_ok());
    o.model_type = "bpe";
    o.vocab_size = 100000;  // more than the corpus can give with a hard limit
    auto r = tok::train_sentencepiece(o);
    QVERIFY(!r.is_ok());
    QVERIFY(!std::filesystem::exists(o.output));
    auto bad = tok::load_sentencepiece("not a model", "garbage.model");
    QVERIFY(!bad.is_ok());
    QVERIFY(bad.status().message().find("garbage.model") != std::string::npos);
  }

  void matches_spm_encode_on_real_models() {
    const QString spm_dir = test::data_cache() + "/tokenizers/spm";
    const QStringList models = QDir(spm_dir).entryList({"*.model"});
    if (models.isEmpty()) QSKIP("no SentencePiece models in the cache; run scripts/fetch-demo-data.sh");
    if (QStandardPaths::findExecutable("spm_encode").isEmpty()) QSKIP("spm_encode not installed");
    const std::vector<std::string> lines = {"Hello world, this is a test.", "한국어 문장을 토큰화합니다.",
                                            "mixed 한국어 and English 123", "  spaces   and\ttabs  ",
                                            "emoji 🙂 and 漢字", "def f(x): return x ** 2"};
    const QString input = dir_.path() + "/lines.txt";
    {
      std::ofstream f(input.toStdString());
      for (const auto& l : lines) f << l << "\n";
    }
    for (const QString& name : models) {
      auto t = tok::load_tokenizer((spm_dir + "/" + name).toStdString());
      QVERIFY2(t.is_ok(), t.status().to_string().c_str());
      QProcess spm;
      spm.start("spm_encode", {"--model", spm_dir + "/" + name, "--output_format", "id", "--input", input});
      QVERIFY(spm.waitForFinished(60000));
      QCOMPARE(spm.exitCode(), 0);
      const QList<QByteArray> golden = spm.readAllStandardOutput().split('\n');
      for (size_t i = 0; i < lines.size(); ++i) {
        std::string mine;
        for (int32_t id : (*t)->encode(lines[i])) mine += (mine.empty() ? "" : " ") + std::to_string(id);
        QCOMPARE(mine, golden[static_cast<qsizetype>(i)].toStdString());
      }
    }
    // LibTorch still works after every SentencePiece call.
    QCOMPARE(torch::arange(10).sum().item<int64_t>(), int64_t(45));
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestSentencePiece)
#include "test_sentencepiece.moc"
