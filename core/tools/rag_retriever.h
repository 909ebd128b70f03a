// A core/rag index folder as the retrieval tool's Retriever (library kanana_tools_rag, which
// links the RAG index and, through it, the embedding model).
#pragma once

#include <filesystem>

#include "base/status.h"
#include "tools/retrieval_tool.h"

namespace kanana::tools {

// The index is opened on the first search, on the thread that searches (a RagIndex belongs
// to one thread; calls are serialised). Hybrid search when the index holds vectors, full-text
// search otherwise. Error now if `index_dir` holds no index.
Result<Retriever> make_rag_retriever(const std::filesystem::path& index_dir);

}  // namespace kanana::tools
