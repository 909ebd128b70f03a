// Retrieval evaluation: recall@k and MRR of full-text, vector and hybrid search on a
// question → relevant-passage set. Rankings are over distinct documents (chunks of the same
// document count once, at their best rank); a document is relevant when its key
// (SourceSpan::document_key: the JSONL id, else the file path) is in the question's list.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/progress.h"
#include "base/status.h"
#include "rag/chunk.h"

namespace kanana::rag {

class RagIndex;

struct EvalQuestion {
  std::string query;
  std::vector<std::string> relevant;  // document keys
};

// JSONL: {"query": "...", "relevant": ["id", ...] | "id"} per line. Malformed lines are named
// (file:line) and skipped, or an error when strict.
struct EvalSet {
  std::vector<EvalQuestion> questions;
  std::vector<std::string> problems;
};
Result<EvalSet> read_eval_set(const std::filesystem::path& file, bool strict = false);

struct ModeMetrics {
  SearchMode mode = SearchMode::kHybrid;
  int64_t questions = 0;
  std::map<int64_t, double> recall_at;  // k → fraction of questions with a relevant document in the top k
  double mrr = 0;                       // mean of 1 / rank of the first relevant document (0 if beyond depth)
  double mean_query_ms = 0;
};

struct EvalOptions {
  std::vector<SearchMode> modes = {SearchMode::kBm25, SearchMode::kVector, SearchMode::kHybrid};
  std::vector<int64_t> ks = {1, 5, 10};
  int64_t depth = 100;   // chunks retrieved per list (MRR is cut here)
  double rrf_k = 60.0;
};

Result<std::vector<ModeMetrics>> evaluate_retrieval(RagIndex& index, const std::vector<EvalQuestion>& questions,
                                                    const EvalOptions& options = {}, Progress* progress = nullptr,
                                                    const CancelToken* cancel = nullptr);

// [{"mode": "bm25", "questions": n, "recall@1": .., "recall@5": .., "mrr": .., "mean_query_ms": ..}, ...]
Json eval_metrics_json(const std::vector<ModeMetrics>& metrics);

}  // namespace kanana::rag
