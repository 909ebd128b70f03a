// Tokenize-and-pack with a real SentencePiece model trained here (Korean + English, byte
// fallback): shards read back equal direct tokenization, output is independent of the thread
// count, the validation split is deterministic; and tokenizer fertility per language.
#include <QtTest>

#include <QTemporaryDir>
#include <filesystem>
#include <fstream>
#include <random>

#include "shard_test_util.h"
#include "shards/fertility.h"
#include "shards/pack.h"
#include "shards/sampler.h"
#include "tokenizer/sentencepiece.h"
#include "tokenizer/tokenizer.h"

using namespace kanana;
using namespace kanana::shards;
namespace fs = std::filesystem;

class TestShardsPack : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  fs::path root_;
  fs::path corpus_;
  fs::path model_;
  std::vector<std::string> lines_;   // the JSONL lines as written
  std::shared_ptr<const tok::Tokenizer> tokenizer_;

 private Q_SLOTS:
  void initTestCase() {
    root_ = tmp_.path().toStdString();
    std::mt19937 rng(2024);
    // A bilingual corpus: Korean docs with and without a lang field, English docs, one bad
    // line, one empty text.
    corpus_ = root_ / "corpus.jsonl";
    std::ofstream out(corpus_);
    std::ofstream train_text(root_ / "spm_train.txt");
    for (int i = 0; i < 400; ++i) {
      const bool ko = i % 2 == 0;
      std::string text;
      for (int s = 0; s < 1 + int(rng() % 4); ++s) {
        if (s) text += ' ';
        text += shards::test::ko_en_sentence(rng, ko, 4 + int(rng() % 10));
      }
      train_text << text << "\n";
      Json j = {{"id", i}, {"text", text}};
      if (ko && i % 4 == 0) j["lang"] = "ko";
      lines_.push_back(j.dump());
    }
    lines_.insert(lines_.begin() + 17, "{\"text\": broken json");
    lines_.insert(lines_.begin() + 30, "{\"text\": \"\"}");
    for (const auto& l : lines_) out << l << "\n";
    out.close();
    train_text.close();

    tok::SentencePieceTrainOptions opts;
    opts.input = {root_ / "spm_train.txt"};
    opts.output = root_ / "ko_en.model";
    opts.vocab_size = 400;
    opts.model_type = "unigram";
    opts.character_coverage = 0.9995;
    opts.byte_fallback = true;
    opts.hard_vocab_limit = false;
    opts.num_threads = 1;
    auto trained = tok::train_sentencepiece(opts);
    QVERIFY2(trained.is_ok(), trained.status().to_string().c_str());
    model_ = opts.output;
    auto t = tok::load_tokenizer(model_);
    QVERIFY2(t.is_ok(), t.status().to_string().c_str());
    tokenizer_ = *t;
    QVERIFY(tokenizer_->eos_id().has_value());
  }

  void packReadsBackAsDirectTokenization() {
    PackOptions o;
    o.val_fraction = 0.1;
    o.shard_tokens = 2000;    // several shards
    o.threads = 3;
    o.chunk_records = 7;      // many chunks finishing out of order
    o.source_name = "bilingual";
    o.tokenizer_path = model_.string();
    const fs::path dir = root_ / "pack3";
    auto r = pack({corpus_}, tokenizer_, dir, o);
    QVERIFY2(r.is_ok(), r.status().to_string().c_str());
    const Manifest& m = r->manifest;
    QCOMPARE(m.input_records, uint64_t(lines_.size()));
    QCOMPARE(m.bad_lines, uint64_t(1));
    QCOMPARE(m.empty_docs, uint64_t(1));
    QCOMPARE(m.train_docs + m.val_docs, uint64_t(400));
    QVERIFY(m.val_docs > 15 && m.val_docs < 70);
    QVERIFY(m.train_shards.size() > 2);
    QCOMPARE(m.tokenizer_fingerprint, tokenizer_->fingerprint());
    QCOMPARE(m.vocab_size, int64_t(tokenizer_->vocab_size()));
    QCOMPARE(m.eos_id, tokenizer_->eos_id());
    QCOMPARE(m.dtype_bytes, 2u);
    QCOMPARE(m.inputs.size(), size_t(1));
    QCOMPARE(m.inputs[0].size, uint64_t(fs::file_size(corpus_)));
    QCOMPARE(m.source_name, std::string("bilingual"));

    // Expected documents, straight from the tokenizer, split by the same rule.
    std::vector<std::vector<int32_t>> want_train, want_val;
    tok::EncodeOptions enc;
    enc.parse_special = false;
    for (size_t i = 0; i < lines_.size(); ++i) {
      Json j = Json::parse(lines_[i], nullptr, false);
      if (j.is_discarded() || j["text"].get<std::string>().empty()) continue;
      auto ids = tokenizer_->encode(j["text"].get<std::string>(), enc);
      ids.push_back(*tokenizer_->eos_id());
      (is_validation_record(i, 0.1, o.val_seed) ? want_val : want_train).push_back(ids);
    }
    for (Split split : {Split::kTrain, Split::kValidation}) {
      const auto& want = split == Split::kTrain ? want_train : want_val;
      auto set = ShardSet::open(dir, split, {.verify_checksums = true});
      QVERIFY2(set.is_ok(), set.status().to_string().c_str());
      QCOMPARE((*set)->num_docs(), uint64_t(want.size()));
      for (size_t d = 0; d < want.size(); ++d) {
        auto got = (*set)->document(d);
        QVERIFY(got.is_ok());
        QVERIFY2(*got == want[d], ("document " + std::to_string(d)).c_str());
      }
    }
    // The text comes back through the tokenizer.
    auto set = ShardSet::open(dir);
    auto doc0 = (*set)->document(0);
    const Json first = Json::parse(lines_[0]);
    QCOMPARE(tokenizer_->decode(*doc0, true), first["text"].get<std::string>());

    // One thread gives byte-identical shards.
    o.threads = 1;
    o.chunk_records = 256;
    auto r1 = pack({corpus_}, tokenizer_, root_ / "pack1", o);
    QVERIFY2(r1.is_ok(), r1.status().to_string().c_str());
    QCOMPARE(r1->manifest.train_shards.size(), m.train_shards.size());
    for (size_t i = 0; i < m.train_shards.size(); ++i)
      QCOMPARE(r1->manifest.train_shards[i].checksum, m.train_shards[i].checksum);
    QCOMPARE(r1->manifest.val_shards.back().checksum, m.val_shards.back().checksum);

    // A sampler over the packed data works end to end.
    auto sampler = SequenceSampler::create(*set, {.seq_len = 32, .batch_size = 2, .seed = 1});
    QVERIFY(sampler.is_ok());
    std::vector<int32_t> batch;
    QVERIFY((*sampler)->next_batch(&batch).is_ok());
    for (int32_t t : batch) QVERIFY(t >= 0 && t < tokenizer_->vocab_size());
  }

  void packErrors() {
    PackOptions o;
    o.reader.text_field = "body";   // no such field: every record is bad
    auto r = pack({corpus_}, tokenizer_, root_ / "nothing", o);
    QVERIFY(!r.is_ok());
    QVERIFY2(r.status().message().find("--text-field") != std::string::npos, r.status().message().c_str());
    QVERIFY(!fs::exists(root_ / "nothing" / "manifest.json"));
    o = PackOptions();
    auto missing = pack({root_ / "no-such.jsonl"}, tokenizer_, root_ / "nothing2", o);
    QVERIFY(!missing.is_ok());
    o.val_fraction = 1.5;
    QCOMPARE(pack({corpus_}, tokenizer_, root_ / "nothing3", o).status().code(), StatusCode::kInvalidArgument);
  }

  void fertilityPerLanguage() {
    QCOMPARE(guess_language("오늘은 좋은 날 today"), std::string("ko"));
    QCOMPARE(guess_language("a mostly English line 한"), std::string("en"));
    const auto c = count_text("한국어 문장  two words\n");
    QCOMPARE(c.words, uint64_t(4));
    QCOMPARE(c.chars, uint64_t(18));
    auto r = measure_fertility({corpus_}, *tokenizer_, {});
    QVERIFY2(r.is_ok(), r.status().to_string().c_str());
    QCOMPARE(r->by_lang.size(), size_t(2));
    const auto& ko = r->by_lang.at("ko");
    const auto& en = r->by_lang.at("en");
    QCOMPARE(ko.docs + en.docs, uint64_t(401));   // the empty text counts as an (English) document
    QCOMPARE(r->bad_lines, uint64_t(1));
    QVERIFY(ko.tokens > 0 && en.tokens > 0);
    // Hangul is 3 bytes per character in UTF-8; no tokenizer emits more tokens than bytes
    // (byte fallback is the worst case).
    QVERIFY(ko.bytes > 2 * ko.chars && en.bytes < en.chars + 8);
    QVERIFY(ko.tokens <= ko.bytes && en.tokens <= en.bytes);
    QVERIFY(ko.tokens_per_word() >= 1.0 && en.tokens_per_word() >= 1.0);
    QVERIFY(std::abs(ko.bytes_per_token() - double(ko.bytes) / double(ko.tokens)) < 1e-12);
    const Json j = r->to_json();
    QVERIFY(j["languages"].contains("ko"));
    QCOMPARE(j["total"]["tokens"].get<uint64_t>(), ko.tokens + en.tokens);
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestShardsPack)
#include "test_shards_pack.moc"
