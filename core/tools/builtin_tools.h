// The built-in tool set: calculator, datetime, convert_units, and — given a workspace —
// sql_query (read-only, workspace.db), read_file (confined to the allowed folders), write_note
// (side effect: <workspace>/notes, asks first) and search_documents (given a retriever).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <vector>

#include "base/status.h"
#include "tools/retrieval_tool.h"
#include "tools/tool.h"

namespace kanana::tools {

struct BuiltinToolOptions {
  std::filesystem::path workspace;                // empty: no sql_query / write_note
  std::vector<std::filesystem::path> read_roots;  // read_file's folders; empty: the workspace (if any)
  Retriever retriever;                            // set: search_documents
  std::string retrieval_description = "the workspace's document index";
  bool write_note = true;
  std::function<int64_t()> clock;                 // datetime's clock (tests)
};

Status register_builtin_tools(ToolRegistry& registry, const BuiltinToolOptions& options = {});

}  // namespace kanana::tools
