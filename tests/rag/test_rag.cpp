// RAG core on real formats and small data: paragraph-respecting chunks with overlap, HTML text
// with offsets back into the markup, FTS5 trigram search over Korean substrings, reciprocal
// rank fusion order, exact vs HNSW agreement, citations → source passages, re-indexing, and
// malformed inputs named by file and line. The vectors come from a character-trigram hashing
// embedder defined here (the real model is tested in tests/embed): it makes similar texts
// similar, which is all the index logic needs.
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <fstream>
#include <random>
#include <set>

#include "base/strings.h"
#include "rag/chunker.h"
#include "rag/fusion.h"
#include "rag/prompt.h"
#include "rag/rag_index.h"
#include "rag/retrieval_eval.h"
#include "rag/source_text.h"
#include "rag/vector_index.h"
#include "store/workspace.h"

using namespace kanana;
using namespace kanana::rag;
namespace fs = std::filesystem;

namespace {

int64_t count_words(std::string_view t) {
  int64_t n = 0;
  bool in = false;
  for (char c : t) {
    const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (!space && !in) ++n;
    in = !space;
  }
  return n;
}

// Bag of hashed character trigrams, L2-normalised; counts whitespace-separated words as tokens.
class TrigramEmbedder final : public embed::Embedder {
 public:
  explicit TrigramEmbedder(fs::path dir, std::string fp = "trigram-v1") : dir_(std::move(dir)), fp_(std::move(fp)) {}
  Result<embed::EmbeddingMatrix> embed(const std::vector<std::string>& texts, std::string_view, Progress*,
                                       const CancelToken*) override {
    embed::EmbeddingMatrix m;
    m.rows = int64_t(texts.size());
    m.dim = kDim;
    m.values.assign(size_t(m.rows * kDim), 0.0f);
    for (size_t i = 0; i < texts.size(); ++i) {
      std::vector<std::string> cps;
      size_t pos = 0;
      const std::string t = to_lower_ascii(texts[i]);
      while (pos < t.size()) {
        const size_t at = pos;
        utf8_next(t, &pos);
        cps.push_back(t.substr(at, pos - at));
      }
      float* row = m.values.data() + i * kDim;
      for (size_t k = 0; k + 3 <= cps.size(); ++k) {
        uint64_t h = 1469598103934665603ull;
        for (unsigned char c : cps[k] + cps[k + 1] + cps[k + 2]) h = (h ^ c) * 1099511628211ull;
        row[h % kDim] += 1.0f;
      }
      double n = 0;
      for (int d = 0; d < kDim; ++d) n += double(row[d]) * row[d];
      if (n > 0)
        for (int d = 0; d < kDim; ++d) row[d] = float(row[d] / std::sqrt(n));
    }
    return m;
  }
  int64_t count_tokens(std::string_view text) const override { return count_words(text); }
  int64_t dim() const override { return kDim; }
  int64_t max_length() const override { return 512; }
  std::string fingerprint() const override { return fp_; }
  const fs::path& model_dir() const override { return dir_; }
  const std::vector<std::string>& warnings() const override { return warnings_; }

 private:
  static constexpr int kDim = 64;
  fs::path dir_;
  std::string fp_;
  std::vector<std::string> warnings_;
};

void write_text(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

std::vector<float> random_unit_vectors(int64_t n, int64_t dim, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g;
  std::vector<float> v(size_t(n * dim));
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int64_t d = 0; d < dim; ++d) s += double(v[size_t(i * dim + d)] = g(rng)) * v[size_t(i * dim + d)];
    for (int64_t d = 0; d < dim; ++d) v[size_t(i * dim + d)] = float(v[size_t(i * dim + d)] / std::sqrt(s));
  }
  return v;
}

}  // namespace

class TestRag : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;

  fs::path path(const char* name) { return tmp_.filePath(name).toStdString(); }

 private Q_SLOTS:
  void initTestCase() { QVERIFY(tmp_.isValid()); }

  void chunksRespectParagraphsAndOverlap() {
    // Five paragraphs of 4, 3, 5, 2 and 14 words; the last is longer than a chunk.
    const std::string text =
        "a1 a2 a3 a4\n\nb1 b2 b3\n\n  c1 c2 c3 c4 c5  \n\n\nd1 d2\n\n"
        "e1 e2 e3 e4 e5. e6 e7 e8 e9? e10 e11 e12 e13 e14";
    ChunkOptions o;
    o.max_tokens = 8;
    o.overlap_tokens = 5;
    auto chunks = chunk_text(text, o, count_words);
    QVERIFY(chunks.is_ok());
    std::vector<std::string> got;
    for (const auto& c : *chunks) {
      got.push_back(text.substr(c.begin, c.end - c.begin));
      QVERIFY(c.tokens <= o.max_tokens);
      QCOMPARE(c.tokens, count_words(got.back()));
    }
    const std::vector<std::string> want = {
        "a1 a2 a3 a4\n\nb1 b2 b3",              // two whole paragraphs (7 words)
        "b1 b2 b3\n\n  c1 c2 c3 c4 c5",         // overlap: the last paragraph (3 <= 5)
        "c1 c2 c3 c4 c5  \n\n\nd1 d2",          // overlap 5, then d fits
        "d1 d2\n\ne1 e2 e3 e4 e5.",             // the long paragraph splits at sentences
        "e6 e7 e8 e9?",                         // the overlap "e1..e5." gave way to the new unit
        "e10 e11 e12 e13 e14",                  // a one-unit chunk has nothing to overlap
    };
    QCOMPARE(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) QCOMPARE(QString::fromStdString(got[i]), QString::fromStdString(want[i]));
    // Without overlap, chunks tile the paragraphs in order.
    o.overlap_tokens = 0;
    auto tiled = chunk_text(text, o, count_words);
    QVERIFY(tiled.is_ok());
    for (size_t i = 1; i < tiled->size(); ++i) QVERIFY((*tiled)[i].begin >= (*tiled)[i - 1].end);
    // A single word longer than a chunk is cut at code points (Korean, no spaces).
    auto chars = [](std::string_view t) { return int64_t(utf8_length(t)); };
    o.max_tokens = 4;
    auto word = chunk_text("가나다라마바사아자차", o, chars);
    QVERIFY(word.is_ok());
    QCOMPARE(word->size(), size_t(3));
    QCOMPARE((*word)[2].tokens, int64_t(2));
    QVERIFY(chunk_text("", o, count_words)->empty());
    o.overlap_tokens = 4;
    QVERIFY(!chunk_text(text, o, count_words).is_ok());
  }

  void htmlTextMapsBackToTheMarkup() {
    const std::string html =
        "<html><head><title>T</title><style>p{}</style></head><body>\n"
        "<h1>데이터&nbsp;베이스</h1><p>Tom &amp; Jerry&#x21; <b>bold</b>\n  text</p>"
        "<script>var x = '<p>';</script><ul><li>one</li><li>two</li></ul><!-- <p>hidden</p> --></body></html>";
    const auto st = html_to_source_text(html);
    QCOMPARE(QString::fromStdString(st.text), QString::fromUtf8("데이터 베이스\n\nTom & Jerry! bold text\n\none\ntwo"));
    QCOMPARE(st.source_begin.size(), st.text.size());
    const size_t tom = st.text.find("Tom");
    auto [b, e] = st.source_range(tom, tom + std::string("Tom & Jerry!").size());
    QCOMPARE(QString::fromStdString(html.substr(size_t(b), size_t(e - b))), QString("Tom &amp; Jerry&#x21;"));
    const size_t two = st.text.find("two");
    auto [b2, e2] = st.source_range(two, two + 3);
    QCOMPARE(QString::fromStdString(html.substr(size_t(b2), size_t(e2 - b2))), QString("two"));
    QCOMPARE(int(split_paragraphs(st.text).size()), 3);
  }

  void fusionOrderIsReciprocalRank() {
    // a: 1/61; b: 2/62; c: 1/63 + 1/61; d: 1/63.  c (0.032266) > b (0.032258) > a > d.
    auto fused = reciprocal_rank_fusion({{1, 2, 3}, {3, 2, 4, 3}}, 60.0);
    QCOMPARE(fused.size(), size_t(4));
    QCOMPARE(fused[0].id, int64_t(3));
    QCOMPARE(fused[1].id, int64_t(2));
    QCOMPARE(fused[2].id, int64_t(1));
    QCOMPARE(fused[3].id, int64_t(4));
    QCOMPARE(fused[0].ranks, (std::vector<int64_t>{3, 1}));  // the duplicate at rank 4 is ignored
    QVERIFY(std::abs(fused[0].score - (1.0 / 63 + 1.0 / 61)) < 1e-12);
    // Equal scores: the better single rank first.
    auto tie = reciprocal_rank_fusion({{7, 8}, {8, 7}}, 60.0);
    QCOMPARE(tie[0].id, int64_t(7));
    // Second in both lists beats first in one.
    auto both = reciprocal_rank_fusion({{1, 2}, {3, 2}}, 60.0);
    QCOMPARE(both[0].id, int64_t(2));
  }

  void ftsQueryUsesTrigrams() {
    QCOMPARE(QString::fromStdString(fts_match_query("데이터베이스는?")),
             QString::fromUtf8("\"데이터\" OR \"이터베\" OR \"터베이\" OR \"베이스\" OR \"이스는\""));
    QCOMPARE(QString::fromStdString(fts_match_query("Go to \"DB\" ok")), QString());  // no 3-character word
    QCOMPARE(QString::fromStdString(fts_quote("a\"b")), QString("\"a\"\"b\""));
    QCOMPARE(QString::fromStdString(fts_match_query("APT apt")), QString("\"apt\""));
  }

  void exactAndHnswAgree() {
    const int64_t n = 3000, dim = 32;
    auto data = random_unit_vectors(n, dim, 1);
    auto queries = random_unit_vectors(40, dim, 2);
    std::vector<int64_t> labels(n);
    for (int64_t i = 0; i < n; ++i) labels[size_t(i)] = 1000 + i;
    ExactIndex exact(dim);
    QVERIFY(exact.add(labels, data.data()).is_ok());
    auto hnsw = HnswIndex::create(dim, {.m = 16, .ef_construction = 100, .ef_search = 64});
    QVERIFY(hnsw.is_ok());
    QVERIFY((*hnsw)->add(labels, data.data()).is_ok());
    QCOMPARE((*hnsw)->size(), n);
    int64_t agree = 0;
    for (int q = 0; q < 40; ++q) {
      const float* qv = queries.data() + q * dim;
      auto e = exact.search(qv, 10);
      QCOMPARE(e.size(), size_t(10));
      // The exact list is the brute-force truth, best first.
      std::vector<std::pair<float, int64_t>> truth;
      for (int64_t i = 0; i < n; ++i) {
        float s = 0;
        for (int64_t d = 0; d < dim; ++d) s += qv[d] * data[size_t(i * dim + d)];
        truth.push_back({-s, labels[size_t(i)]});
      }
      std::sort(truth.begin(), truth.end());
      for (size_t r = 0; r < 10; ++r) {
        QCOMPARE(e[r].label, truth[r].second);
        QVERIFY(std::abs(e[r].score + truth[r].first) < 1e-4);
      }
      std::set<int64_t> want;
      for (const auto& h : e) want.insert(h.label);
      for (const auto& h : (*hnsw)->search(qv, 10)) agree += want.count(h.label);
    }
    QVERIFY2(agree >= int64_t(0.95 * 400), std::to_string(agree).c_str());
    // Save/load round trip gives the same answers; another dimension is refused.
    const fs::path file = path("graph.hnsw");
    QVERIFY((*hnsw)->save(file).is_ok());
    auto loaded = HnswIndex::load(file, dim, {.ef_search = 64});
    QVERIFY(loaded.is_ok());
    auto a = (*hnsw)->search(queries.data(), 10), b = (*loaded)->search(queries.data(), 10);
    QCOMPARE(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) QCOMPARE(a[i].label, b[i].label);
    QVERIFY(!HnswIndex::load(file, dim + 8).is_ok());
    write_text(path("junk.hnsw"), "not a graph");
    QVERIFY(!HnswIndex::load(path("junk.hnsw"), dim).is_ok());
  }

  void koreanSubstringSearchAndCitations() {
    const fs::path docs = path("docs");
    fs::create_directories(docs / ".hidden");
    write_text(docs / "db.md",
               "# 데이터베이스\n\n데이터베이스를 만들려면 새 파일을 엽니다.\n\n"
               "Tables store records in rows and columns.\n");
    write_text(docs / "help.html",
               "<html><body><h2>Printing</h2><p>To print a document, choose <b>File - Print</b>.</p>"
               "<p>인쇄하려면 파일 메뉴에서 인쇄를 선택합니다.</p></body></html>");
    write_text(docs / "notes.txt", "Backups are copied every night to the archive server.\n");
    write_text(docs / ".hidden" / "secret.txt", "데이터베이스 secret\n");
    write_text(docs / "image.png", "\x89PNG binary");
    IndexSettings s;
    s.chunk.max_tokens = 12;
    s.chunk.overlap_tokens = 2;
    auto embedder = std::make_shared<TrigramEmbedder>(docs);
    auto index = RagIndex::create(path("index"), s, embedder);
    QVERIFY2(index.is_ok(), index.status().to_string().c_str());
    auto rep = (*index)->add_paths({docs});
    QVERIFY2(rep.is_ok(), rep.status().to_string().c_str());
    QCOMPARE(rep->sources_added, int64_t(3));  // hidden folder and .png skipped
    QVERIFY(rep->problems.empty());

    // A Korean word with another ending still matches through its trigrams.
    auto fts = (*index)->search_fulltext("데이터베이스는", 5);
    QVERIFY(fts.is_ok());
    QVERIFY(!fts->empty());
    auto top = (*index)->chunk(fts->front().first);
    QVERIFY(top->text.find("데이터베이스") != std::string::npos);
    QVERIFY(ends_with(top->span.path, "db.md"));
    QVERIFY((*index)->search_fulltext("인쇄를", 5)->size() >= 1);
    QVERIFY((*index)->search_fulltext("파일", 5)->empty());  // two characters: below trigram length

    // Hybrid: both retrievers contribute ranks; HTML hits cite the markup.
    auto hits = (*index)->search("how do I print a document?", {.mode = SearchMode::kHybrid, .k = 3});
    QVERIFY2(hits.is_ok(), hits.status().to_string().c_str());
    QVERIFY(!hits->empty());
    QVERIFY(ends_with(hits->front().chunk.span.path, "help.html"));
    QVERIFY(hits->front().bm25_rank > 0 && hits->front().vector_rank > 0);
    auto passage = read_cited_passage(hits->front().chunk.span);
    QVERIFY2(passage.is_ok(), passage.status().to_string().c_str());
    QVERIFY2(passage->find("<b>File - Print</b>") != std::string::npos, passage->c_str());

    const auto prompt = build_rag_prompt("how do I print a document?", *hits);
    QCOMPARE(prompt.citations.size(), hits->size());
    QVERIFY2(prompt.user.find("[1] (help.html) ") != std::string::npos, prompt.user.c_str());
    QVERIFY(prompt.user.find("Question: how do I print a document?") != std::string::npos);
    const std::string answer = "Use File - Print [1]. See also [1, 2]［2］ and [9]; not [a] or [].";
    auto marks = find_citations(answer, prompt.citations);
    std::vector<int> numbers;
    for (const auto& m : marks) numbers.push_back(m.number);
    QCOMPARE(numbers, (std::vector<int>{1, 1, 2, 2, 9}));
    QCOMPARE(marks[0].citation->chunk_id, hits->front().chunk.id);
    QCOMPARE(QString::fromStdString(answer.substr(marks[1].begin, marks[1].end - marks[1].begin)), QString("[1, 2]"));
    if (hits->size() >= 2) QVERIFY(marks[3].citation != nullptr);
    QVERIFY(marks[4].citation == nullptr);

    // Text files: the span is the file's bytes.
    auto backup = (*index)->search("archive server backups", {.mode = SearchMode::kBm25, .k = 1});
    QVERIFY(backup.is_ok() && !backup->empty());
    auto text_passage = read_cited_passage(backup->front().chunk.span);
    QCOMPARE(QString::fromStdString(*text_passage), QString::fromStdString(backup->front().chunk.text));
  }

  void reindexReplacesChangedFilesOnly() {
    const fs::path docs = path("reindex");
    fs::create_directories(docs);
    write_text(docs / "a.txt", "alpha bravo charlie\n");
    write_text(docs / "b.txt", "delta echo foxtrot\n");
    auto index = RagIndex::create(path("reindex-index"), {}, std::make_shared<TrigramEmbedder>(docs));
    QVERIFY(index.is_ok());
    QCOMPARE((*index)->add_paths({docs})->sources_added, int64_t(2));
    write_text(docs / "a.txt", "golf hotel india\n");
    auto again = (*index)->add_paths({docs});
    QCOMPARE(again->sources_replaced, int64_t(1));
    QCOMPARE(again->sources_unchanged, int64_t(1));
    QVERIFY((*index)->search_fulltext("charlie", 5)->empty());  // the old text left the FTS table too
    QCOMPARE((*index)->search_fulltext("hotel", 5)->size(), size_t(1));
    QCOMPARE((*index)->stats()->chunks, int64_t(2));
    // Another model cannot add vectors to this index.
    QVERIFY(!(*index)->set_embedder(std::make_shared<TrigramEmbedder>(docs, "other-model")).is_ok());
    // A second index in the same folder is refused.
    QVERIFY(!RagIndex::create(path("reindex-index"), {}, std::make_shared<TrigramEmbedder>(docs)).is_ok());
  }

  void hnswIndexServesLikeExactOnSmallData() {
    const fs::path docs = path("hnsw-docs");
    fs::create_directories(docs);
    std::string lines;
    for (int i = 0; i < 60; ++i)
      lines += Json{{"id", "doc" + std::to_string(i)}, {"text", "topic " + std::to_string(i) + " about item " +
                                                                  std::to_string(i * 7 % 13) + " and thing " + std::to_string(i % 5)}}
                   .dump() + "\n";
    write_text(docs / "set.jsonl", lines);
    IndexSettings exact_s, hnsw_s;
    hnsw_s.vector_index = "hnsw";
    auto e = std::make_shared<TrigramEmbedder>(docs);
    auto exact = RagIndex::create(path("idx-exact"), exact_s, e);
    auto hnsw = RagIndex::create(path("idx-hnsw"), hnsw_s, e);
    QVERIFY((*exact)->add_paths({docs / "set.jsonl"}).is_ok());
    QVERIFY((*hnsw)->add_paths({docs / "set.jsonl"}).is_ok());
    QVERIFY(fs::exists(path("idx-hnsw") / kHnswFileName));
    QCOMPARE(QString::fromStdString((*hnsw)->stats()->vector_index), QString("hnsw"));
    QCOMPARE(QString::fromStdString((*exact)->stats()->vector_index), QString("exact"));
    for (const char* q : {"topic 12 about item 2", "thing 4", "item 11 and thing 3"}) {
      auto a = (*exact)->search_vectors(q, 5), b = (*hnsw)->search_vectors(q, 5);
      QVERIFY(a.is_ok() && b.is_ok());
      QCOMPARE(a->size(), b->size());
      for (size_t i = 0; i < a->size(); ++i) QVERIFY(std::abs((*a)[i].second - (*b)[i].second) < 1e-5);
    }
    // Reopened read-only, the saved graph serves (the embedder is given: the model dir is not a model).
    auto reopened = RagIndex::open(path("idx-hnsw"), true);
    QVERIFY(reopened.is_ok());
    QVERIFY((*reopened)->set_embedder(e).is_ok());
    QCOMPARE((*reopened)->search_vectors("thing 4", 3)->size(), size_t(3));
    QVERIFY(!(*reopened)->add_paths({docs}).is_ok());  // read-only
  }

  void malformedInputsAreNamedByFileAndLine() {
    const fs::path docs = path("bad");
    fs::create_directories(docs);
    write_text(docs / "set.jsonl",
               "{\"id\": \"ok1\", \"text\": \"a fine record\"}\n"
               "{\"id\": \"x\", \"text\": \n"
               "\n"
               "{\"id\": \"y\"}\n"
               "{\"id\": \"z\", \"text\": 42}\n"
               "{\"id\": [1], \"text\": \"bad id\"}\n"
               "{\"id\": 7, \"text\": \"numeric id is fine\"}\n");
    write_text(docs / "latin1.txt", std::string("caf\xe9\nline two\n"));
    write_text(docs / "bad2.txt", std::string("ok line\nsecond \xff\xfe line\n"));
    auto index = RagIndex::create(path("bad-index"), {}, std::make_shared<TrigramEmbedder>(docs));
    auto rep = (*index)->add_paths({docs});
    QVERIFY2(rep.is_ok(), rep.status().to_string().c_str());
    QCOMPARE(rep->documents, int64_t(2));
    const auto all = join(rep->problems, "\n");
    QVERIFY2(all.find("set.jsonl:2: not valid JSON") != std::string::npos, all.c_str());
    QVERIFY2(all.find("set.jsonl:4: field 'text' is missing") != std::string::npos, all.c_str());
    QVERIFY2(all.find("set.jsonl:5: field 'text' must be a string") != std::string::npos, all.c_str());
    QVERIFY2(all.find("set.jsonl:6: field 'id' must be a string or an integer") != std::string::npos, all.c_str());
    QVERIFY2(all.find("latin1.txt:1: not valid UTF-8") != std::string::npos, all.c_str());
    QVERIFY2(all.find("bad2.txt:2: not valid UTF-8") != std::string::npos, all.c_str());
    auto hit = (*index)->search("numeric id", {.mode = SearchMode::kBm25, .k = 1});
    QCOMPARE(QString::fromStdString(hit->front().chunk.span.record_id), QString("7"));
    QCOMPARE(hit->front().chunk.span.line, int64_t(7));
    // JSONL citations read the record's text field.
    QCOMPARE(QString::fromStdString(*read_cited_passage(hit->front().chunk.span)), QString("numeric id is fine"));
    // Strict: the first bad line is an error naming it, and nothing of that file is indexed.
    auto strict_index = RagIndex::create(path("strict-index"), {}, std::make_shared<TrigramEmbedder>(docs));
    auto strict = (*strict_index)->add_paths({docs / "set.jsonl"}, /*strict=*/true);
    QVERIFY(!strict.is_ok());
    QVERIFY2(strict.status().message().find("set.jsonl:2") != std::string::npos, strict.status().message().c_str());
    QCOMPARE((*strict_index)->stats()->chunks, int64_t(0));
    // Missing inputs and empty queries are errors, not crashes.
    QVERIFY(!(*index)->add_paths({docs / "nope.txt"}).is_ok());
    QVERIFY(!(*index)->search("   ").is_ok());
    // Evaluation sets too.
    write_text(docs / "eval.jsonl", "{\"query\": \"q\", \"relevant\": \"7\"}\n{\"query\": \"q2\"}\n{\"query\": \"\", \"relevant\": [\"a\"]}\n");
    auto set = read_eval_set(docs / "eval.jsonl");
    QCOMPARE(set->questions.size(), size_t(1));
    QVERIFY(set->problems[0].find("eval.jsonl:2: field 'relevant' is required") != std::string::npos);
    QVERIFY(set->problems[1].find("eval.jsonl:3: field 'query'") != std::string::npos);
  }

  void workspaceDatasetsAreIndexed() {
    const fs::path root = path("ws");
    auto ws = store::Workspace::create(root, "rag-test");
    QVERIFY2(ws.is_ok(), ws.status().to_string().c_str());
    fs::create_directories(root / "data");
    write_text(root / "data" / "faq.jsonl", "{\"id\": \"q1\", \"text\": \"패키지를 설치하려면 apt를 씁니다\"}\n");
    store::DatasetRecord d;
    d.name = "faq";
    d.kind = "eval";
    d.path = "data/faq.jsonl";  // relative to the workspace
    d.format = "jsonl";
    QVERIFY((*ws)->add_dataset(d).is_ok());
    d.name = "shards";
    d.path = "data/packs";
    d.format = "kanana-shards";
    QVERIFY((*ws)->add_dataset(d).is_ok());
    ws->reset();
    auto p = workspace_dataset_path(root, "faq");
    QVERIFY2(p.is_ok(), p.status().to_string().c_str());
    QCOMPARE(QString::fromStdString(p->string()), QString::fromStdString((root / "data" / "faq.jsonl").string()));
    auto unknown = workspace_dataset_path(root, "nope");
    QVERIFY(!unknown.is_ok());
    QVERIFY2(unknown.status().message().find("faq, shards") != std::string::npos, unknown.status().message().c_str());
    QVERIFY(!workspace_dataset_path(root, "shards").is_ok());  // not JSONL
    auto index = RagIndex::create(workspace_index_dir(root, "docs"), {}, std::make_shared<TrigramEmbedder>(root));
    QVERIFY((*index)->add_paths({*p}).is_ok());
    QCOMPARE(workspace_indexes(root), std::vector<std::string>{"docs"});
    QCOMPARE((*index)->search_fulltext("설치하려면", 3)->size(), size_t(1));
  }

  void evaluationCountsDocumentsOnce() {
    const fs::path docs = path("eval-docs");
    fs::create_directories(docs);
    write_text(docs / "p.jsonl",
               "{\"id\": \"d1\", \"text\": \"the quick brown fox jumps over the lazy dog\"}\n"
               "{\"id\": \"d2\", \"text\": \"a slow green turtle walks under the busy bridge\"}\n"
               "{\"id\": \"d3\", \"text\": \"bright stars shine above the quiet mountain lake\"}\n");
    auto index = RagIndex::create(path("eval-index"), {}, std::make_shared<TrigramEmbedder>(docs));
    QVERIFY((*index)->add_paths({docs}).is_ok());
    std::vector<EvalQuestion> qs = {{"quick brown fox", {"d1"}}, {"turtle bridge", {"d2"}}, {"zzzz qqqq", {"d3"}}};
    auto m = evaluate_retrieval(**index, qs, {.ks = {1, 3}});
    QVERIFY2(m.is_ok(), m.status().to_string().c_str());
    QCOMPARE(m->size(), size_t(3));
    const auto& bm25 = (*m)[0];
    QCOMPARE(bm25.mode, SearchMode::kBm25);
    QCOMPARE(bm25.recall_at.at(1), 2.0 / 3.0);  // the nonsense question finds nothing
    QVERIFY(std::abs(bm25.mrr - 2.0 / 3.0) < 1e-9);
    QCOMPARE((*m)[2].recall_at.at(3), 1.0);     // hybrid: vectors always rank every document
    const Json j = eval_metrics_json(*m);
    QCOMPARE(QString::fromStdString(j[0]["mode"].get<std::string>()), QString("bm25"));
    QVERIFY(j[1].contains("recall@3"));
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestRag)
#include "test_rag.moc"
