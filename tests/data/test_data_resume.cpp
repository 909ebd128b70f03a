// Corpus jobs under failure: a `kanana data scan|filter|dedup|pii` run killed hard mid-way
// (the KANANA_TEST_KILL_AFTER_RECORDS hook SIGKILLs the child after K records, once in a plain
// file and once inside a gzip file) and resumed with --resume ends with outputs byte-identical
// to an uninterrupted run and the same summary (timings aside), at 1 and 2 threads; a changed
// input or option refuses to resume and says what changed; a file size limit (RLIMIT_FSIZE)
// and a full tmpfs give an error naming the file and publish nothing; empty inputs warn; an
// input that disappears or shrinks mid-scan is an error naming it.
#include <QtTest>

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "base/log.h"
#include "data/corpus_jobs.h"
#include "data_fixture.h"
#include "test_support.h"

using kanana::test::gzip;
using kanana::test::read_json;

namespace {

namespace fs = std::filesystem;

struct Child {
  int code = -1;
  bool crashed = false;
  QString err;
};

// Runs the kanana binary; `kill_after` > 0 arms the crash hook; `fsize_limit` > 0 caps the
// size of every file the child writes (SIGXFSZ ignored, so writes fail with EFBIG).
Child run_child(const QStringList& args, qint64 kill_after = 0, rlim_t fsize_limit = 0) {
  QProcess p;
  QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
  env.remove("KANANA_TEST_KILL_AFTER_RECORDS");
  if (kill_after > 0) env.insert("KANANA_TEST_KILL_AFTER_RECORDS", QString::number(kill_after));
  p.setProcessEnvironment(env);
  if (fsize_limit > 0) {
    p.setChildProcessModifier([fsize_limit] {
      std::signal(SIGXFSZ, SIG_IGN);
      struct rlimit rl {fsize_limit, fsize_limit};
      setrlimit(RLIMIT_FSIZE, &rl);
    });
  }
  p.start(kanana::test::bin_path("kanana"), args);
  Child c;
  if (!p.waitForFinished(120000)) {
    p.kill();
    p.waitForFinished();
    c.err = "timed out";
    return c;
  }
  c.crashed = p.exitStatus() == QProcess::CrashExit;
  c.code = c.crashed ? -1 : p.exitCode();
  c.err = QString::fromUtf8(p.readAllStandardError());
  return c;
}

void write_file(const QString& path, const std::string& bytes) {
  std::ofstream(path.toStdString(), std::ios::binary) << bytes;
}


// A deterministic bilingual corpus: Korean and English documents of varied length, exact and
// near duplicates, e-mails and phone numbers, and a few bad lines.
std::string corpus(int records, uint64_t seed) {
  static const char* ko[] = {"한국어", "문장은", "데이터를", "정제하는", "과정에서", "중요한", "역할을", "합니다", "모델이",
                             "학습하는", "말뭉치", "품질", "필터", "규칙", "문서", "연구", "카카오", "언어"};
  static const char* en[] = {"the", "quality", "of", "a", "corpus", "matters", "for", "language", "models", "and",
                             "filters", "remove", "noisy", "documents", "from", "web", "pages", "before", "training"};
  uint64_t x = seed;
  auto rnd = [&](uint64_t n) { x = x * 6364136223846793005ull + 1442695040888963407ull; return (x >> 33) % n; };
  std::string out;
  std::vector<std::string> earlier;
  for (int i = 0; i < records; ++i) {
    const uint64_t kind = rnd(100);
    if (kind < 2) { out += "{\"text\": broken json " + std::to_string(i) + "\n"; continue; }
    if (kind < 3) { out += "{\"body\": \"no text field\"}\n"; continue; }
    if (kind < 8 && !earlier.empty()) {  // an exact duplicate of an earlier document
      out += "{\"id\": " + std::to_string(i) + ", \"text\": \"" + earlier[rnd(earlier.size())] + "\"}\n";
      continue;
    }
    const bool korean = rnd(2) == 0;
    const uint64_t words = 3 + rnd(kind < 50 ? 40 : 160);
    std::string text;
    for (uint64_t w = 0; w < words; ++w) {
      if (w) text += (rnd(12) == 0 ? "\\n" : " ");
      text += korean ? ko[rnd(std::size(ko))] : en[rnd(std::size(en))];
    }
    if (rnd(10) == 0) text += " mail kim" + std::to_string(i) + "@example.com or 010-1234-" + std::to_string(1000 + i % 9000);
    if (rnd(25) == 0) text += " { code }";
    if (earlier.size() < 200) earlier.push_back(text);
    out += "{\"id\": " + std::to_string(i) + ", \"text\": \"" + text + "\", \"lang\": \"" + (korean ? "ko" : "en") + "\"}\n";
  }
  return out;
}

const char* kResumeRecipe = R"({"name": "test", "rules": [
  {"name": "min_words", "signal": "words", "min": 6},
  {"name": "no_braces", "signal": "has_curly_brace", "max": 0},
  {"name": "dup_lines", "signal": "dup_line_frac", "max": 0.5}]})";

QByteArray read_bytes(const QString& path) {
  QFile f(path);
  return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}


// The summary without what legitimately differs between an uninterrupted and a resumed run.
QJsonObject comparable_summary(const QString& path) {
  QJsonObject s = read_json(path);
  for (const char* k : {"seconds", "mb_per_second", "docs_per_second", "resumed_at_records"}) s.remove(k);
  return s;
}

QStringList outputs_of(const QString& job) {
  if (job == "scan") return {"signals.jsonl"};
  if (job == "filter") return {"decisions.jsonl", "kept.jsonl"};
  if (job == "dedup") return {"kept.jsonl", "clusters.jsonl"};
  return {"anonymized.jsonl"};
}

// Nothing that looks like a result: no final-named output and no summary.json.
bool nothing_published(const QString& out, const QString& job) {
  if (QFile::exists(out + "/summary.json")) return false;
  for (const QString& name : outputs_of(job))
    if (QFile::exists(out + "/" + name)) return false;
  return true;
}

// A corpus job called in-process whose progress callback does something to the inputs.
class HookProgress final : public kanana::Progress {
 public:
  explicit HookProgress(std::function<void()> f) : f_(std::move(f)) {}
  void update(int64_t, int64_t, const std::string&) override {
    if (!fired_) { fired_ = true; f_(); }
  }
  void finish(const std::string&) override {}

 private:
  std::function<void()> f_;
  bool fired_ = false;
};

}  // namespace

class TestDataResume : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  QStringList inputs_;

  QStringList job_args(const QString& job, const QString& out, int threads) const {
    QStringList a = {"data", job};
    a += inputs_;
    a += {"--out", out, "--threads", QString::number(threads), "--quiet", "--checkpoint-every", "700", "--checkpoint-seconds", "0"};
    if (job == "scan") a += "--no-lid";
    if (job == "filter") a += {"--recipe", dir_.filePath("recipe.json")};
    return a;
  }

  // The same job in-process (the child's start-up, ~1.5 s with LibTorch loaded, would
  // dominate this suite): options exactly as job_args gives them to the CLI.
  kanana::Result<kanana::Json> run_here(const QString& job, const QString& out, int threads, bool resume) const {
    kanana::data::CorpusJobOptions o;
    for (const QString& i : inputs_) o.inputs.emplace_back(i.toStdString());
    o.out_dir = out.toStdString();
    o.threads = threads;
    o.resume = resume;
    o.checkpoint_every_records = 700;
    o.checkpoint_every_seconds = 0;
    if (job == "scan") return kanana::data::run_scan_job(o);
    if (job == "filter") {
      o.recipe = dir_.filePath("recipe.json").toStdString();
      return kanana::data::run_filter_job(o);
    }
    if (job == "dedup") return kanana::data::run_dedup_job(o);
    return kanana::data::run_pii_job(o);
  }

  void expect_same_results(const QString& job, const QString& ref, const QString& out) {
    for (const QString& name : outputs_of(job)) {
      const QByteArray a = read_bytes(ref + "/" + name), b = read_bytes(out + "/" + name);
      QVERIFY2(!a.isEmpty(), qPrintable(ref + "/" + name + " is empty"));
      QVERIFY2(a == b, qPrintable(name + ": resumed output differs from the uninterrupted run's"));
    }
    QCOMPARE(comparable_summary(out + "/summary.json"), comparable_summary(ref + "/summary.json"));
    QVERIFY2(!QDir(out + "/.partial").exists(), "the partial state is removed after success");
  }

 private Q_SLOTS:
  void initTestCase() {
    if (!QFile::exists(kanana::test::bin_path("kanana"))) QSKIP("the kanana binary is not built");
    QVERIFY(dir_.isValid());
    // ~2.5 MB plain + ~1.5 MB gzipped: the two kill points land in each.
    write_file(dir_.filePath("a.jsonl"), corpus(6000, 1));
    write_file(dir_.filePath("b.jsonl.gz"), gzip(corpus(4000, 2)));
    write_file(dir_.filePath("recipe.json"), kResumeRecipe);
    inputs_ = {dir_.filePath("a.jsonl"), dir_.filePath("b.jsonl.gz")};
  }

  void killedRunResumesToIdenticalOutputs_data() {
    QTest::addColumn<QString>("job");
    QTest::addColumn<int>("threads");
    QTest::addColumn<bool>("twice");  // killed in a.jsonl and again in b.jsonl.gz, or only in the gzip file
    QTest::newRow("scan 1 thread") << "scan" << 1 << false;
    QTest::newRow("scan 2 threads") << "scan" << 2 << true;
    QTest::newRow("filter 1 thread") << "filter" << 1 << true;
    QTest::newRow("filter 2 threads") << "filter" << 2 << true;
    QTest::newRow("dedup 2 threads") << "dedup" << 2 << false;
    QTest::newRow("pii 2 threads") << "pii" << 2 << false;
  }

  void killedRunResumesToIdenticalOutputs() {
    QFETCH(QString, job);
    QFETCH(int, threads);
    QFETCH(bool, twice);
    const QString tag = job + QString::number(threads);
    const QString ref = dir_.filePath("ref_" + tag), out = dir_.filePath("out_" + tag);
    auto r = run_here(job, ref, threads, false);
    QVERIFY2(r.is_ok(), r.status().message().c_str());

    // Killed in the plain file (checkpoints every 700 records: the last one at 2100), resumed,
    // then killed again inside the gzip file (last checkpoint at 7700).
    QList<int> resumed_at;
    for (const int kill : twice ? QList<int>{2345, 7777} : QList<int>{7777}) {
      auto k = run_child(resumed_at.isEmpty() ? job_args(job, out, threads) : job_args(job, out, threads) << "--resume", kill);
      QVERIFY2(k.crashed, qPrintable("the kill hook did not fire: " + k.err));
      if (!resumed_at.isEmpty())
        QVERIFY2(k.err.contains("resuming the " + job + " run") && k.err.contains("after 2100 records"), qPrintable(k.err));
      QVERIFY(nothing_published(out, job));
      const QJsonObject ck = read_json(out + "/.partial/checkpoint.json");
      QCOMPARE(ck["records"].toInt(), kill / 700 * 700);
      // The crash left bytes past the checkpoint: resuming must cut them off.
      const QString first = outputs_of(job)[0];
      QVERIFY(QFileInfo(out + "/.partial/" + first).size() > ck["outputs"].toObject()[first].toInteger());
      resumed_at.push_back(kill / 700 * 700);
    }

    auto done = run_here(job, out, threads, true);
    QVERIFY2(done.is_ok(), done.status().message().c_str());
    expect_same_results(job, ref, out);
    const QJsonArray resumed = read_json(out + "/summary.json")["resumed_at_records"].toArray();
    QCOMPARE(resumed.size(), resumed_at.size());
    for (int i = 0; i < resumed.size(); ++i) QCOMPARE(resumed[i].toInt(), resumed_at[i]);
  }

  void resumeRefusesChangedInputsOrOptions() {
    const QString out = dir_.filePath("changed"), ref = dir_.filePath("changed_ref");
    QVERIFY(run_here("filter", ref, 1, false).is_ok());
    QVERIFY(run_child(job_args("filter", out, 1), 1500).crashed);

    auto opt = run_child(job_args("filter", out, 1) << "--resume" << "--text-field" << "body");
    QCOMPARE(opt.code, 1);
    QVERIFY2(opt.err.contains("option reader.text_field was 'text', now 'body'") && opt.err.contains("without --resume"),
             qPrintable(opt.err));
    auto other_job = run_here("scan", out, 1, true);
    QVERIFY(!other_job.is_ok());
    QVERIFY2(other_job.status().message().find("from `kanana data filter`, not `kanana data scan`") != std::string::npos,
             other_job.status().message().c_str());
    QVERIFY(QFile::exists(out + "/.partial/checkpoint.json"));  // a refused resume keeps the state

    // An input that changed since the interrupted run (a copy, so the shared corpus stays).
    const QString a2 = dir_.filePath("a2.jsonl");
    QFile::copy(dir_.filePath("a.jsonl"), a2);
    QStringList args = {"data", "filter", a2, "--out", dir_.filePath("changed2"), "--recipe", dir_.filePath("recipe.json"),
                        "--quiet", "--checkpoint-every", "500", "--checkpoint-seconds", "0"};
    QVERIFY(run_child(args, 1200).crashed);
    QFile f(a2);
    QVERIFY(f.open(QIODevice::Append));
    f.write("{\"text\": \"one more line appended later\"}\n");
    f.close();
    kanana::data::CorpusJobOptions o;
    o.inputs = {a2.toStdString()};
    o.out_dir = dir_.filePath("changed2").toStdString();
    o.recipe = dir_.filePath("recipe.json").toStdString();
    o.resume = true;
    auto in = kanana::data::run_filter_job(o);
    QVERIFY(!in.is_ok());
    QVERIFY2(in.status().message().find("a2.jsonl changed size") != std::string::npos, in.status().message().c_str());

    // Without --resume the old state is discarded, with a log line, and the run starts over.
    std::string log;
    kanana::log::set_sink([&](kanana::log::Level, const std::string& m) { log += m + "\n"; });
    auto fresh = run_here("filter", out, 1, false);
    kanana::log::set_sink(nullptr);
    QVERIFY2(fresh.is_ok(), fresh.status().message().c_str());
    QVERIFY2(log.find("discarding the partial state of an earlier run in " + out.toStdString()) != std::string::npos, log.c_str());
    expect_same_results("filter", ref, out);
    QVERIFY(!read_json(out + "/summary.json").contains("resumed_at_records"));
  }

  void fileSizeLimitNamesTheFileAndPublishesNothing() {
    const QString out = dir_.filePath("efbig"), ref = dir_.filePath("efbig_ref");
    QVERIFY(run_here("filter", ref, 2, false).is_ok());
    // 256 KB per file: neither decisions.jsonl nor kept.jsonl (over 1 MB each) fits.
    auto r = run_child(job_args("filter", out, 2), 0, 256 * 1024);
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("file too large") &&
                 (r.err.contains("while writing " + out + "/decisions.jsonl") || r.err.contains("while writing " + out + "/kept.jsonl")),
             qPrintable(r.err));
    QVERIFY(nothing_published(out, "filter"));
    QVERIFY(QDir(out).entryList(QDir::Files | QDir::Hidden).isEmpty());
    // With the limit gone the run resumes from its last checkpoint and finishes.
    auto again = run_here("filter", out, 2, true);
    QVERIFY2(again.is_ok(), again.status().message().c_str());
    expect_same_results("filter", ref, out);
  }

  void fullDiskNamesTheFileAndPublishesNothing() {
    QTemporaryDir mnt;
    if (::mount("tmpfs", mnt.path().toLocal8Bit().constData(), "tmpfs", 0, "size=192k") != 0)
      QSKIP("cannot mount a small tmpfs here (needs root); the RLIMIT_FSIZE test covers the error path");
    const QString out = mnt.filePath("out");
    auto r = run_child(job_args("scan", out, 1));
    const QString leftover = QDir(out).entryList(QDir::Files | QDir::Hidden).join(",");
    const bool published = !nothing_published(out, "scan");
    ::umount2(mnt.path().toLocal8Bit().constData(), MNT_DETACH);
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("disk full") && r.err.contains(out + "/signals.jsonl"), qPrintable(r.err));
    QVERIFY(!published);
    QCOMPARE(leftover, QString());
  }

  void emptyInputsWarn() {
    const QString e = dir_.filePath("empty.jsonl"), blank = dir_.filePath("blank.jsonl"), one = dir_.filePath("one.jsonl");
    write_file(e, "");
    write_file(blank, "\n  \n\n");
    write_file(one, "{\"text\": \"a single document with enough words in it\"}\n");
    const QString out = dir_.filePath("empty_out");
    auto r = run_child({"data", "scan", e, blank, one, "--out", out, "--no-lid", "--quiet"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(r.err.contains("[warning] " + e + ": empty file"), qPrintable(r.err));
    QVERIFY2(r.err.contains("[warning] " + blank + ": no records"), qPrintable(r.err));
    const QJsonObject s = read_json(out + "/summary.json");
    QCOMPARE(s["warnings"].toArray().size(), 2);
    QCOMPARE(s["documents"].toInt(), 1);
    kanana::data::CorpusJobOptions o;
    o.inputs = {e.toStdString()};
    o.out_dir = dir_.filePath("empty_out2").toStdString();
    o.recipe = dir_.filePath("recipe.json").toStdString();
    auto none = kanana::data::run_filter_job(o);
    QVERIFY2(none.is_ok(), none.status().message().c_str());
    QCOMPARE((*none)["warnings"].size(), size_t(2));
    QCOMPARE((*none)["warnings"][1].get<std::string>(), std::string("the input has no records at all"));
    QVERIFY(QFile::exists(dir_.filePath("empty_out2/kept.jsonl")));
    QCOMPARE(QFileInfo(dir_.filePath("empty_out2/kept.jsonl")).size(), 0);
  }

  void secondJobOnTheSameFolderIsRefused() {
    const QString out = dir_.filePath("locked");
    QVERIFY(QDir().mkpath(out + "/.partial"));
    const int fd = ::open((out + "/.partial/lock").toLocal8Bit().constData(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    QVERIFY(fd >= 0);
    QCOMPARE(::flock(fd, LOCK_EX | LOCK_NB), 0);  // as a running job holds it
    auto r = run_here("pii", out, 1, false);
    ::close(fd);
    QVERIFY(!r.is_ok());
    QVERIFY2(r.status().message().find("another job is writing to " + out.toStdString()) != std::string::npos,
             r.status().message().c_str());
    QVERIFY(run_here("pii", out, 1, false).is_ok());  // released: the next run goes ahead
  }

  void inputVanishingOrShrinkingMidScanIsAnError() {
    QTemporaryDir d;
    const std::string a = corpus(8000, 3), b = corpus(500, 4);
    for (int mode = 0; mode < 2; ++mode) {
      const fs::path fa = d.filePath("a.jsonl").toStdString(), fb = d.filePath("b.jsonl").toStdString();
      write_file(d.filePath("a.jsonl"), a);
      write_file(d.filePath("b.jsonl"), b);
      // The progress callback runs after the first batch, while the reader is still in a.jsonl.
      HookProgress progress([&] {
        if (mode == 0) fs::remove(fb);
        else fs::resize_file(fb, b.size() / 2);
      });
      kanana::data::CorpusJobOptions o;
      o.inputs = {fa, fb};
      o.out_dir = d.filePath("out" + QString::number(mode)).toStdString();
      o.threads = 2;
      o.progress = &progress;
      auto r = kanana::data::run_scan_job(o);
      QVERIFY(!r.is_ok());
      const std::string msg = r.status().message();
      QVERIFY2(msg.find(fb.string()) != std::string::npos, msg.c_str());
      QVERIFY2(msg.find(mode == 0 ? "input file disappeared during the scan" : "input file changed during the scan") !=
                   std::string::npos, msg.c_str());
      QVERIFY(nothing_published(QString::fromStdString(o.out_dir.string()), "scan"));
    }
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestDataResume)
#include "test_data_resume.moc"
