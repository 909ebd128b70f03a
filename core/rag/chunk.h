// What a RAG index stores and returns: chunks of source text with the span they came from,
// and search hits with the rank each retriever gave them.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"

namespace kanana::rag {

// Where a chunk's text lives, precise enough to open the passage in an editor or viewer.
struct SourceSpan {
  std::string path;        // the ingested file (absolute)
  std::string kind;        // "text" | "markdown" | "html" | "jsonl"
  int64_t line = 0;        // jsonl: 1-based line of the record; 0 for other kinds
  std::string record_id;   // jsonl: the record's id field ("" if it has none)
  // Byte range [begin, end): in the file for text/markdown/html (HTML: the raw markup range
  // whose visible text is the chunk), in the record's text field (decoded) for jsonl.
  int64_t begin = 0, end = 0;

  // "faq.html:1024-2048", "faq.jsonl:17 (debian-faq:q1.1) 0-512": for logs and listings.
  std::string to_string() const;
  // The key retrieval evaluation matches relevance on: record_id when set, else path.
  const std::string& document_key() const { return record_id.empty() ? path : record_id; }
};

struct Chunk {
  int64_t id = 0;         // stable within an index (SQLite rowid)
  int64_t source_id = 0;
  int64_t ordinal = 0;    // position within its document
  int64_t tokens = 0;
  std::string text;
  SourceSpan span;
};

enum class SearchMode { kBm25, kVector, kHybrid };
const char* search_mode_name(SearchMode mode);  // "bm25", "vector", "hybrid"
Result<SearchMode> parse_search_mode(const std::string& name);

struct SearchHit {
  Chunk chunk;
  double score = 0;          // what the ranking used: -bm25, cosine, or the RRF score
  int64_t bm25_rank = 0;     // 1-based rank in the full-text list (0 = not in it)
  int64_t vector_rank = 0;   // 1-based rank in the vector list (0 = not in it)
};

}  // namespace kanana::rag
