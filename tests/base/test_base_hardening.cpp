// Issue 18, the base layer's share of "no crash, hang or data loss on bad input": the one JSON
// entry point (ranges, depth, types), whole-file reads of special files, the output guards and
// the atomic folder publish, and the JSONL reader's callbacks.
#include <QtTest>

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "base/files.h"
#include "base/json.h"
#include "base/jsonl.h"
#include "base/status.h"

using namespace kanana;
namespace fs = std::filesystem;

class TestBaseHardening : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  fs::path dir() const { return tmp_.path().toStdString(); }
  static void write(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

 private Q_SLOTS:
  void numbersOutOfRangeAreErrorsNamingTheFile() {
    for (const char* text : {"{\"a\": 1e999}", "[-1e400]", "{\"x\": {\"y\": 2e308}}"}) {
      auto r = parse_json(text, "recipe.json");
      QVERIFY(!r.is_ok());
      QVERIFY2(r.status().message().find("recipe.json") != std::string::npos, r.status().message().c_str());
    }
  }

  void deepNestingIsRefusedBeforeParsing() {
    const std::string deep = std::string(100000, '[') + std::string(100000, ']');
    auto r = parse_json(deep, "prefs.jsonl:3");
    QVERIFY(!r.is_ok());
    QVERIFY(r.status().message().find("nested deeper") != std::string::npos);
    QVERIFY(parse_json_or_discarded(deep).is_discarded());
    // Brackets inside strings are text, not nesting.
    const std::string in_string = "{\"a\": \"" + std::string(10000, '[') + "\"}";
    QVERIFY(parse_json(in_string, "x.json").is_ok());
    // The limit itself parses.
    const std::string ok = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
    QVERIFY(parse_json(ok, "x.json").is_ok());
  }

  void wronglyTypedFieldsBecomeErrorsThroughJsonGuard() {
    const Json j = Json::parse(R"({"model": {"type": 5}})");
    auto r = json_guard("tokenizer.json", [&]() -> Result<std::string> { return j["model"].value("type", std::string()); });
    QVERIFY(!r.is_ok());
    QVERIFY(r.status().message().rfind("tokenizer.json: ", 0) == 0);
    QVERIFY(r.status().message().find("json.exception") == std::string::npos);  // the prefix is stripped
  }

  void specialFilesAreRefusedNotReadForever() {
    // /dev/zero never ends; a FIFO without a writer would block the open.
    auto zero = read_json_file("/dev/zero");
    QVERIFY(!zero.is_ok());
    QVERIFY(zero.status().message().find("not a regular file") != std::string::npos);
    const fs::path fifo = dir() / "fifo.json";
    QCOMPARE(::mkfifo(fifo.c_str(), 0600), 0);
    const auto start = std::chrono::steady_clock::now();
    QVERIFY(!read_file(fifo).is_ok());
    QVERIFY(!read_jsonl(fifo, [](JsonlLine&) { return Status::ok(); }).is_ok());
    QVERIFY(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
    QVERIFY(!read_file(dir()).is_ok());
  }

  void sizeCapIsCheckedBeforeReading() {
    write(dir() / "big.json", std::string(4096, ' ') + "{}");
    auto r = read_file(dir() / "big.json", 1024);
    QVERIFY(!r.is_ok());
    QVERIFY(r.status().message().find("1024-byte limit") != std::string::npos);
    QVERIFY(read_file(dir() / "big.json", 8192).is_ok());
  }

  void jsonlCallbackTypeErrorsAreBadLinesNotCrashes() {
    const std::string text = "{\"prompt\": 5}\n{\"prompt\": \"ok\"}\n" + std::string(70000, '[') + "\n";
    JsonlOptions o;
    o.skip_bad_lines = true;
    o.name = "prefs.jsonl";
    int good = 0;
    auto r = read_jsonl_text(text, [&](JsonlLine& line) -> Status {
      (void)line.value.at("prompt").get<std::string>();  // throws type_error on line 1
      ++good;
      return Status::ok();
    }, o);
    QVERIFY(r.is_ok());
    QCOMPARE(good, 1);
    QCOMPARE(r->bad_lines, uint64_t(2));
    QVERIFY(r->problems[0].message.rfind("prefs.jsonl:1: ", 0) == 0);
    QVERIFY(r->problems[1].message.find("nested deeper") != std::string::npos);
  }

  void outputTargetsAreNotReplacedUnlessAsked() {
    const fs::path out = dir() / "results.json";
    QVERIFY(check_output_target(out, false, "--output").is_ok());  // does not exist
    write(out, "{}");
    auto refused = check_output_target(out, false, "--output");
    QCOMPARE(refused.code(), StatusCode::kAlreadyExists);
    QVERIFY(refused.message().find("--overwrite") != std::string::npos);
    QVERIFY(check_output_target(out, true, "--output").is_ok());
    fs::create_directories(dir() / "empty");
    QVERIFY(check_output_target(dir() / "empty", false, "--out").is_ok());  // nothing to lose
  }

  void theInputIsNeverTheOutput() {
    write(dir() / "task.jsonl", "{}\n");
    fs::create_directories(dir() / "sub");
    QVERIFY(!check_not_input(dir() / "task.jsonl", {dir() / "sub" / ".." / "task.jsonl"}, "--output").is_ok());
    QVERIFY(!check_not_input(dir(), {dir() / "task.jsonl"}, "--out").is_ok());  // inside the output folder
    fs::create_symlink(dir() / "task.jsonl", dir() / "link.jsonl");
    QVERIFY(!check_not_input(dir() / "link.jsonl", {dir() / "task.jsonl"}, "--output").is_ok());
    QVERIFY(check_not_input(dir() / "other.json", {dir() / "task.jsonl"}, "--output").is_ok());
    QVERIFY(check_not_input(dir() / "sub2", {dir() / "sub" / "x"}, "--out").is_ok());  // a sibling with a common prefix
  }

  void atomicDirectoryKeepsThePreviousOneUntilCommit() {
    const fs::path base = dir() / "atomic";  // the other tests share dir()
    const fs::path model = base / "model";
    fs::create_directories(model);
    write(model / "weights", "old");
    {
      auto staging = AtomicDirectory::create(model);
      QVERIFY(staging.is_ok());
      write((*staging)->path() / "weights", "half");
      // no commit: a failed run
    }
    std::ifstream in(model / "weights");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    QCOMPARE(text, std::string("old"));
    QCOMPARE(std::distance(fs::directory_iterator(base), fs::directory_iterator()), 1);  // no temporary left
    auto staging = AtomicDirectory::create(model);
    write((*staging)->path() / "weights", "new");
    QVERIFY((*staging)->commit().is_ok());
    std::ifstream in2(model / "weights");
    std::string text2((std::istreambuf_iterator<char>(in2)), std::istreambuf_iterator<char>());
    QCOMPARE(text2, std::string("new"));
    QCOMPARE(std::distance(fs::directory_iterator(base), fs::directory_iterator()), 1);
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestBaseHardening)
#include "test_base_hardening.moc"
