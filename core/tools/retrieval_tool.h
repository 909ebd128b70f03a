// The retrieval tool: search a document index and get numbered passages back, so the model can
// answer with citations. The search itself is a callback (Retriever) so this library stays
// free of the embedding model; rag_retriever.h adapts a core/rag index to it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/progress.h"
#include "base/status.h"
#include "tools/tool.h"

namespace kanana::tools {

struct RetrievedPassage {
  std::string source;  // where it came from: "faq.html:1024-2048", "faq.jsonl:17 (q1.1)"
  std::string text;
  double score = 0;
};

using Retriever =
    std::function<Result<std::vector<RetrievedPassage>>(const std::string& query, int64_t k, const CancelToken* cancel)>;

// {"query", "k"?} → {"query", "passages": [{"n": 1, "source", "text", "score"}, ...]}.
// `what` describes the indexed collection for the model ("the Debian FAQ in Korean and English").
Tool make_retrieval_tool(Retriever retriever, const std::string& what = "the workspace's document index");

}  // namespace kanana::tools
