// Base utilities: Status/Result propagation, JSON field errors, UTF-8, atomic files.
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <limits>

#include "base/files.h"
#include "base/json.h"
#include "base/jsonl.h"
#include "base/status.h"
#include "base/strings.h"

using namespace kanana;

namespace {
Result<int> parse_positive(int x) {
  if (x <= 0) return invalid_argument("x must be positive, got " + std::to_string(x));
  return x;
}
Result<int> twice(int x) {
  KANANA_ASSIGN_OR_RETURN(int v, parse_positive(x));
  return 2 * v;
}
}  // namespace

class TestBase : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void resultPropagatesErrors() {
    QCOMPARE(*twice(3), 6);
    auto r = twice(-1);
    QVERIFY(!r.is_ok());
    QCOMPARE(r.status().code(), StatusCode::kInvalidArgument);
    QVERIFY(r.status().to_string().find("got -1") != std::string::npos);
  }

  void jsonErrorsNameLineAndField() {
    auto bad = parse_json("{\n  \"a\": 1,\n  \"b\": }\n", "recipe.json");
    QVERIFY(!bad.is_ok());
    QVERIFY2(bad.status().message().find("recipe.json:3:") == 0, bad.status().message().c_str());

    auto ok = parse_json(R"({"stages": {"tokens": "many", "lr": 0.1}})", "r.json");
    QVERIFY(ok.is_ok());
    JsonReader root(*ok, "r.json");
    auto stages = root.child("stages");
    QVERIFY(stages.is_ok());
    auto tokens = stages->get_int("tokens");
    QVERIFY(!tokens.is_ok());
    QCOMPARE(QString::fromStdString(tokens.status().message()),
             QString("r.json: field 'stages.tokens' must be an integer, got \"many\""));
    QCOMPARE(*stages->get_number("lr"), 0.1);
    QVERIFY(!stages->check_no_unknown({"tokens"}).is_ok());
    QVERIFY(stages->check_no_unknown({"tokens", "lr"}).is_ok());
  }

  // Integers out of int64's range are errors naming the field, not wrapped or undefined casts.
  void jsonIntegersOutOfRangeAreErrors() {
    auto doc = parse_json(R"({"big": 18446744073709551615, "max": 9223372036854775807, "huge": 1e300,
                              "whole": 3.0, "half": 2.5, "neg": -9223372036854775808, "tiny": -1e19})",
                          "c.json");
    QVERIFY(doc.is_ok());
    JsonReader r(*doc, "c.json");
    auto big = r.get_int("big");
    QVERIFY(!big.is_ok());
    QVERIFY2(big.status().message().find("field 'big' is out of range") != std::string::npos,
             big.status().message().c_str());
    QCOMPARE(*r.get_int("max"), std::numeric_limits<int64_t>::max());
    QCOMPARE(*r.get_int("neg"), std::numeric_limits<int64_t>::min());
    QVERIFY(!r.get_int("huge").is_ok());
    QVERIFY(r.get_int("huge").status().message().find("out of range") != std::string::npos);
    QVERIFY(!r.get_int("tiny").is_ok());
    QCOMPARE(*r.get_int("whole"), int64_t(3));
    QVERIFY(r.get_int("half").status().message().find("must be an integer") != std::string::npos);
  }

  void utf8DecodingRejectsInvalidSequences() {
    const std::string korean = "한국어 text";
    QVERIFY(is_valid_utf8(korean));
    QCOMPARE(utf8_length(korean), size_t(8));
    QVERIFY(!is_valid_utf8("\xC0\xAF"));          // overlong '/'
    QVERIFY(!is_valid_utf8("\xED\xA0\x80"));      // surrogate
    QVERIFY(!is_valid_utf8("\xE2\x82"));          // truncated
    QCOMPARE(sanitize_utf8("a\xFF" "b"), std::string("a\xEF\xBF\xBD" "b"));
    std::string out;
    append_utf8(&out, 0x1F600);
    size_t pos = 0;
    QCOMPARE(utf8_next(out, &pos), 0x1F600);
  }

  void atomicWriterLeavesNothingOnAbort() {
    QTemporaryDir dir;
    const std::filesystem::path target = dir.filePath("out.json").toStdString();
    {
      auto w = AtomicFileWriter::open(target);
      QVERIFY(w.is_ok());
      QVERIFY((*w)->write("partial").is_ok());
      // destroyed without commit
    }
    QVERIFY(!std::filesystem::exists(target));
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files).size(), 0);
    QVERIFY(write_file_atomic(target, "done").is_ok());
    QCOMPARE(*read_file(target), std::string("done"));
    auto missing = read_file(dir.filePath("nope").toStdString());
    QCOMPARE(missing.status().code(), StatusCode::kNotFound);
  }

  void mappedFileSeesContent() {
    QTemporaryDir dir;
    const std::filesystem::path p = dir.filePath("m.bin").toStdString();
    QVERIFY(write_file_atomic(p, std::string("abc\0def", 7)).is_ok());
    auto m = MappedFile::open(p);
    QVERIFY(m.is_ok());
    QCOMPARE((*m)->size(), size_t(7));
    QCOMPARE((*m)->data()[4], uint8_t('d'));
  }

  void jsonlLinesNameFileAndLine() {
    QTemporaryDir dir;
    const std::filesystem::path p = std::filesystem::path(dir.path().toStdString()) / "prefs.jsonl";
    // CRLF endings, a blank line, a whitespace-only line, no newline at the end.
    QVERIFY(write_file_atomic(p, "{\"a\": 1}\r\n\r\n   \n[2]\n{\"a\": 3}").is_ok());
    std::vector<std::pair<uint64_t, std::string>> seen;
    auto collect = [&](JsonlLine& l) {
      seen.push_back({l.number, l.value.dump()});
      return Status::ok();
    };
    auto r = read_jsonl(p, collect);
    QVERIFY2(r.is_ok(), r.status().to_string().c_str());
    QCOMPARE(r->lines, uint64_t(3));
    QCOMPARE(seen.size(), size_t(3));
    QCOMPARE(seen[0], (std::pair<uint64_t, std::string>{1, "{\"a\":1}"}));
    QCOMPARE(seen[1], (std::pair<uint64_t, std::string>{4, "[2]"}));
    QCOMPARE(seen[2], (std::pair<uint64_t, std::string>{5, "{\"a\":3}"}));
    // The text form reads the same lines.
    seen.clear();
    QVERIFY(read_jsonl_text(*read_file(p), collect).is_ok());
    QCOMPARE(seen.size(), size_t(3));

    // Errors: "FILE:LINE: ..." for bad JSON, non-objects, and what the caller refuses.
    QVERIFY(write_file_atomic(p, "{\"a\": 1}\n{\"a\": \n[1]\n{\"b\": 2}\n").is_ok());
    auto bad = read_jsonl(p, collect, {.name = "prefs.jsonl"});
    QCOMPARE(bad.status().code(), StatusCode::kInvalidArgument);
    QVERIFY2(starts_with(bad.status().message(), "prefs.jsonl:2: not valid JSON (parse error"),
             bad.status().message().c_str());
    auto need_a = [](JsonlLine& l) {
      return l.value.contains("a") ? Status::ok() : invalid_argument("field 'a' is required");
    };
    auto skipped = read_jsonl(p, need_a, {.skip_bad_lines = true, .objects_only = true, .name = "prefs.jsonl"});
    QVERIFY2(skipped.is_ok(), skipped.status().to_string().c_str());
    QCOMPARE(skipped->lines, uint64_t(4));
    QCOMPARE(skipped->bad_lines, uint64_t(3));
    QCOMPARE(skipped->problems.size(), size_t(3));
    QVERIFY(starts_with(skipped->problems[0].message, "prefs.jsonl:2: not valid JSON"));
    QCOMPARE(skipped->problems[0].line, uint64_t(2));
    QCOMPARE(skipped->messages()[1], std::string("prefs.jsonl:3: a line must be a JSON object"));
    QCOMPARE(skipped->messages()[2], std::string("prefs.jsonl:4: field 'a' is required"));
    QCOMPARE(skipped->problems[2].line, uint64_t(4));
    // Errors other than bad content stop the read even when skipping.
    auto stop = read_jsonl(p, [](JsonlLine&) { return internal_error("disk full"); }, {.skip_bad_lines = true});
    QCOMPARE(stop.status().code(), StatusCode::kInternal);
    QVERIFY(QString::fromStdString(stop.status().message()).endsWith(":1: disk full"));

    // A line over the cap is an error naming it, and does not stop the lines after it when skipping.
    const std::string long_line = "{\"text\": \"" + std::string(3u << 20, 'x') + "\"}";
    QVERIFY(write_file_atomic(p, "{\"a\": 1}\n" + long_line + "\n{\"a\": 2}\n").is_ok());
    auto capped = read_jsonl(p, collect, {.max_line_bytes = 1u << 20, .name = "big.jsonl"});
    QCOMPARE(capped.status().message(),
             std::string("big.jsonl:2: line of " + std::to_string(long_line.size()) +
                         " bytes is longer than the 1048576-byte limit"));
    seen.clear();
    auto capped_skip = read_jsonl(p, collect, {.max_line_bytes = 1u << 20, .skip_bad_lines = true});
    QVERIFY(capped_skip.is_ok());
    QCOMPARE(capped_skip->bad_lines, uint64_t(1));
    QCOMPARE(seen.size(), size_t(2));
    QCOMPARE(seen[1].first, uint64_t(3));
    auto capped_text = read_jsonl_text(*read_file(p), collect, {.max_line_bytes = 1u << 20, .name = "t"});
    QVERIFY(starts_with(capped_text.status().message(), "t:2: line of "));

    auto missing = read_jsonl(p.parent_path() / "nope.jsonl", collect);
    QCOMPARE(missing.status().code(), StatusCode::kNotFound);
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestBase)
#include "test_base.moc"
