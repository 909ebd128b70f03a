// Corpus readers: every bad-input case is reported with its file and line and the run goes on;
// gzip/zstd inputs (made here with zlib/zstd) read the same as plain ones; random access by DocId;
// the .mo, HTML and numbered-section importers on small real-format inputs.
#include <QtTest>

#include <zlib.h>
#include <zstd.h>

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "base/progress.h"
#include "data/byte_source.h"
#include "data/html_text.h"
#include "data/mo_catalog.h"
#include "data/reader.h"
#include "data/text_sections.h"
#include "data_fixture.h"

using namespace kanana;
using namespace kanana::data;
using kanana::test::gzip;
namespace fs = std::filesystem;

namespace {
void write(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

std::string zstd(const std::string& s) {
  std::string out(ZSTD_compressBound(s.size()), '\0');
  out.resize(ZSTD_compress(out.data(), out.size(), s.data(), s.size(), 3));
  return out;
}

struct ReadAll {
  std::vector<Document> docs;
  std::vector<BadLine> bad;
  Status status;
};
ReadAll read_all(const std::vector<fs::path>& in, ReaderOptions o = {}) {
  ReadAll r;
  auto reader = CorpusReader::open(in, o);
  if (!reader.is_ok()) { r.status = reader.status(); return r; }
  Document d;
  for (;;) {
    auto more = (*reader)->next_document(&d, &r.bad);
    if (!more.is_ok()) { r.status = more.status(); break; }
    if (!*more) break;
    r.docs.push_back(d);
  }
  return r;
}
}  // namespace

class TestDataReaders : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void badLinesAreReportedWithFileAndLine() {
    QTemporaryDir dir;
    const fs::path f = dir.filePath("c.jsonl").toStdString();
    write(f, "{\"text\": \"좋은 문서\", \"id\": \"a\"}\n"   // 1 ok
             "{not json}\n"                                  // 2 invalid JSON
             "{\"body\": \"x\"}\n"                           // 3 missing field
             "{\"text\": 42}\n"                              // 4 non-string
             "{\"text\": \"bad \xff utf8\"}\n"               // 5 invalid UTF-8
             "\n"                                            // 6 blank: skipped, not bad
             "[1,2]\n"                                       // 7 not an object
             "{\"text\": \"" + std::string(300, 'x') + "\"}\n"  // 8 too long (limit below)
             "{\"text\": \"last, no newline\"}");            // 9 ok
    ReaderOptions o;
    o.max_line_bytes = 200;
    auto r = read_all({f}, o);
    QVERIFY2(r.status.is_ok(), r.status.to_string().c_str());
    QCOMPARE(r.docs.size(), size_t(2));
    QCOMPARE(r.docs[0].source_id, std::string("a"));
    QCOMPARE(r.docs[1].text, std::string("last, no newline"));
    QCOMPARE(r.docs[1].id.line, uint64_t(9));
    QCOMPARE(r.bad.size(), size_t(6));
    const std::vector<std::pair<uint64_t, std::string>> want = {
        {2, "invalid JSON"}, {3, "missing field 'text'"}, {4, "field 'text' is a number, not a string"},
        {5, "invalid UTF-8"}, {7, "JSON line is a array, not an object"}, {8, "line of 312 bytes is over the limit of 200 bytes"}};
    for (size_t i = 0; i < want.size(); ++i) {
      QCOMPARE(r.bad[i].file, f.string());
      QCOMPARE(r.bad[i].line, want[i].first);
      QCOMPARE(r.bad[i].reason, want[i].second);
    }
  }

  void dottedTextFieldAndEmptyFile() {
    QTemporaryDir dir;
    const fs::path a = dir.filePath("a.jsonl").toStdString(), e = dir.filePath("empty.jsonl").toStdString();
    write(a, "{\"meta\": {\"body\": \"nested text\"}}\n{\"meta\": 3}\n");
    write(e, "");
    ReaderOptions o;
    o.text_field = "meta.body";
    auto r = read_all({e, a}, o);
    QVERIFY(r.status.is_ok());
    QCOMPARE(r.docs.size(), size_t(1));
    QCOMPARE(r.docs[0].text, std::string("nested text"));
    QCOMPARE(r.docs[0].id.file_index, uint32_t(1));
    QCOMPARE(r.bad.size(), size_t(1));
    QCOMPARE(r.bad[0].reason, std::string("missing field 'meta.body'"));
  }

  void gzipAndZstdRoundTrip() {
    QTemporaryDir dir;
    std::string content;
    for (int i = 0; i < 3000; ++i) content += "{\"text\": \"문서 " + std::to_string(i) + " document\"}\n";
    const fs::path plain = dir.filePath("p.jsonl").toStdString(), gz = dir.filePath("p.jsonl.gz").toStdString(),
                   zs = dir.filePath("p.jsonl.zst").toStdString();
    write(plain, content);
    write(gz, gzip(content));
    write(zs, zstd(content));
    auto a = read_all({plain}), b = read_all({gz}), c = read_all({zs});
    QVERIFY(a.status.is_ok() && b.status.is_ok() && c.status.is_ok());
    QCOMPARE(a.docs.size(), size_t(3000));
    QCOMPARE(b.docs.size(), a.docs.size());
    QCOMPARE(c.docs.size(), a.docs.size());
    for (size_t i = 0; i < a.docs.size(); i += 997) {
      QCOMPARE(b.docs[i].text, a.docs[i].text);
      QCOMPARE(c.docs[i].text, a.docs[i].text);
      QCOMPARE(c.docs[i].id.byte_offset, a.docs[i].id.byte_offset);
    }
    // Random access by DocId, also inside compressed files.
    auto reader = CorpusReader::open({gz});
    auto doc = (*reader)->read_at(a.docs[2500].id);
    QVERIFY2(doc.is_ok(), doc.status().to_string().c_str());
    QCOMPARE(doc->text, std::string("문서 2500 document"));
    // Truncated compressed files are errors that name the file, not silent short reads.
    const std::string g = gzip(content);
    write(gz, g.substr(0, g.size() / 2));
    auto t = read_all({gz});
    QVERIFY(!t.status.is_ok());
    QVERIFY2(t.status.message().find("p.jsonl.gz") != std::string::npos, t.status.message().c_str());
    QVERIFY(t.status.message().find("truncated gzip") != std::string::npos);
    const std::string z = zstd(content);
    write(zs, z.substr(0, z.size() - 10));
    auto tz = read_all({zs});
    QVERIFY(!tz.status.is_ok());
    QVERIFY2(tz.status.message().find("zstd") != std::string::npos, tz.status.message().c_str());
  }

  // A FIFO (or a pipe on stdin) is a stream: its format is sniffed without seeking back, a
  // writer that hands out a few bytes at a time is read whole, and a cancel stops a reader
  // waiting for a writer or for data, also one set just before the open.
  void fifosAreStreamsThatACancelStops() {
    QTemporaryDir dir;
    std::string content;
    for (int i = 0; i < 2000; ++i) content += "{\"text\": \"문서 " + std::to_string(i) + " document\"}\n";
    const fs::path fifo = dir.filePath("in.jsonl.gz").toStdString();
    QCOMPARE(::mkfifo(fifo.c_str(), 0600), 0);
    std::thread writer([&] {
      std::ofstream out(fifo, std::ios::binary);
      const std::string g = gzip(content);
      out.write(g.data(), 3);  // less than the 4 magic bytes first
      out.flush();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      out.write(g.data() + 3, std::streamsize(g.size() - 3));
    });
    auto all = read_all({fifo});
    writer.join();
    QVERIFY2(all.status.is_ok(), all.status.to_string().c_str());
    QCOMPARE(all.docs.size(), size_t(2000));
    QCOMPARE(all.docs[1999].text, std::string("문서 1999 document"));

    using Clock = std::chrono::steady_clock;
    CancelToken token;
    token.cancel();  // before the open: a FIFO with no writer must not block it
    auto t0 = Clock::now();
    auto early = open_byte_source(fifo, &token);
    QVERIFY(!early.is_ok() && early.status().code() == StatusCode::kCancelled);
    QVERIFY(Clock::now() - t0 < std::chrono::seconds(1));
    token.reset();
    std::thread canceller([&] {  // no writer: the reader waits (open, then the format sniff)
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      token.cancel();
    });
    t0 = Clock::now();
    ReaderOptions o;
    o.cancel = &token;
    auto waiting = read_all({fifo}, o);
    canceller.join();
    QCOMPARE(waiting.status.code(), StatusCode::kCancelled);
    QVERIFY(Clock::now() - t0 < std::chrono::seconds(2));
  }

  void textFilesAndFoldersSortedRecursive() {
    QTemporaryDir dir;
    const fs::path root = dir.path().toStdString();
    fs::create_directories(root / "b/sub");
    write(root / "b/sub/z.txt", "첫 문단입니다.\n둘째 줄.\n\n\n두 번째 문단.\n");
    write(root / "a.txt", "English paragraph one.\n\nParagraph two.");
    write(root / ".hidden.txt", "skip me");
    ReaderOptions o;
    o.text_unit = TextUnit::kParagraph;
    auto r = read_all({root}, o);
    QVERIFY(r.status.is_ok());
    QCOMPARE(r.docs.size(), size_t(4));
    QCOMPARE(r.docs[0].text, std::string("English paragraph one."));
    QCOMPARE(r.docs[2].text, std::string("첫 문단입니다.\n둘째 줄."));
    QCOMPARE(r.docs[3].text, std::string("두 번째 문단."));
    QCOMPARE(r.docs[3].id.line, uint64_t(5));
    o.text_unit = TextUnit::kFile;
    auto whole = read_all({root}, o);
    QCOMPARE(whole.docs.size(), size_t(2));
    QCOMPARE(whole.docs[1].text, std::string("첫 문단입니다.\n둘째 줄.\n\n\n두 번째 문단."));
  }

  void vanishedFileIsAClearError() {
    QTemporaryDir dir;
    const fs::path a = dir.filePath("a.jsonl").toStdString(), b = dir.filePath("b.jsonl").toStdString();
    write(a, "{\"text\": \"one\"}\n");
    write(b, "{\"text\": \"two\"}\n");
    auto reader = CorpusReader::open({a, b});
    QVERIFY(reader.is_ok());
    Document d;
    std::vector<BadLine> bad;
    QVERIFY(*(*reader)->next_document(&d, &bad));
    fs::remove(b);
    auto more = (*reader)->next_document(&d, &bad);
    QVERIFY(!more.is_ok());
    QVERIFY2(more.status().message().find("b.jsonl: input file disappeared") != std::string::npos, more.status().message().c_str());
    QVERIFY(!CorpusReader::open({dir.filePath("nope.jsonl").toStdString()}).is_ok());
  }

  void moCatalogParsesAndRejectsCorruption() {
    // Build a little-endian .mo with a header entry and two messages (one with context).
    std::vector<std::pair<std::string, std::string>> msgs = {{"", "Content-Type: text/plain; charset=UTF-8\n"},
                                                             {"File", "파일"}, {std::string("menu\x04Open"), "열기"}};
    const uint32_t n = 3, orig = 28, trans = orig + 8 * n;
    std::string strings;
    std::vector<uint32_t> table;
    uint32_t base = trans + 8 * n;
    for (int pass = 0; pass < 2; ++pass)
      for (auto& m : msgs) {
        const std::string& s = pass == 0 ? m.first : m.second;
        table.push_back(static_cast<uint32_t>(s.size()));
        table.push_back(base + static_cast<uint32_t>(strings.size()));
        strings += s;
        strings.push_back('\0');
      }
    std::string mo;
    auto u32 = [&](uint32_t v) { mo.append(reinterpret_cast<const char*>(&v), 4); };
    u32(0x950412de); u32(0); u32(n); u32(orig); u32(trans); u32(0); u32(0);
    for (uint32_t v : table) u32(v);
    mo += strings;
    auto parsed = parse_mo(mo, "test.mo");
    QVERIFY2(parsed.is_ok(), parsed.status().to_string().c_str());
    QCOMPARE(parsed->size(), size_t(2));
    QCOMPARE((*parsed)[0].id, std::string("File"));
    QCOMPARE((*parsed)[0].str, std::string("파일"));
    QCOMPARE((*parsed)[1].context, std::string("menu"));
    QCOMPARE((*parsed)[1].id, std::string("Open"));
    // An offset pointing past the end is reported, not read.
    std::string broken = mo;
    const uint32_t huge = 1u << 30;
    std::memcpy(broken.data() + orig + 8 + 4, &huge, 4);
    auto bad = parse_mo(broken, "broken.mo");
    QVERIFY(!bad.is_ok());
    QVERIFY(bad.status().message().find("broken.mo: string 1 points outside the file") == 0);
    QVERIFY(!parse_mo("nonsense", "x.mo").is_ok());
  }

  void htmlParagraphsAndSections() {
    const std::string html = "<html><body><h1 id=\"hd_id1\">Title</h1>"
                             "<p id=\"par_id31\" class=\"paragraph\">쿼리나 <span class=\"emph\">디자인</span> &amp; 뷰</p>"
                             "<div id=\"par_id32\"><div>inner</div> tail</div></body></html>";
    auto paras = html_paragraphs_by_id(html, "par_id");
    QCOMPARE(paras.size(), size_t(2));
    QCOMPARE(paras[0].first, std::string("par_id31"));
    QCOMPARE(paras[0].second, std::string("쿼리나 디자인 & 뷰"));
    QCOMPARE(paras[1].second, std::string("inner tail"));
    const std::string text = "1. Chapter\n    1.1. In the table of contents\n\nChapter 1. Definitions\n\n"
                             "1.1. What is this\nFAQ?\n\n    This document answers\n    questions.\n\n    Second para.\n\n"
                             "1.2. Next\n\n    Body two.\n";
    auto secs = split_numbered_sections(text);
    QCOMPARE(secs.size(), size_t(2));
    QCOMPARE(secs[0].number, std::string("1.1"));
    QCOMPARE(secs[0].title, std::string("What is this FAQ?"));
    QCOMPARE(secs[0].body, std::string("This document answers questions.\n\nSecond para."));
    QCOMPARE(secs[1].body, std::string("Body two."));
    QCOMPARE(brown_to_text("\tThe/at jury/nn said/vbd ``/`` no/at ''/'' ./.\n"), std::string("The jury said \"no\"."));
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestDataReaders)
#include "test_data_readers.moc"
