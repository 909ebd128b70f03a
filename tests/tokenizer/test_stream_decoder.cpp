// StreamDecoder: Korean split across byte tokens must come out as whole characters only,
// and the concatenated stream must equal decoding all ids at once.
#include <QtTest>

#include "base/json.h"
#include "test_support.h"
#include "tokenizer/hf_bpe.h"
#include "tokenizer/tokenizer.h"

using namespace kanana;

namespace {

// A byte-level tokenizer.json whose vocabulary is only the 256 byte tokens (no merges), so
// every multi-byte character is split across tokens.
std::string bytes_only_tokenizer_json() {
  Json vocab = Json::object();
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    const uint32_t cp = printable ? static_cast<uint32_t>(b) : static_cast<uint32_t>(256 + n++);
    std::string s;
    if (cp < 0x80) {
      s.push_back(static_cast<char>(cp));
    } else {
      s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
    vocab[s] = b;
  }
  Json root = {
      {"added_tokens", Json::array({{{"id", 256}, {"content", "<|eot_id|>"}, {"special", true}}})},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         Json::array({{{"type", "Split"},
                       {"pattern",
                        {{"Regex",
                          "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
                          "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}}},
                       {"behavior", "Isolated"},
                       {"invert", false}},
                      {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}})}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", Json::array()}}}};
  return root.dump();
}

void check_stream(const tok::Tokenizer& t, const std::string& text, int* held_out) {
  const auto ids = t.encode(text);
  tok::StreamDecoder stream(std::shared_ptr<const tok::Tokenizer>(&t, [](const tok::Tokenizer*) {}));
  std::string out;
  for (int32_t id : ids) {
    const std::string piece = stream.push(id);
    if (piece.empty()) ++*held_out;
    QVERIFY2(piece.find("\xEF\xBF\xBD") == std::string::npos, "a partial character was emitted");
    out += piece;
  }
  out += stream.flush();
  QCOMPARE(out, t.decode(ids, /*skip_special=*/true));
  QCOMPARE(stream.emitted_bytes(), out.size());
}

}  // namespace

class TestStreamDecoder : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void korean_over_byte_tokens() {
    auto t = tok::load_hf_bpe(bytes_only_tokenizer_json(), "bytes-only.json");
    QVERIFY2(t.is_ok(), t.status().to_string().c_str());
    const std::string text = "안녕하세요, 한국어 토크나이저! 🙂 done<|eot_id|>";
    const auto ids = (*t)->encode(text);
    QCOMPARE(ids.back(), 256);
    tok::StreamDecoder stream(*t);
    // "안" is three byte tokens: nothing, nothing, then the whole character.
    QCOMPARE(stream.push(ids[0]), std::string());
    QCOMPARE(stream.push(ids[1]), std::string());
    QCOMPARE(stream.push(ids[2]), std::string("안"));
    int held = 0;
    check_stream(**t, text, &held);
    QVERIFY(held >= 2 * 13 + 3);  // 13 syllables (3 bytes) and the emoji (4 bytes) held back
  }

  void truncated_character_flushes_as_replacement() {
    auto t = tok::load_hf_bpe(bytes_only_tokenizer_json(), "bytes-only.json");
    QVERIFY(t.is_ok());
    const auto ids = (*t)->encode("가");  // EA B0 80
    tok::StreamDecoder stream(*t);
    QCOMPARE(stream.push(ids[0]), std::string());
    QCOMPARE(stream.push(ids[1]), std::string());
    QCOMPARE(stream.flush(), std::string("\xEF\xBF\xBD"));
  }

  void llama3_korean_stream() {
    const QString dir = test::data_cache() + "/tokenizers/llama3";
    auto t = tok::load_tokenizer(dir.toStdString());
    if (!t.is_ok()) QSKIP("Llama 3 tokenizer not in the cache; run scripts/fetch-demo-data.sh");
    int held = 0;
    // Rare syllables (뷁, 똠) are split into byte tokens by the Llama 3 vocabulary.
    check_stream(**t, "뷁 똠방각하 쀍 한국어 토크나이저 テスト 🙂🇰🇷", &held);
    QVERIFY(held > 0);
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestStreamDecoder)
#include "test_stream_decoder.moc"
