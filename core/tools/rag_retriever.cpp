// Retriever over a core/rag index (see rag_retriever.h).
#include "tools/rag_retriever.h"

#include <memory>
#include <mutex>

#include "rag/rag_index.h"

namespace kanana::tools {

Result<Retriever> make_rag_retriever(const std::filesystem::path& index_dir) {
  if (!rag::RagIndex::exists(index_dir)) return not_found(index_dir.string() + " holds no RAG index");
  struct State {
    std::mutex mutex;
    std::unique_ptr<rag::RagIndex> index;
  };
  auto state = std::make_shared<State>();
  return Retriever([state, index_dir](const std::string& query, int64_t k,
                                      const CancelToken* cancel) -> Result<std::vector<RetrievedPassage>> {
    std::lock_guard<std::mutex> lock(state->mutex);
    if (cancel && cancel->is_cancelled()) return cancelled();
    if (!state->index) {
      KANANA_ASSIGN_OR_RETURN(state->index, rag::RagIndex::open(index_dir, /*read_only=*/true));
    }
    rag::SearchOptions so;
    so.k = k;
    so.mode = state->index->has_vectors() ? rag::SearchMode::kHybrid : rag::SearchMode::kBm25;
    KANANA_ASSIGN_OR_RETURN(std::vector<rag::SearchHit> hits, state->index->search(query, so));
    std::vector<RetrievedPassage> out;
    for (const auto& h : hits) out.push_back({h.chunk.span.to_string(), h.chunk.text, h.score});
    return out;
  });
}

}  // namespace kanana::tools
