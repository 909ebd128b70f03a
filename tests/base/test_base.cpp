// Base utilities: Status/Result propagation, JSON field errors, UTF-8, atomic files.
#include <QtTest>

#include <filesystem>
#include <fstream>

#include "base/files.h"
#include "base/json.h"
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
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestBase)
#include "test_base.moc"
