// Small helpers of the RAG records (chunk.h).
#include "rag/chunk.h"

namespace kanana::rag {

std::string SourceSpan::to_string() const {
  std::string s = path;
  if (line > 0) s += ":" + std::to_string(line);
  if (!record_id.empty()) s += " (" + record_id + ")";
  s += (line > 0 ? " " : ":") + std::to_string(begin) + "-" + std::to_string(end);
  return s;
}

const char* search_mode_name(SearchMode mode) {
  switch (mode) {
    case SearchMode::kBm25: return "bm25";
    case SearchMode::kVector: return "vector";
    default: return "hybrid";
  }
}

Result<SearchMode> parse_search_mode(const std::string& name) {
  if (name == "bm25" || name == "fts" || name == "fulltext") return SearchMode::kBm25;
  if (name == "vector" || name == "dense") return SearchMode::kVector;
  if (name == "hybrid") return SearchMode::kHybrid;
  return invalid_argument("unknown search mode '" + name + "' (expected bm25, vector or hybrid)");
}

}  // namespace kanana::rag
