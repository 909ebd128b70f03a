// Byte-level BPE equality: the C++ HfBpeTokenizer must produce exactly the ids of the
// @lenml/tokenizers JavaScript reference for the real Llama 3 and Qwen3 tokenizer.json files,
// on thousands of generated bilingual lines and on real documentation text, and decoding
// must give the (lossy-UTF-8, for Qwen NFC-normalized) input back.
//
// How the two sides are compared: cases are written as hex lines; node turns bytes into a
// JavaScript string with Buffer.toString("utf8") (maximal-subpart U+FFFD replacement, same as
// Rust's String::from_utf8_lossy, which is what HF tokenizers would be given), the C++ side
// decodes the same way. Known, documented differences of the JavaScript port from Rust
// `tokenizers` (\s on U+0085/U+FEFF; (?i) matching U+017F) are kept out of the cases; the
// C++ code follows Rust there, checked by separate asserts below.
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <chrono>
#include <fstream>
#include <map>
#include <optional>

#include "bpe_cases.h"
#include "tiny_bpe_json.h"
#include "test_support.h"
#include "tokenizer/hf_bpe.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode_tables.h"

using namespace kanana;

namespace {

std::string to_hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) out += {digits[c >> 4], digits[c & 15]};
  return out;
}

std::string join_ids(const std::vector<int32_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? " " : "") + std::to_string(ids[i]);
  return s;
}

}  // namespace

class TestHfBpe : public QObject {
  Q_OBJECT

 private:
  QString tokenizer_dir(const QString& model) { return test::data_cache() + "/tokenizers/" + model; }
  QString js_dir() { return test::data_cache() + "/js"; }
  // Loaded once per model: parsing the 9 MB Llama 3 tokenizer.json is the slow part.
  Result<std::shared_ptr<const tok::Tokenizer>> load(const QString& model) {
    auto& slot = loaded_[model];
    if (!slot) slot = tok::load_tokenizer(tokenizer_dir(model).toStdString());
    return *slot;
  }
  std::map<QString, std::optional<Result<std::shared_ptr<const tok::Tokenizer>>>> loaded_;

  void compare_with_reference(const QString& model) {
    const QString json = tokenizer_dir(model) + "/tokenizer.json";
    if (!QFile::exists(json) || !QDir(js_dir() + "/node_modules/@lenml/tokenizers").exists())
      QSKIP(qPrintable("no " + json + " or JS reference; run scripts/fetch-demo-data.sh"));
    auto loaded = load(model);
    QVERIFY2(loaded.is_ok(), loaded.status().to_string().c_str());
    const auto& tokenizer = **loaded;

    std::vector<std::string> cases = test::generated_bpe_cases(3000, model == "llama3" ? 7 : 11);
    const auto real = test::real_text_cases(test::data_cache(), 2000);
    cases.insert(cases.end(), real.begin(), real.end());
    QTemporaryDir dir;
    const std::string hex_path = (dir.path() + "/cases.hex").toStdString();
    {
      std::ofstream f(hex_path, std::ios::binary);
      for (const auto& c : cases) f << to_hex(c) << "\n";
    }
    QProcess node;
    node.start("node", {test::source_dir() + "/tests/tokenizer/reference_encode.mjs", "--js-dir", js_dir(),
                        "--model", model, QString::fromStdString(hex_path)});
    QVERIFY2(node.waitForFinished(120000), "node reference did not finish");
    QVERIFY2(node.exitCode() == 0, node.readAllStandardError().constData());
    const QList<QByteArray> golden = node.readAllStandardOutput().split('\n');
    QVERIFY(static_cast<size_t>(golden.size()) >= cases.size());

    size_t mismatches = 0, round_trip_failures = 0, tokens = 0;
    const auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < cases.size(); ++i) {
      const std::vector<int32_t> ids = tokenizer.encode(cases[i]);
      tokens += ids.size();
      const std::string mine = join_ids(ids);
      if (mine != golden[static_cast<qsizetype>(i)].toStdString()) {
        if (++mismatches <= 5)
          qWarning("%s case %zu mismatch\n  text: %s\n  c++:  %s\n  js:   %s", qPrintable(model), i,
                   to_hex(cases[i]).c_str(), mine.c_str(), golden[static_cast<qsizetype>(i)].constData());
      }
      std::string expected = tok::unicode::utf8_lossy(cases[i]);
      if (model == "qwen3") expected = tok::unicode::nfc(expected);
      if (tokenizer.decode(ids) != expected && ++round_trip_failures <= 5)
        qWarning("%s case %zu does not round-trip: %s", qPrintable(model), i, to_hex(cases[i]).c_str());
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    qInfo("%s: %zu cases (%zu real paragraphs), %zu tokens, %zu mismatches, %.0f tokens/s incl. decode",
          qPrintable(model), cases.size(), real.size(), tokens, mismatches, tokens / secs);
    QCOMPARE(mismatches, size_t(0));
    QCOMPARE(round_trip_failures, size_t(0));
  }

 private Q_SLOTS:
  void llama3_matches_reference() { compare_with_reference("llama3"); }
  void qwen3_matches_reference() { compare_with_reference("qwen3"); }

  void llama3_known_ids() {
    auto loaded = load("llama3");
    if (!loaded.is_ok()) QSKIP("Llama 3 tokenizer not in the cache; run scripts/fetch-demo-data.sh");
    const auto& t = **loaded;
    // Golden ids from Meta's tokenizer ("Hello world" and the chat markers).
    QCOMPARE(join_ids(t.encode("Hello world")), std::string("9906 1917"));
    QCOMPARE(t.bos_id().value_or(-1), 128000);
    QCOMPARE(t.eos_id().value_or(-1), 128001);  // tokenizer_config.json: <|end_of_text|>
    QCOMPARE(t.piece_to_id("<|eot_id|>").value_or(-1), 128009);
    QVERIFY(t.is_special(128009));
    QVERIFY(!t.is_special(9906));
    QCOMPARE(t.vocab_size(), 128256);
    QCOMPARE(t.kind(), std::string("hf-bpe"));
    tok::EncodeOptions with_bos;
    with_bos.add_bos = true;
    QCOMPARE(t.encode("Hello", with_bos).front(), 128000);
    // parse_special = false: marker text is ordinary text.
    tok::EncodeOptions plain;
    plain.parse_special = false;
    QVERIFY(t.encode("<|eot_id|>", plain).size() > 1);
    QCOMPARE(t.decode(t.encode("<|eot_id|>hi")), std::string("<|eot_id|>hi"));
    QCOMPARE(t.decode(t.encode("<|eot_id|>hi"), /*skip_special=*/true), std::string("hi"));
    QCOMPARE(t.decode({9906, -5, 1 << 30, 1917}), std::string("Hello world"));  // invalid ids vanish
    QCOMPARE(t.id_to_piece(1917), std::string("Ġworld"));
  }

  void rust_semantics_where_js_differs() {
    // U+0085 is White_Space for Rust/Oniguruma (not for JavaScript's \s), and
    // [^\r\n\p{L}\p{N}]?\p{L}+ may start with it since it is neither CR/LF, L nor N.
    std::vector<std::string_view> pieces;
    tok::SplitPattern llama3{3};
    tok::split_pretokens("x \xC2\x85\xC2\x85y", llama3, &pieces);
    QCOMPARE(pieces.size(), size_t(3));  // "x", " \u0085" (\s+(?!\S)), "\u0085y"
    QCOMPARE(std::string(pieces[1]), std::string(" \xC2\x85"));
    tok::split_pretokens("it'\xC5\xBF", llama3, &pieces);  // (?i:'s) also matches U+017F
    QCOMPARE(pieces.size(), size_t(2));
    QCOMPARE(std::string(pieces[1]), std::string("'\xC5\xBF"));
  }

  void pretokenizer_branches() {
    std::vector<std::string_view> p;
    const auto split = [&](std::string_view text, int digits) {
      tok::split_pretokens(text, tok::SplitPattern{digits}, &p);
      std::string joined;
      for (auto piece : p) joined += "[" + std::string(piece) + "]";
      return joined;
    };
    QCOMPARE(split("Hello world's 1234567", 3), std::string("[Hello][ world]['s][ ][123][456][7]"));
    QCOMPARE(split("1234", 1), std::string("[1][2][3][4]"));
    QCOMPARE(split("a  \n\n  b", 3), std::string("[a][  \n\n][ ][ b]"));
    QCOMPARE(split("x   ", 3), std::string("[x][   ]"));
    QCOMPARE(split("x   y", 3), std::string("[x][  ][ y]"));
    QCOMPARE(split("?!\n\nabc", 3), std::string("[?!\n\n][abc]"));
    QCOMPARE(split(" ...ok", 3), std::string("[ ...][ok]"));
    QCOMPARE(split("한국어 모델", 3), std::string("[한국어][ 모델]"));
  }

  void nfc_normalization() {
    QCOMPARE(tok::unicode::nfc("e\xCC\x81"), std::string("\xC3\xA9"));                          // é
    QCOMPARE(tok::unicode::nfc("\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB"), std::string("한"));       // jamo
    QCOMPARE(tok::unicode::nfc("\xE2\x84\xAB"), std::string("\xC3\x85"));                        // Å sign
    QCOMPARE(tok::unicode::nfc("a\xCC\x87\xCC\xA3"), std::string("\xE1\xBA\xA1\xCC\x87"));       // reorder
    QCOMPARE(tok::unicode::nfc("plain 한국어"), std::string("plain 한국어"));
  }

  void lossy_utf8() {
    QCOMPARE(tok::unicode::utf8_lossy("a\xE3\x81z"), std::string("a\xEF\xBF\xBDz"));  // one U+FFFD per maximal subpart
    QCOMPARE(tok::unicode::utf8_lossy("\xED\xA0\x80"), std::string("\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"));
    QCOMPARE(tok::unicode::utf8_lossy("\xF0\x9F\x98"), std::string("\xEF\xBF\xBD"));
  }

  void bad_files_are_errors() {
    auto r = tok::load_hf_bpe("{\"model\": {\"type\": \"WordPiece\"}}", "x.json");
    QVERIFY(!r.is_ok());
    QVERIFY(r.status().message().find("x.json") != std::string::npos);
    r = tok::load_hf_bpe("{not json", "broken.json");
    QVERIFY(!r.is_ok());
    QVERIFY(!tok::load_tokenizer("/nonexistent/tokenizer.json").is_ok());
  }

  void tiny_json_both_merge_forms() {
    // A hand-made byte-level BPE: merges given as "a b" strings and as ["a", "b"] arrays.
    for (bool array_merges : {false, true}) {
      const std::string json = test::tiny_bpe_json(array_merges);
      auto r = tok::load_hf_bpe(json, "tiny.json");
      QVERIFY2(r.is_ok(), r.status().to_string().c_str());
      QCOMPARE(join_ids((*r)->encode("ab abc")), std::string("3 4 5"));
      QCOMPARE(join_ids((*r)->encode("ab  <x>  ab")), std::string("3 7 3"));  // lstrip/rstrip eat spaces
      QCOMPARE((*r)->decode((*r)->encode("abc ab")), std::string("abc ab"));
    }
  }

  // A model folder's tokenizer: its own, else its run's tokenizer/ copy; a folder that is gone
  // is called missing (not "no tokenizer"); copying makes a folder self-contained.
  void model_tokenizer_path_and_copy() {
    namespace fs = std::filesystem;
    QTemporaryDir tmp;
    const fs::path run = fs::path(tmp.path().toStdString()) / "run";
    const fs::path step = run / "checkpoints" / "step-0000004";
    fs::create_directories(step);
    fs::create_directories(run / "tokenizer");
    std::ofstream(run / "tokenizer" / "tokenizer.json") << test::tiny_bpe_json(false);
    std::ofstream(run / "tokenizer" / "tokenizer_config.json") << "{\"eos_token\": \"<x>\"}";
    auto found = tok::model_tokenizer_path(step);
    QVERIFY2(found.is_ok(), found.status().to_string().c_str());
    QCOMPARE(found->string(), (run / "tokenizer").string());

    const auto missing = tok::model_tokenizer_path(run / "checkpoints" / "step-0000002");
    QCOMPARE(missing.status().code(), StatusCode::kNotFound);
    QVERIFY2(missing.status().message().find("missing") != std::string::npos, missing.status().message().c_str());

    QVERIFY(tok::copy_tokenizer_files(*found, step).is_ok());
    QVERIFY(fs::exists(step / "tokenizer_config.json"));
    QCOMPARE(tok::model_tokenizer_path(step)->string(), step.string());
    auto loaded = tok::load_tokenizer(step);
    QVERIFY2(loaded.is_ok(), loaded.status().to_string().c_str());
    QCOMPARE((*loaded)->eos_id().value_or(-1), 7);

    fs::remove_all(run / "tokenizer");
    fs::remove(step / "tokenizer.json");
    const auto none = tok::model_tokenizer_path(step);
    QVERIFY(!none.is_ok());
    QVERIFY2(none.status().message().find("no tokenizer") != std::string::npos, none.status().message().c_str());
    QVERIFY(!tok::copy_tokenizer_files(step, run / "elsewhere").is_ok());
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestHfBpe)
#include "test_hf_bpe.moc"
