// A retrieval index over files and workspace datasets: one folder holding its own SQLite file
// (index.sqlite: sources, chunks with their embeddings, an FTS5 trigram table for full-text
// search that works for Korean) and, for large sets, an HNSW graph file (vectors.hnsw).
// Workspace indexes live in <workspace>/rag/<name>/; the workspace database is not touched.
//
//   auto index = RagIndex::create(dir, settings, embedder);  // or open(dir) later
//   index->add_files({"docs/", "faq.jsonl"});                 // chunk, embed, index
//   auto hits = index->search("데비안은 무엇인가요?", {.mode = SearchMode::kHybrid, .k = 5});
//
// Ingest: text, Markdown and HTML files (tags stripped, offsets kept: source_text.h) and JSONL
// (one document per line: the text field, optional id field). Re-adding a changed file
// replaces its chunks; an unchanged one is skipped. Malformed inputs are reported by file and
// line and skipped (strict: an error), never indexed half.
//
// Thread safety: one RagIndex per thread (it owns one SQLite connection); several may open
// the same folder (SQLite WAL). Long calls take a CancelToken.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/progress.h"
#include "base/status.h"
#include "embed/embedder.h"
#include "rag/chunk.h"
#include "rag/chunker.h"
#include "rag/vector_index.h"

namespace kanana::store {
class Database;
}

namespace kanana::rag {

inline constexpr const char* kIndexDbName = "index.sqlite";
inline constexpr const char* kHnswFileName = "vectors.hnsw";

// Fixed when the index is created (stored in its meta table).
struct IndexSettings {
  ChunkOptions chunk;
  // Chunk token counts use the embedder's tokenizer; without an embedder (a full-text-only
  // index) this tokenizer file/folder is required.
  std::filesystem::path tokenizer;
  std::string vector_index = "auto";    // auto | exact | hnsw
  int64_t exact_max = 20000;            // auto: exact search up to this many chunks
  HnswOptions hnsw;
  std::string query_task = embed::kRetrievalInstruction;  // instruction for query embeddings
  std::string text_field = "text";      // JSONL field with the document text
  std::string id_field = "id";          // JSONL field with the document id (optional per line)
};

struct IngestReport {
  int64_t sources_added = 0;
  int64_t sources_replaced = 0;   // changed since the last ingest
  int64_t sources_unchanged = 0;
  int64_t documents = 0;          // files + JSONL records chunked
  int64_t chunks_added = 0;
  std::vector<std::string> problems;  // "file:line: why" / "file: why", skipped
};

struct SearchOptions {
  SearchMode mode = SearchMode::kHybrid;
  int64_t k = 5;
  int64_t candidates = 50;   // depth of each list before fusion
  double rrf_k = 60.0;
};

struct IndexStats {
  int64_t sources = 0, chunks = 0, embedded_chunks = 0, dim = 0;
  std::string vector_index;       // what search uses now: exact | hnsw | none
  std::string model_dir, embedder_fingerprint;
  IndexSettings settings;
};

class RagIndex {
 public:
  // A new index in `dir` (created; must not already hold one). `embedder` may be null for a
  // full-text-only index (settings.tokenizer then required).
  static Result<std::unique_ptr<RagIndex>> create(const std::filesystem::path& dir, const IndexSettings& settings,
                                                  std::shared_ptr<embed::Embedder> embedder);
  // An existing index. Searches that need vectors load the index's embedding model on first
  // use (or use one given with set_embedder).
  static Result<std::unique_ptr<RagIndex>> open(const std::filesystem::path& dir, bool read_only = false);
  static bool exists(const std::filesystem::path& dir);
  ~RagIndex();

  // Use this embedder for queries and new chunks; error if the index already holds vectors
  // from another model (fingerprints differ).
  Status set_embedder(std::shared_ptr<embed::Embedder> embedder);

  // Files, folders (recursive, sorted, hidden files skipped) and JSONL datasets.
  Result<IngestReport> add_paths(const std::vector<std::filesystem::path>& paths, bool strict = false,
                                 Progress* progress = nullptr, const CancelToken* cancel = nullptr);

  // The k best chunks for the mode; hybrid fuses the full-text and vector lists (each
  // `candidates` deep) by reciprocal rank. On a full-text-only index hybrid is full-text.
  Result<std::vector<SearchHit>> search(std::string_view query, const SearchOptions& options = {});
  // The two retrievers alone: chunk ids best first with their scores (-bm25 / cosine).
  Result<std::vector<std::pair<int64_t, double>>> search_fulltext(std::string_view query, int64_t k);
  Result<std::vector<std::pair<int64_t, double>>> search_vectors(std::string_view query, int64_t k);

  Result<Chunk> chunk(int64_t id);
  Result<std::vector<Chunk>> chunks(const std::vector<int64_t>& ids);  // in the given order
  Result<IndexStats> stats();
  const std::filesystem::path& dir() const { return dir_; }
  bool has_vectors() const;

 private:
  struct State;
  RagIndex(std::filesystem::path dir, std::unique_ptr<State> state);
  std::filesystem::path dir_;
  std::unique_ptr<State> state_;
};

// <workspace>/rag/<name>.
std::filesystem::path workspace_index_dir(const std::filesystem::path& workspace, const std::string& name);
// Names of the indexes under <workspace>/rag/, sorted.
std::vector<std::string> workspace_indexes(const std::filesystem::path& workspace);
// A JSONL dataset registered in the workspace (by name or numeric id) → its absolute path.
// Error names the dataset if it is unknown or not JSONL.
Result<std::filesystem::path> workspace_dataset_path(const std::filesystem::path& workspace,
                                                     const std::string& name_or_id);

}  // namespace kanana::rag
