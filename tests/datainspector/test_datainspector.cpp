// Data Inspector model layer: the background index shows rows before it completes, the table
// model shows a known document's signals, the column-wise keep-rate equals data::apply_filters
// (also after a threshold edit), per-rule counts, exports, labels and highlight spans.
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>
#include <atomic>
#include <random>
#include <zlib.h>

#include "corpus_index.h"
#include "data/filters.h"
#include "data/pii.h"
#include "data/reader.h"
#include "data/signals.h"
#include "document_table_model.h"
#include "filter_model.h"
#include "label_store.h"
#include "signals_cache.h"
#include "test_support.h"
#include "text_spans.h"

using namespace kanana;
using namespace kanana::datainspector;

namespace {

const char* kKoSentences[] = {
    "오늘은 날씨가 맑아서 공원에 산책을 나갔다.", "우리는 도서관에서 새로운 책을 빌려 읽었다.",
    "이 프로그램은 한국어와 영어를 함께 처리한다.", "학생들이 교실에서 열심히 공부하고 있다.",
    "저녁에는 가족과 함께 맛있는 음식을 먹었다.", "회사는 새로운 제품을 다음 달에 출시할 예정이다.",
    "그는 매일 아침 일찍 일어나서 운동을 한다.", "서울의 지하철은 빠르고 편리한 교통수단이다.",
    "연구진은 실험 결과를 논문으로 발표했다.", "아이들은 눈이 오자 밖으로 뛰어나가 놀았다."};
const char* kEnSentences[] = {
    "The committee reviewed the proposal and asked for more details about the budget.",
    "Our team measured the throughput of the new storage system on several machines.",
    "She walked along the river and watched the boats moving slowly in the evening light.",
    "The library offers free courses on programming, writing and the history of science.",
    "Researchers found that the new method reduced the error rate by a significant margin.",
    "He explained the rules of the game to the children before they started to play.",
    "The city council will discuss the plan for the new park at the next public meeting.",
    "Many students prefer to study in the quiet rooms on the top floor of the building."};

std::string jsonEscape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\', o += c;
    else if (c == '\n') o += "\\n";
    else o += c;
  }
  return o;
}

std::string makeDoc(std::mt19937& rng, bool korean, int sentences) {
  std::string text;
  for (int i = 0; i < sentences; ++i) {
    text += korean ? kKoSentences[rng() % 10] : kEnSentences[rng() % 8];
    text += (i % 3 == 2) ? "\n" : " ";
  }
  return text;
}

// A small corpus of `n` records: Korean and English documents of varied length (some too
// short for the recipe), exact duplicates, PII, junk, and bad lines. Returns the lines.
std::vector<std::string> writeCorpus(const QString& path, int n) {
  std::mt19937 rng(7);
  std::vector<std::string> lines;
  std::vector<std::string> texts;
  for (int i = 0; i < n; ++i) {
    std::string line;
    if (i % 37 == 5) {
      line = "{\"id\": \"broken-" + std::to_string(i) + "\", \"text\": ";  // truncated JSON
    } else if (i % 41 == 7) {
      line = "{\"id\": \"no-text-" + std::to_string(i) + "\"}";
    } else if (i % 13 == 0 && !texts.empty()) {
      line = "{\"id\": \"dup-" + std::to_string(i) + "\", \"text\": \"" + jsonEscape(texts[texts.size() / 2]) + "\"}";
    } else {
      const bool ko = i % 2 == 0;
      std::string text = makeDoc(rng, ko, i % 5 == 0 ? 2 : 6 + static_cast<int>(rng() % 20));
      if (i % 11 == 0) text += ko ? " 문의: hong.gildong@example.com 또는 010-1234-5678" : " Contact jane.doe@example.org now.";
      if (i % 17 == 0) text += " {lorem ipsum} ###";
      texts.push_back(text);
      line = "{\"id\": \"doc-" + std::to_string(i) + "\", \"text\": \"" + jsonEscape(text) + "\"}";
    }
    lines.push_back(line);
  }
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly)) qFatal("cannot write %s", qPrintable(path));
  for (const auto& l : lines) f.write(l.data(), static_cast<qint64>(l.size())), f.write("\n\n", l.size() % 3 ? 1 : 2);
  return lines;
}

struct Direct {
  qint64 kept = 0, evaluated = 0;
  std::vector<qint64> removedBy;
  std::vector<std::string> keptLines;
};
// What core/data says, without the inspector: read, compute signals, apply the recipe.
Direct directCounts(const QString& path, const data::FilterRecipe& recipe) {
  Direct d;
  d.removedBy.assign(recipe.rules.size(), 0);
  auto reader = data::CorpusReader::open({path.toStdString()});
  if (!reader.is_ok()) qFatal("%s", reader.status().message().c_str());
  data::RawRecord raw;
  while (true) {
    auto more = (*reader)->next(&raw);
    if (!more.is_ok() || !*more) break;
    auto doc = data::parse_record(raw, (*reader)->options());
    if (!doc.is_ok()) continue;
    ++d.evaluated;
    const auto s = data::compute_signals(doc->text, nullptr);
    const auto decision = data::apply_filters(recipe, s, doc->lang);
    if (decision.keep) ++d.kept, d.keptLines.push_back(raw.bytes);
    else ++d.removedBy[static_cast<size_t>(decision.first_rule)];
  }
  return d;
}

bool waitFor(const std::function<bool()>& done, int ms) {
  QElapsedTimer t;
  t.start();
  while (!done() && t.elapsed() < ms) QTest::qWait(20);
  return done();
}

}  // namespace

class TestDataInspector : public QObject {
  Q_OBJECT
 private:
  QTemporaryDir tmp_;
  QString corpus_;
  std::vector<std::string> lines_;

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    corpus_ = tmp_.filePath("small.jsonl");
    lines_ = writeCorpus(corpus_, 400);
  }

  void indexShowsRowsBeforeComplete() {
    // ~64 MB, so the scan takes several chunks.
    const QString big = tmp_.filePath("big.jsonl");
    qint64 expected = 0;
    {
      QFile f(big);
      QVERIFY(f.open(QIODevice::WriteOnly));
      std::mt19937 rng(1);
      std::string doc = "{\"text\": \"" + jsonEscape(makeDoc(rng, true, 8)) + "\"}\n";
      QByteArray block;
      for (int i = 0; i < 1000; ++i) block.append(doc.data(), qsizetype(doc.size()));
      block.append("{broken\n\n");
      while (f.size() < (64ll << 20)) f.write(block), expected += 1001;
    }
    CorpusIndex index;
    std::atomic<int> calls{0};
    std::atomic<bool> firstHadRows{false}, firstIncomplete{false};
    connect(&index, &CorpusIndex::progress, this, [&](qint64 rows, qint64 scanned, qint64 total) {
      if (calls++ == 0) {
        firstHadRows = rows > 0 && index.rowCount() > 0;
        firstIncomplete = scanned < total && !index.isComplete();
      }
    }, Qt::DirectConnection);
    QSignalSpy completed(&index, &CorpusIndex::completed);
    QString error;
    QVERIFY2(index.open(big, &error), qPrintable(error));
    // completed() comes from the scanner thread and can precede a wait(): poll the count.
    QTRY_COMPARE_WITH_TIMEOUT(completed.count(), 1, 30000);
    QVERIFY(firstHadRows);
    QVERIFY(firstIncomplete);
    QVERIFY(calls > 1);
    QCOMPARE(index.rowCount(), expected);  // blank lines are not rows; the broken ones are
    QVERIFY(index.isComplete());
    // Lazy fetch of the last row, and the broken line's error names the line.
    QVERIFY(index.document(expected - 2).is_ok());
    auto bad = index.document(expected - 1);
    QVERIFY(!bad.is_ok());
    QVERIFY(QString::fromStdString(bad.status().message()).contains("big.jsonl:"));
  }

  void compressedIndex() {
    const QString gz = tmp_.filePath("small.jsonl.gz");
    gzFile g = gzopen(gz.toLocal8Bit().constData(), "wb");
    QVERIFY(g);
    for (const auto& l : lines_) gzwrite(g, (l + "\n").data(), static_cast<unsigned>(l.size() + 1));
    gzclose(g);
    CorpusIndex index;
    QSignalSpy completed(&index, &CorpusIndex::completed);
    QVERIFY(index.open(gz, nullptr));
    QTRY_COMPARE_WITH_TIMEOUT(completed.count(), 1, 20000);
    QCOMPARE(index.rowCount(), qint64(lines_.size()));
    data::RawRecord raw;
    QVERIFY(index.rawRecord(3, &raw));
    QCOMPARE(raw.bytes, lines_[3]);
  }

  void tableModelKeepRateExportAndClusters() {
    CorpusIndex index;
    QSignalSpy indexed(&index, &CorpusIndex::completed);
    QVERIFY(index.open(corpus_, nullptr));
    QVERIFY(indexed.wait(10000) || index.isComplete());
    QCOMPARE(index.rowCount(), qint64(lines_.size()));

    SignalsCacheOptions opt;
    opt.threads = 2;
    SignalsCache cache(&index, opt);
    FilterModel filter(&cache);
    QString error;
    const QString recipePath = QString::fromStdString(data::default_recipe_path().string());
    QVERIFY2(filter.loadRecipe(recipePath, &error), qPrintable(error));
    DocumentTableModel model(&index, &cache, &filter);
    QCOMPARE(model.rowCount(), int(lines_.size()));
    // Before the cache runs, data() answers at once with a placeholder.
    QCOMPARE(model.data(model.index(1, DocumentTableModel::kLength)).toString(), QStringLiteral("…"));
    QSignalSpy done(&cache, &SignalsCache::completed);
    cache.start();
    QVERIFY(done.wait(60000) || cache.isComplete());
    filter.reevaluate();

    // A known document: row 2 is Korean and has no PII.
    const auto doc = index.document(2);
    QVERIFY(doc.is_ok());
    const auto s = data::compute_signals(doc->text);
    QCOMPARE(model.data(model.index(2, DocumentTableModel::kLanguage)).toString(), QStringLiteral("ko"));
    QCOMPARE(model.data(model.index(2, DocumentTableModel::kLength)).toString(), QString::number(s.chars, 'f', 0));
    QCOMPARE(model.data(model.index(2, DocumentTableModel::kHangul)).toString(), QString::number(s.hangul_ratio, 'f', 2));
    // Row 22 carries an e-mail and a phone number.
    QCOMPARE(model.data(model.index(22, DocumentTableModel::kPii)).toInt(),
             int(data::find_pii(index.document(22)->text).size()));
    QVERIFY(model.data(model.index(22, DocumentTableModel::kPii)).toInt() >= 2);
    QCOMPARE(model.data(model.index(5, DocumentTableModel::kDecision)).toString(), QStringLiteral("bad line"));
    QCOMPARE(cache.badCount(), qint64(std::count_if(lines_.begin(), lines_.end(), [](const std::string& l) {
               return l.find("\"text\"") == std::string::npos || l.back() == ' ';
             })));

    // The column-wise evaluation equals core/data's apply_filters, rule by rule.
    Direct direct = directCounts(corpus_, filter.recipe());
    const Evaluation& e = filter.evaluation();
    QCOMPARE(e.evaluated, direct.evaluated);
    QCOMPARE(e.kept, direct.kept);
    QVERIFY(e.kept > 0 && e.kept < e.evaluated);
    for (size_t r = 0; r < direct.removedBy.size(); ++r) QCOMPARE(e.removedBy[r], direct.removedBy[r]);

    // Loosen the Korean length rule: more documents are kept, and still exactly as core says.
    const double before = e.keepRate();
    const auto rules = filter.rulesForSignal("chars");
    QVERIFY(!rules.empty());
    const int koChars = rules.front();
    filter.setThreshold(koChars, 10.0, 500000.0);
    QVERIFY(filter.evaluation().keepRate() > before);
    direct = directCounts(corpus_, filter.recipe());
    QCOMPARE(filter.evaluation().kept, direct.kept);
    for (size_t r = 0; r < direct.removedBy.size(); ++r) QCOMPARE(filter.evaluation().removedBy[r], direct.removedBy[r]);

    // "Removed by rule" view lists exactly that rule's documents.
    int someRule = -1;
    for (size_t r = 0; r < filter.evaluation().removedBy.size(); ++r)
      if (filter.evaluation().removedBy[r] > 0) { someRule = int(r); break; }
    QVERIFY(someRule >= 0);
    model.setRowFilter(DocumentTableModel::RowFilter::kRemovedByRule, someRule);
    QCOMPARE(qint64(model.rowCount()), filter.evaluation().removedBy[size_t(someRule)]);
    QCOMPARE(model.data(model.index(0, DocumentTableModel::kRule)).toString(),
             QString::fromStdString(filter.recipe().rules[size_t(someRule)].name));
    model.setRowFilter(DocumentTableModel::RowFilter::kAll);

    // Export of the filtered set: exactly the kept lines, in order.
    const QString out = tmp_.filePath("kept.jsonl");
    const Status st = filter.exportKept(index, out);
    QVERIFY2(st.is_ok(), st.message().c_str());
    QFile f(out);
    QVERIFY(f.open(QIODevice::ReadOnly));
    std::vector<std::string> written;
    while (!f.atEnd()) written.push_back(f.readLine().chopped(1).toStdString());
    QCOMPARE(written.size(), direct.keptLines.size());
    QVERIFY(written == direct.keptLines);

    // Recipe export round-trips through core's parser with the edited threshold.
    const QString recipeOut = tmp_.filePath("edited.json");
    QVERIFY(filter.exportRecipe(recipeOut).is_ok());
    auto reloaded = data::load_filter_recipe(recipeOut.toStdString());
    QVERIFY2(reloaded.is_ok(), reloaded.status().message().c_str());
    QCOMPARE(reloaded->rules.size(), filter.recipe().rules.size());
    QCOMPARE(*reloaded->rules[size_t(koChars)].min, 10.0);
    QCOMPARE(reloaded->rules[size_t(koChars)].when_langs, filter.recipe().rules[size_t(koChars)].when_langs);

    // Exact duplicates (every 13th record copies an earlier text) form clusters.
    const auto clusters = cache.duplicateClusters();
    QVERIFY(!clusters.empty());
    for (const auto& c : clusters) {
      QCOMPARE(c.members.front(), c.first);
      for (qint64 m : c.members) QCOMPARE(cache.row(m).cluster, c.first);
    }
    // Record 13 copies an earlier text exactly: same cluster as that text's row.
    QVERIFY(lines_[13].find("\"dup-13\"") != std::string::npos);
    QCOMPARE(int(cache.row(13).dupKind), int(data::DupKind::kExact));
    qint64 original = -1;
    for (qint64 r = 0; r < 13 && original < 0; ++r) {
      auto d = index.document(r);
      if (d.is_ok() && d->text == index.document(13)->text) original = r;
    }
    QVERIFY(original >= 0);
    QCOMPARE(cache.row(13).cluster, cache.row(original).cluster);
  }

  void labelsPersistImmediately() {
    const QString path = LabelStore::defaultPath(tmp_.filePath("ws"), corpus_);
    QVERIFY(path.endsWith("ws/labels/quality-labels.jsonl"));
    {
      LabelStore store;
      QString error;
      QVERIFY2(store.open(path, corpus_, &error), qPrintable(error));
      QVERIFY(!QFile::exists(path));  // opening alone writes nothing
      QVERIFY(store.label(3, 4, "doc-3", true, "text three", &error));
      // Readable by someone else before the store is closed.
      QFile f(path);
      QVERIFY(f.open(QIODevice::ReadOnly));
      const QByteArray content = f.readAll();
      QVERIFY(content.contains("\"label\":\"good\""));
      QVERIFY(content.contains("\"row\":3"));
      QVERIFY(store.label(7, 9, "doc-7", false, "text seven", &error));
      QVERIFY(store.label(3, 4, "doc-3", false, "text three", &error));  // relabel: last wins
    }
    LabelStore again;
    QVERIFY(again.open(path, corpus_, nullptr));
    QCOMPARE(again.count(), 2);
    QCOMPARE(again.labelOf(3), 0);
    QCOMPARE(again.labelOf(7), 0);
    QCOMPARE(again.labelOf(8), -1);
  }

  void highlightsMatchCoreSpans() {
    const std::string text = "안녕하세요 여러분. Hello world 😀 메일: kim.minsu@example.co.kr\n"
                             "전화 010-9876-5432 입니다.\n반복되는 줄입니다.\n반복되는 줄입니다.";
    const auto spans = data::find_pii(text);
    QVERIFY(spans.size() >= 2);
    const auto hl = document_highlights(text, "");
    const QString q = QString::fromUtf8(text.data(), qsizetype(text.size()));
    std::vector<Highlight> pii;
    for (const auto& h : hl)
      if (h.kind == HighlightKind::kPii) pii.push_back(h);
    QCOMPARE(pii.size(), spans.size());
    for (size_t i = 0; i < spans.size(); ++i) {
      QCOMPARE(int(pii[i].pii), int(spans[i].type));
      QCOMPARE(q.mid(pii[i].start, pii[i].length),
               QString::fromUtf8(text.substr(spans[i].begin, spans[i].end - spans[i].begin)));
    }
    // Korean / English split: the first run is Korean, "Hello world" is English.
    const auto segs = script_segments(text);
    QVERIFY(segs.size() >= 3);
    QCOMPARE(int(segs[0].script), int(ScriptRun::kKorean));
    QCOMPARE(int(segs[1].script), int(ScriptRun::kEnglish));
    QVERIFY(text.substr(segs[1].begin, segs[1].end - segs[1].begin).find("Hello world") == 0);
    size_t covered = 0;
    for (const auto& s : segs) {
      QCOMPARE(s.begin, covered);
      covered = s.end;
    }
    QCOMPARE(covered, text.size());
    // The repeated line is a duplicate span, both times.
    int dups = 0;
    for (const auto& h : hl)
      if (h.kind == HighlightKind::kDuplicate) {
        ++dups;
        QCOMPARE(q.mid(h.start, h.length), QStringLiteral("반복되는 줄입니다."));
      }
    QCOMPARE(dups, 2);
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestDataInspector)
#include "test_datainspector.moc"
