// The tool sandbox: the SQL tool is read-only on a real workspace database (every kind of write
// is rejected and the file is unchanged afterwards), runaway queries stop, and the file tools
// stay inside their folders (path traversal, absolute paths, symlinks out, sibling prefixes,
// FIFOs, binary files) while paging through UTF-8 text correctly.
#include <QtTest>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "base/files.h"
#include "store/workspace.h"
#include "tools/builtin_tools.h"
#include "tools/file_tools.h"
#include "tools/sql_tool.h"
#include "tools/tool.h"

using namespace kanana;
using namespace kanana::tools;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

std::string slurp(const fs::path& p) {
  auto r = read_file(p);
  return r.is_ok() ? *r : std::string("<missing>");
}

}  // namespace

class TestToolsSandbox : public QObject {
  Q_OBJECT
 private:
  QTemporaryDir tmp_;
  fs::path ws_, db_;

  Result<Json> sql(const std::string& q, int64_t rows = 50, SqlToolOptions o = {}) {
    return run_readonly_query(db_, q, rows, o);
  }
  int64_t datasets() {
    auto r = sql("SELECT count(*) FROM datasets");
    return r.is_ok() ? (*r)["rows"][0][0].get<int64_t>() : -1;
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    ws_ = fs::path(tmp_.path().toStdString()) / "ws";
    auto w = store::Workspace::create(ws_, "sandbox");
    QVERIFY2(w.is_ok(), w.status().to_string().c_str());
    store::DatasetRecord d;
    d.name = "faq";
    d.path = "data/faq.jsonl";
    d.format = "jsonl";
    d.meta_json = R"({"lang": "ko"})";
    QVERIFY((*w)->add_dataset(d).is_ok());
    db_ = (*w)->db_path();
  }

  void sqlSelectsWork() {
    auto r = sql("SELECT name, json_extract(meta_json, '$.lang') AS lang FROM datasets");
    QVERIFY2(r.is_ok(), r.status().to_string().c_str());
    QCOMPARE((*r)["columns"], Json({"name", "lang"}));
    QCOMPARE((*r)["rows"], Json::array({Json::array({"faq", "ko"})}));
    QCOMPARE((*r)["truncated"], Json(false));
    // Recursive CTEs and ordinary functions are reads.
    r = sql("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000) SELECT x, upper('a') FROM c", 10);
    QVERIFY(r.is_ok());
    QCOMPARE((*r)["row_count"], Json(10));
    QCOMPARE((*r)["truncated"], Json(true));
    QVERIFY(describe_schema(db_).find("datasets(id, name, kind") != std::string::npos);
  }

  void sqlWritesAreRejected_data() {
    QTest::addColumn<QString>("query");
    QTest::newRow("insert") << "INSERT INTO datasets(name, path) VALUES ('x', 'y')";
    QTest::newRow("update") << "UPDATE datasets SET name = 'hacked'";
    QTest::newRow("delete") << "DELETE FROM datasets";
    QTest::newRow("replace") << "REPLACE INTO datasets(id, name, path) VALUES (1, 'x', 'y')";
    QTest::newRow("upsert via cte") << "WITH x AS (SELECT 1) INSERT INTO datasets(name, path) SELECT 'a', 'b' FROM x";
    QTest::newRow("drop") << "DROP TABLE datasets";
    QTest::newRow("create") << "CREATE TABLE evil(x)";
    QTest::newRow("create temp") << "CREATE TEMP TABLE evil(x)";
    QTest::newRow("alter") << "ALTER TABLE datasets ADD COLUMN evil TEXT";
    QTest::newRow("attach") << "ATTACH DATABASE '" + QString::fromStdString((ws_ / "attached.db").string()) + "' AS x";
    QTest::newRow("pragma write") << "PRAGMA user_version = 99";
    QTest::newRow("pragma journal") << "PRAGMA journal_mode = DELETE";
    QTest::newRow("pragma read") << "PRAGMA table_info(datasets)";
    QTest::newRow("vacuum into") << "VACUUM INTO '" + QString::fromStdString((ws_ / "copy.db").string()) + "'";
    QTest::newRow("begin") << "BEGIN IMMEDIATE";
    QTest::newRow("load_extension") << "SELECT load_extension('/tmp/evil.so')";
    QTest::newRow("second statement") << "SELECT 1; DELETE FROM datasets";
  }
  void sqlWritesAreRejected() {
    QFETCH(QString, query);
    auto r = sql(query.toStdString());
    QVERIFY2(!r.is_ok(), query.toUtf8().constData());
    const std::string msg = r.status().message();
    QVERIFY2(r.status().code() == StatusCode::kPermissionDenied || msg.find("one SQL statement") != std::string::npos ||
                 r.status().code() == StatusCode::kInvalidArgument,
             msg.c_str());
    if (r.status().code() == StatusCode::kPermissionDenied)
      QVERIFY2(msg.find("read-only") != std::string::npos, msg.c_str());
    QCOMPARE(datasets(), int64_t{1});
    QVERIFY(!fs::exists(ws_ / "attached.db"));
    QVERIFY(!fs::exists(ws_ / "copy.db"));
    auto w = store::Workspace::open(ws_, {.read_only = true});
    QVERIFY(w.is_ok());
    QVERIFY((*w)->db().query_int("PRAGMA user_version").is_ok());
    QVERIFY(*(*w)->db().query_int("PRAGMA user_version") != 99);
    QCOMPARE(*(*w)->db().query_text("SELECT name FROM datasets"), std::string("faq"));
  }

  void sqlRunawayQueryStops() {
    SqlToolOptions o;
    o.time_limit_ms = 200;
    const auto t0 = std::chrono::steady_clock::now();
    auto r = sql("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c", 10, o);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    QVERIFY(!r.is_ok());
    QVERIFY2(r.status().message().find("longer than 200 ms") != std::string::npos, r.status().message().c_str());
    QVERIFY(s < 3.0);
    // Cancellation stops it too.
    CancelToken cancel;
    cancel.cancel();
    r = run_readonly_query(db_, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c", 10,
                           {}, &cancel);
    QCOMPARE(r.status().code(), StatusCode::kCancelled);
  }

  void sqlToolThroughRegistry() {
    ToolRegistry reg;
    QVERIFY(register_builtin_tools(reg, {.workspace = ws_}).is_ok());
    QCOMPARE(reg.names(), (std::vector<std::string>{"calculator", "convert_units", "datetime", "read_file", "sql_query",
                                                     "write_note"}));
    ToolOutcome o = reg.execute({"c1", "sql_query", {{"query", "DELETE FROM datasets"}}});
    QVERIFY(!o.ok);
    QVERIFY(o.content().find("read-only") != std::string::npos);
    o = reg.execute({"c2", "sql_query", {{"query", "SELECT count(*) AS n FROM datasets"}}});
    QVERIFY(o.ok);
    QCOMPARE(o.result["rows"][0][0], Json(1));
    o = reg.execute({"c3", "sql_query", {{"query", "SELECT 1"}, {"max_rows", 100000}}});
    QVERIFY(!o.ok);  // over the schema's maximum
    QVERIFY(o.error.find("arguments.max_rows must be <= 500") != std::string::npos);
    QCOMPARE(datasets(), int64_t{1});
  }

  void readFileStaysInside() {
    const fs::path base = fs::path(tmp_.path().toStdString()) / "files";
    const fs::path root = base / "ws";
    write(root / "a.txt", "안녕하세요\nhello\n");
    write(root / "sub" / "b.md", "# B\n");
    write(base / "outside" / "secret.txt", "secret");
    write(base / "ws2" / "sibling.txt", "sibling");  // shares the "ws" prefix, is not inside
    fs::create_symlink(base / "outside" / "secret.txt", root / "link_out");
    fs::create_symlink(base / "outside", root / "linkdir");
    fs::create_symlink(root / "a.txt", root / "link_in");
    QCOMPARE(::mkfifo((root / "fifo").c_str(), 0600), 0);
    write(root / "blob.bin", std::string("\x00\x01\xff\xfe", 4));

    auto sandbox = PathSandbox::create({root});
    QVERIFY(sandbox.is_ok());
    ToolRegistry reg;
    QVERIFY(reg.add(make_read_file_tool(*sandbox)).is_ok());
    const auto read = [&](const std::string& p) { return reg.execute({"c", "read_file", {{"path", p}}}); };

    ToolOutcome o = read("a.txt");
    QVERIFY2(o.ok, o.error.c_str());
    QCOMPARE(o.result["content"], Json("안녕하세요\nhello\n"));
    QCOMPARE(o.result["path"], Json("a.txt"));
    QVERIFY(read("sub/../a.txt").ok);
    QVERIFY(read((root / "sub" / "b.md").string()).ok);
    QVERIFY(read("link_in").ok);  // a symlink that stays inside is fine

    for (const std::string& bad : {std::string("../outside/secret.txt"), (base / "outside" / "secret.txt").string(),
                                   std::string("link_out"), std::string("linkdir/secret.txt"), std::string("/etc/passwd"),
                                   std::string("../../../../../../etc/passwd"), (base / "ws2" / "sibling.txt").string(),
                                   std::string("../ws2/sibling.txt"), std::string("/nonexistent/x")}) {
      o = read(bad);
      QVERIFY2(!o.ok, bad.c_str());
      QVERIFY2(o.error.find("outside the allowed folders") != std::string::npos, (bad + ": " + o.error).c_str());
      QVERIFY(o.content().find("secret") == std::string::npos || bad.find("secret") != std::string::npos);
    }
    o = read("missing.txt");
    QVERIFY(o.error.find("does not exist") != std::string::npos);
    o = read("fifo");  // refused at once, never blocks on a reader-less FIFO
    QVERIFY2(o.error.find("not a regular file") != std::string::npos, o.error.c_str());
    o = read("blob.bin");
    QVERIFY2(o.error.find("not a UTF-8 text file") != std::string::npos, o.error.c_str());
    o = read("sub");
    QVERIFY2(o.error.find("is a folder") != std::string::npos, o.error.c_str());
  }

  void readFilePagesOnCharacterBoundaries() {
    const fs::path root = fs::path(tmp_.path().toStdString()) / "paging";
    std::string text;
    for (int i = 0; i < 500; ++i) text += "한국어 문장 " + std::to_string(i) + ". ";
    write(root / "long.txt", text);
    auto sandbox = PathSandbox::create({root});
    ToolRegistry reg;
    QVERIFY(reg.add(make_read_file_tool(*sandbox, {.max_bytes = 1000})).is_ok());
    std::string joined;
    int64_t offset = 0;
    int pages = 0;
    while (true) {
      ToolOutcome o = reg.execute({"c", "read_file", {{"path", "long.txt"}, {"offset", offset}}});
      QVERIFY2(o.ok, o.error.c_str());
      const std::string part = o.result["content"].get<std::string>();
      QVERIFY(part.size() <= 1000);
      joined += part;
      ++pages;
      if (!o.result["truncated"].get<bool>()) break;
      offset = o.result["next_offset"].get<int64_t>();
    }
    QCOMPARE(joined, text);
    QVERIFY(pages >= static_cast<int>(text.size() / 1000));
  }

  void writeNoteNeedsApprovalAndStaysInNotes() {
    const fs::path ws = fs::path(tmp_.path().toStdString()) / "notes_ws";
    fs::create_directories(ws);
    write(fs::path(tmp_.path().toStdString()) / "victim.txt", "original");
    ToolRegistry reg;
    QVERIFY(reg.add(make_write_note_tool(ws / "notes")).is_ok());
    QVERIFY(reg.find("write_note")->spec.side_effects);
    const ToolCall call{"c1", "write_note", {{"name", "plan"}, {"content", "# 계획\n"}}};

    ToolOutcome o = reg.execute(call);  // no way to ask: refused
    QVERIFY(!o.ok && o.declined);
    QVERIFY(!fs::exists(ws / "notes" / "plan.md"));
    int asked = 0;
    o = reg.execute(call, [&](const ToolSpec& spec, const Json& args) {
      ++asked;
      return spec.name == "write_note" && args["name"] == "plan" && false;
    });
    QVERIFY(!o.ok && o.declined);
    QCOMPARE(asked, 1);
    QVERIFY(o.error.find("declined") != std::string::npos);
    QVERIFY(!fs::exists(ws / "notes" / "plan.md"));
    const ConfirmFunction yes = [](const ToolSpec&, const Json&) { return true; };
    o = reg.execute(call, yes);
    QVERIFY2(o.ok, o.error.c_str());
    QCOMPARE(slurp(ws / "notes" / "plan.md"), std::string("# 계획\n"));
    o = reg.execute(call, yes);  // exists, no overwrite
    QVERIFY(!o.ok && o.error.find("exists") != std::string::npos);

    for (const char* bad : {"../escape", "/tmp/abs", "..", ".hidden", "a\\b", "sub/dir"}) {
      o = reg.execute({"c", "write_note", {{"name", bad}, {"content", "x"}}}, yes);
      QVERIFY2(!o.ok, bad);
    }
    QVERIFY(!fs::exists(ws / "escape.md"));
    // A symlink planted in the notes folder is not followed.
    fs::create_symlink(fs::path(tmp_.path().toStdString()) / "victim.txt", ws / "notes" / "trap.md");
    o = reg.execute({"c", "write_note", {{"name", "trap"}, {"content", "overwritten"}, {"overwrite", true}}}, yes);
    QVERIFY(!o.ok);
    QVERIFY2(o.error.find("symbolic link") != std::string::npos, o.error.c_str());
    QCOMPARE(slurp(fs::path(tmp_.path().toStdString()) / "victim.txt"), std::string("original"));
  }
};

#include "test_main.h"
KANANA_TEST_APPLESS_MAIN(TestToolsSandbox)
#include "test_tools_sandbox.moc"
