// `kanana data scan|filter|dedup|pii` end to end through the real binary (QProcess): results in
// input order, summary.json contents, usage errors exit 2, and a run that fails mid-way leaves
// no output that looks complete (no final files, no temporaries).
#include <QtTest>

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>

#include "data_fixture.h"
#include "test_support.h"

namespace {

using Run = kanana::test::CliRun;
using kanana::test::read_json;
using kanana::test::run_kanana;


QList<QJsonObject> read_jsonl(const QString& path) {
  QList<QJsonObject> out;
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) return out;
  for (const QByteArray& line : f.readAll().split('\n'))
    if (!line.trimmed().isEmpty()) out.push_back(QJsonDocument::fromJson(line).object());
  return out;
}

void write_bytes(const QString& path, const QByteArray& bytes) {
  QFile f(path);
  QVERIFY(f.open(QIODevice::WriteOnly));
  f.write(bytes);
}

const char* kRecipe = R"({"name": "test", "rules": [
  {"name": "min_words", "signal": "words", "min": 4},
  {"name": "no_braces", "signal": "has_curly_brace", "max": 0}]})";

}  // namespace

class TestDataCli : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() {
    if (!QFile::exists(kanana::test::bin_path("kanana"))) QSKIP("the kanana binary is not built");
  }

  void filterWritesDecisionsKeptAndSummary() {
    QTemporaryDir dir;
    write_bytes(dir.filePath("in.jsonl"),
          "{\"id\": 1, \"text\": \"four words are here\"}\n"
          "{\"id\": 2, \"text\": \"too short\"}\n"
          "not json\n"
          "{\"id\": 4, \"text\": \"this one has { a brace\"}\n"
          "{\"id\": 5, \"text\": \"한국어 문장도 네 어절 있음\"}\n");
    write_bytes(dir.filePath("recipe.json"), kRecipe);
    const QString out = dir.filePath("out");
    auto r = run_kanana({"data", "filter", dir.filePath("in.jsonl"), "--out", out, "--recipe", dir.filePath("recipe.json"),
                     "--threads", "2", "--quiet"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const auto s = read_json(out + "/summary.json");
    QCOMPARE(s["records"].toInt(), 5);
    QCOMPARE(s["documents"].toInt(), 4);
    QCOMPARE(s["bad_lines"].toInt(), 1);
    QCOMPARE(s["kept"].toInt(), 2);
    QCOMPARE(s["removed"].toInt(), 2);
    QCOMPARE(s["removed_by_rule"].toObject()["min_words"].toInt(), 1);
    QCOMPARE(s["removed_by_rule"].toObject()["no_braces"].toInt(), 1);
    const auto bad = s["bad_line_list"].toArray();
    QCOMPARE(bad.size(), 1);
    QCOMPARE(bad[0].toObject()["line"].toInt(), 3);
    QCOMPARE(bad[0].toObject()["reason"].toString(), QString("invalid JSON"));
    QVERIFY(bad[0].toObject()["file"].toString().endsWith("in.jsonl"));
    QVERIFY(s.contains("seconds") && s.contains("mb_per_second"));
    const auto d = read_jsonl(out + "/decisions.jsonl");
    QCOMPARE(d.size(), 5);
    for (int i = 0; i < 5; ++i) QCOMPARE(d[i]["index"].toInt(), i);  // input order
    QCOMPARE(d[0]["keep"].toBool(), true);
    QCOMPARE(d[1]["rule"].toString(), QString("min_words"));
    QCOMPARE(d[2]["bad"].toString(), QString("invalid JSON"));
    QCOMPARE(d[3]["rule"].toString(), QString("no_braces"));
    QCOMPARE(d[4]["keep"].toBool(), true);
    const auto kept = read_jsonl(out + "/kept.jsonl");
    QCOMPARE(kept.size(), 2);
    QCOMPARE(kept[0]["id"].toInt(), 1);  // the original records, unchanged
    QCOMPARE(kept[1]["id"].toInt(), 5);
  }

  void scanDedupAndPii() {
    QTemporaryDir dir;
    QByteArray in;
    for (int i = 0; i < 300; ++i)
      in += "{\"text\": \"document number " + QByteArray::number(i % 100) + " says hello to the reader at kim" +
            QByteArray::number(i) + "@example.com\"}\n";
    write_bytes(dir.filePath("in.jsonl"), in);
    auto scan = run_kanana({"data", "scan", dir.filePath("in.jsonl"), "--out", dir.filePath("scan"), "--no-lid", "--quiet"});
    QVERIFY2(scan.code == 0, qPrintable(scan.err));
    const auto sig = read_jsonl(dir.filePath("scan/signals.jsonl"));
    QCOMPARE(sig.size(), 300);
    QCOMPARE(sig[299]["index"].toInt(), 299);
    QVERIFY(sig[0]["signals"].toObject()["words"].toDouble() > 5);
    QCOMPARE(read_json(dir.filePath("scan/summary.json"))["languages"].toObject()["en"].toInt(), 300);

    auto dedup = run_kanana({"data", "dedup", dir.filePath("in.jsonl"), "--out", dir.filePath("dedup"), "--threads", "2", "--quiet"});
    QVERIFY2(dedup.code == 0, qPrintable(dedup.err));
    const auto ds = read_json(dir.filePath("dedup/summary.json"));
    QCOMPARE(ds["documents"].toInt(), 300);
    const auto clusters = read_jsonl(dir.filePath("dedup/clusters.jsonl"));
    QCOMPARE(clusters.size(), 300);
    QCOMPARE(clusters[0]["duplicate"].toBool(), false);
    // Record 100 differs from record 0 only in the e-mail user: a near duplicate of it.
    QCOMPARE(clusters[100]["duplicate"].toBool(), true);
    QCOMPARE(clusters[100]["cluster"].toInt(), clusters[0]["cluster"].toInt());
    QCOMPARE(read_jsonl(dir.filePath("dedup/kept.jsonl")).size(), ds["kept"].toInt());

    auto pii = run_kanana({"data", "pii", dir.filePath("in.jsonl"), "--out", dir.filePath("pii"), "--quiet"});
    QVERIFY2(pii.code == 0, qPrintable(pii.err));
    QCOMPARE(read_json(dir.filePath("pii/summary.json"))["pii_by_type"].toObject()["email"].toInt(), 300);
    const auto anon = read_jsonl(dir.filePath("pii/anonymized.jsonl"));
    QVERIFY(anon[7]["text"].toString().endsWith("at <EMAIL>"));
  }

  void usageErrorsExitTwo() {
    QTemporaryDir dir;
    write_bytes(dir.filePath("in.jsonl"), "{\"text\": \"x\"}\n");
    QCOMPARE(run_kanana({"data", "filter", dir.filePath("in.jsonl")}).code, 2);                          // no --out
    QCOMPARE(run_kanana({"data", "filter", "--out", dir.filePath("o")}).code, 2);                       // no input
    QCOMPARE(run_kanana({"data", "scan", dir.filePath("in.jsonl"), "--out", dir.filePath("o"), "--threads", "x"}).code, 2);
    QCOMPARE(run_kanana({"data", "scan", dir.filePath("in.jsonl"), "--out", dir.filePath("o"), "--format", "xml"}).code, 2);
    QCOMPARE(run_kanana({"data", "pii", dir.filePath("in.jsonl"), "--out", dir.filePath("o"), "--skip", "ssn"}).code, 2);
    // A recipe error is a failure (exit 1) whose message names the field.
    write_bytes(dir.filePath("bad.json"), R"({"rules": [{"name": "a", "signal": "wrods", "min": 1}]})");
    auto r = run_kanana({"data", "filter", dir.filePath("in.jsonl"), "--out", dir.filePath("o"), "--recipe", dir.filePath("bad.json"), "--quiet"});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("rules[0].signal"), qPrintable(r.err));
  }

  void failedRunLeavesNoCompleteOutput() {
    QTemporaryDir dir;
    QByteArray good;
    for (int i = 0; i < 2000; ++i) good += "{\"text\": \"a fine document with several words " + QByteArray::number(i) + "\"}\n";
    write_bytes(dir.filePath("a.jsonl"), good);
    // The second input claims to be gzip and is cut short: the run fails after the first file.
    write_bytes(dir.filePath("b.jsonl.gz"), QByteArray::fromHex("1f8b0800000000000003") + QByteArray(50, 'x'));
    write_bytes(dir.filePath("recipe.json"), kRecipe);
    const QString out = dir.filePath("out");
    auto r = run_kanana({"data", "filter", dir.filePath("a.jsonl"), dir.filePath("b.jsonl.gz"), "--out", out,
                     "--recipe", dir.filePath("recipe.json"), "--quiet"});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("b.jsonl.gz"), qPrintable(r.err));
    QCOMPARE(QDir(out).entryList(QDir::Files | QDir::Hidden).join(","), QString());
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestDataCli)
#include "test_data_cli.moc"
