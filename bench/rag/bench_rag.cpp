// Retrieval benchmarks, each against its peer in the same run:
//   1. vector search on N random unit vectors (default 100k × 256): our HNSW index (hnswlib)
//      vs exact search (every vector scored with the same SIMD inner product) — build time,
//      mean query latency and recall@k of HNSW against the exact top-k, for several ef, with
//      two query sets: uniform random unit vectors (no structure: the worst case for any graph
//      index, all distances nearly equal) and data vectors plus noise (cos ≈ 0.8 to their
//      source, like a query that has a real nearest passage);
//   2. full-text search on N chunks (default 100k) in a RagIndex's SQLite file: our FTS5
//      trigram query (bm25-ranked top 10, what `kanana rag query --mode bm25` runs) vs a
//      LIKE '%word%' scan of the same chunks table (substring search without an index).
// Chunks come from the imported corpora (Korean and English paragraphs of the demo cache,
// numbered so repeats differ); queries are the Debian FAQ questions. Single-threaded queries.
//
//   bench_rag [--n 100000] [--dim 256] [--queries 200] [--k 10] [--m 16] [--ef-construction 200]
//             [--ef 16,64,256,1024] [--threads 2] [--fts-chunks 100000] [--corpora DIR]
//             [--tokenizer tokenizer.json] [--skip-vectors] [--skip-fts]
#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "base/files.h"
#include "base/json.h"
#include "base/strings.h"
#include "rag/fusion.h"
#include "rag/rag_index.h"
#include "rag/vector_index.h"

using namespace kanana;
using namespace kanana::rag;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double since_s(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Options {
  int64_t n = 100000, dim = 256, queries = 200, k = 10, m = 16, ef_construction = 200, threads = 2;
  std::vector<int64_t> efs = {16, 64, 256, 1024};
  int64_t fts_chunks = 100000;
  fs::path corpora, tokenizer;
  bool skip_vectors = false, skip_fts = false;
};

std::vector<float> unit_vectors(int64_t n, int64_t dim, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g;
  std::vector<float> v(size_t(n * dim));
  for (int64_t i = 0; i < n; ++i) {
    float* row = v.data() + i * dim;
    double s = 0;
    for (int64_t d = 0; d < dim; ++d) s += double(row[d] = g(rng)) * row[d];
    const float inv = float(1.0 / std::sqrt(s));
    for (int64_t d = 0; d < dim; ++d) row[d] *= inv;
  }
  return v;
}

// Data vectors plus Gaussian noise, renormalised (each query keeps a true near neighbour).
std::vector<float> noisy_queries(const std::vector<float>& data, int64_t n, int64_t dim, int64_t count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0.0f, float(0.75 / std::sqrt(double(dim))));
  std::vector<float> q(size_t(count * dim));
  for (int64_t i = 0; i < count; ++i) {
    const float* src = data.data() + int64_t(rng() % uint64_t(n)) * dim;
    float* row = q.data() + i * dim;
    double s = 0;
    for (int64_t d = 0; d < dim; ++d) s += double(row[d] = src[d] + g(rng)) * row[d];
    const float inv = float(1.0 / std::sqrt(s));
    for (int64_t d = 0; d < dim; ++d) row[d] *= inv;
  }
  return q;
}

void run_queries(const Options& o, const char* name, const std::vector<float>& queries, const ExactIndex& exact,
                 HnswIndex& hnsw) {
  std::vector<std::set<int64_t>> truth(size_t(o.queries));
  auto t = Clock::now();
  double top_score = 0;
  for (int64_t q = 0; q < o.queries; ++q) {
    const auto hits = exact.search(queries.data() + q * o.dim, o.k);
    top_score += hits.front().score;
    for (const auto& h : hits) truth[size_t(q)].insert(h.label);
  }
  const double exact_ms = since_s(t) * 1000.0 / double(o.queries);
  std::printf("-- %s (mean best cosine %.3f)\n", name, top_score / double(o.queries));
  std::printf("%-12s %12s %10s %16s\n", "search", "ms/query", "recall@k", "speed vs exact");
  std::printf("%-12s %12.4f %10.4f %15.1fx\n", "exact", exact_ms, 1.0, 1.0);
  for (int64_t ef : o.efs) {
    hnsw.set_ef_search(ef);
    int64_t found = 0;
    t = Clock::now();
    for (int64_t q = 0; q < o.queries; ++q)
      for (const auto& h : hnsw.search(queries.data() + q * o.dim, o.k)) found += truth[size_t(q)].count(h.label);
    const double ms = since_s(t) * 1000.0 / double(o.queries);
    std::printf("%-12s %12.4f %10.4f %15.1fx\n", ("hnsw ef=" + std::to_string(ef)).c_str(), ms,
                double(found) / double(o.queries * o.k), exact_ms / ms);
  }
}

void bench_vectors(const Options& o) {
  std::printf("== vector search: %lld random unit vectors, dim %lld, %lld queries, k %lld\n", (long long)o.n,
              (long long)o.dim, (long long)o.queries, (long long)o.k);
  const auto data = unit_vectors(o.n, o.dim, 1);
  std::vector<int64_t> labels(size_t(o.n));
  for (int64_t i = 0; i < o.n; ++i) labels[size_t(i)] = i;
  ExactIndex exact(o.dim);
  auto t = Clock::now();
  (void)exact.add(labels, data.data());
  std::printf("exact: build %.2f s (copy)\n", since_s(t));
  HnswOptions ho;
  ho.m = o.m;
  ho.ef_construction = o.ef_construction;
  ho.threads = int(o.threads);
  auto hnsw = HnswIndex::create(o.dim, ho);
  if (!hnsw.is_ok()) {
    std::fprintf(stderr, "%s\n", hnsw.status().to_string().c_str());
    return;
  }
  t = Clock::now();
  if (Status s = (*hnsw)->add(labels, data.data()); !s.is_ok()) {
    std::fprintf(stderr, "%s\n", s.to_string().c_str());
    return;
  }
  const double build = since_s(t);
  std::printf("hnsw: M %lld, ef_construction %lld, build %.1f s with %lld threads (%.0f vectors/s)\n", (long long)o.m,
              (long long)o.ef_construction, build, (long long)o.threads, double(o.n) / build);
  run_queries(o, "uniform random queries", unit_vectors(o.queries, o.dim, 2), exact, **hnsw);
  run_queries(o, "queries near data vectors", noisy_queries(data, o.n, o.dim, o.queries, 3), exact, **hnsw);
}

// Paragraphs of the corpora's "text" fields (>= 40 bytes), both languages.
std::vector<std::string> corpus_paragraphs(const fs::path& corpora) {
  std::vector<std::string> out;
  for (const char* name : {"faq_qa_ko.jsonl", "faq_qa_en.jsonl", "install_guide_ko.jsonl", "install_guide_en.jsonl",
                           "ko_en_libreoffice_aligned.jsonl", "sotu_en.jsonl", "gettext_ko_en.jsonl"}) {
    auto text = read_file(corpora / name);
    if (!text.is_ok()) continue;
    for (const auto& line : split(*text, '\n')) {
      auto j = Json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.contains("text") || !j["text"].is_string()) continue;
      for (const auto& para : split(j["text"].get<std::string>(), '\n')) {
        const std::string_view p = trim(para);
        if (p.size() >= 40 && p.size() <= 1200) out.emplace_back(p);
      }
    }
  }
  return out;
}

std::vector<std::string> faq_questions(const fs::path& corpora) {
  std::vector<std::string> out;
  for (const char* name : {"faq_qa_ko.jsonl", "faq_qa_en.jsonl"}) {
    auto text = read_file(corpora / name);
    if (!text.is_ok()) continue;
    for (const auto& line : split(*text, '\n')) {
      auto j = Json::parse(line, nullptr, false);
      if (!j.is_discarded() && j.contains("question") && j["question"].is_string()) out.push_back(j["question"].get<std::string>());
    }
  }
  return out;
}

// The longest word of a question (what a substring scan would look for).
std::string longest_word(const std::string& q) {
  std::string best;
  for (const auto& w : split(q, ' ')) {
    std::string t;
    for (char c : w)
      if (!std::strchr("?!.,\"'()“”:;", c)) t += c;
    if (utf8_length(t) > utf8_length(best)) best = t;
  }
  return best;
}

void bench_fts(const Options& o) {
  auto paragraphs = corpus_paragraphs(o.corpora);
  auto questions = faq_questions(o.corpora);
  if (paragraphs.empty() || questions.empty()) {
    std::printf("== full-text search: skipped (no corpora in %s; run scripts/setup.sh)\n", o.corpora.string().c_str());
    return;
  }
  std::printf("== full-text search: %lld chunks from %zu corpus paragraphs, %zu FAQ questions (ko+en)\n",
              (long long)o.fts_chunks, paragraphs.size(), questions.size());
  const fs::path dir = fs::temp_directory_path() / ("kanana-bench-rag-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    std::ofstream out(dir / "chunks.jsonl");
    for (int64_t i = 0; i < o.fts_chunks; ++i)
      out << Json{{"id", "c" + std::to_string(i)},
                  {"text", paragraphs[size_t(i) % paragraphs.size()] + " (#" + std::to_string(i) + ")"}}
                 .dump()
          << "\n";
  }
  IndexSettings s;
  s.tokenizer = o.tokenizer;
  s.chunk.max_tokens = 512;  // one chunk per record: the bench measures search, not chunking
  s.chunk.overlap_tokens = 0;
  auto index = RagIndex::create(dir / "index", s, nullptr);
  if (!index.is_ok()) {
    std::fprintf(stderr, "%s\n", index.status().to_string().c_str());
    return;
  }
  auto t = Clock::now();
  auto rep = (*index)->add_paths({dir / "chunks.jsonl"});
  if (!rep.is_ok()) {
    std::fprintf(stderr, "%s\n", rep.status().to_string().c_str());
    return;
  }
  const double build = since_s(t);
  std::error_code ec;
  std::printf("index: %lld chunks in %.1f s (tokenising for chunk sizes + FTS5 insert), %.1f MiB on disk\n",
              (long long)rep->chunks_added, build, double(fs::file_size(dir / "index" / kIndexDbName, ec)) / (1 << 20));
  const int64_t nq = std::min<int64_t>(o.queries, int64_t(questions.size()));
  // Ours: trigram MATCH, bm25 top 10.
  int64_t hits = 0;
  t = Clock::now();
  for (int64_t q = 0; q < nq; ++q) {
    auto r = (*index)->search_fulltext(questions[size_t(q)], 10);
    if (r.is_ok()) hits += int64_t(r->size());
  }
  const double fts_ms = since_s(t) * 1000.0 / double(nq);
  // Single-word MATCH (the substring the peer looks for), bm25 top 10.
  t = Clock::now();
  for (int64_t q = 0; q < nq; ++q) (void)(*index)->search_fulltext(longest_word(questions[size_t(q)]), 10);
  const double fts_word_ms = since_s(t) * 1000.0 / double(nq);
  // Peer: LIKE '%word%' over the same chunks table, first 10 matches (no ranking).
  sqlite3* db = nullptr;
  sqlite3_open_v2((dir / "index" / kIndexDbName).c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT id FROM chunks WHERE text LIKE ? LIMIT 10", -1, &st, nullptr);
  int64_t like_hits = 0;
  t = Clock::now();
  for (int64_t q = 0; q < nq; ++q) {
    const std::string pattern = "%" + longest_word(questions[size_t(q)]) + "%";
    sqlite3_bind_text(st, 1, pattern.c_str(), -1, SQLITE_TRANSIENT);
    while (sqlite3_step(st) == SQLITE_ROW) ++like_hits;
    sqlite3_reset(st);
  }
  const double like_ms = since_s(t) * 1000.0 / double(nq);
  sqlite3_finalize(st);
  sqlite3_close(db);
  std::printf("%-44s %10s %12s\n", "query", "ms/query", "vs LIKE scan");
  std::printf("%-44s %10.3f %11.1fx\n", "fts5 trigram, whole question, bm25 top 10", fts_ms, like_ms / fts_ms);
  std::printf("%-44s %10.3f %11.1fx\n", "fts5 trigram, longest word, bm25 top 10", fts_word_ms, like_ms / fts_word_ms);
  std::printf("%-44s %10.3f %11s\n", "LIKE '%word%' scan, first 10 (peer)", like_ms, "1.0x");
  std::printf("(%lld queries; %.1f hits/query for whole questions, %.1f for LIKE)\n", (long long)nq,
              double(hits) / double(nq), double(like_hits) / double(nq));
  fs::remove_all(dir, ec);
}

bool parse(int argc, char** argv, Options* o) {
  const char* home = std::getenv("HOME");
  const char* cache = std::getenv("KANANA_DATA_CACHE");
  const fs::path base = cache && *cache ? fs::path(cache) : fs::path(home ? home : ".") / ".cache/kanana-workbench";
  o->corpora = base / "corpora";
  o->tokenizer = base / "tokenizers/llama3/tokenizer.json";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    try {
      if (a == "--n") o->n = std::stoll(value());
      else if (a == "--dim") o->dim = std::stoll(value());
      else if (a == "--queries") o->queries = std::stoll(value());
      else if (a == "--k") o->k = std::stoll(value());
      else if (a == "--m") o->m = std::stoll(value());
      else if (a == "--ef-construction") o->ef_construction = std::stoll(value());
      else if (a == "--threads") o->threads = std::stoll(value());
      else if (a == "--fts-chunks") o->fts_chunks = std::stoll(value());
      else if (a == "--corpora") o->corpora = value();
      else if (a == "--tokenizer") o->tokenizer = value();
      else if (a == "--skip-vectors") o->skip_vectors = true;
      else if (a == "--skip-fts") o->skip_fts = true;
      else if (a == "--ef") {
        o->efs.clear();
        for (const auto& p : split(value(), ',')) o->efs.push_back(std::stoll(p));
      } else if (a == "--help" || a == "-h") {
        std::printf("bench_rag [--n N] [--dim D] [--queries Q] [--k K] [--m M] [--ef-construction E] [--ef LIST]\n"
                    "          [--threads T] [--fts-chunks N] [--corpora DIR] [--tokenizer FILE] [--skip-vectors] [--skip-fts]\n");
        return false;
      } else {
        throw std::invalid_argument("unknown flag " + a);
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_rag: %s (see --help)\n", e.what());
      std::exit(2);
    }
  }
  if (o->n <= 0 || o->dim <= 0 || o->queries <= 0 || o->k <= 0 || o->threads <= 0 || o->fts_chunks <= 0) {
    std::fprintf(stderr, "bench_rag: sizes must be positive\n");
    std::exit(2);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, &o)) return 0;
  std::printf("machine: %u hardware threads; queries single-threaded\n", std::thread::hardware_concurrency());
  if (!o.skip_vectors) bench_vectors(o);
  if (!o.skip_fts) bench_fts(o);
  return 0;
}
