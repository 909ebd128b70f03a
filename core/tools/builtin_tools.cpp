// Registration of the built-in tools (see builtin_tools.h).
#include "tools/builtin_tools.h"

#include "tools/calculator.h"
#include "tools/datetime_tool.h"
#include "tools/file_tools.h"
#include "tools/sql_tool.h"
#include "tools/unit_convert.h"

namespace kanana::tools {

Status register_builtin_tools(ToolRegistry& registry, const BuiltinToolOptions& options) {
  KANANA_RETURN_IF_ERROR(registry.add(make_calculator_tool()));
  KANANA_RETURN_IF_ERROR(registry.add(make_datetime_tool(options.clock)));
  KANANA_RETURN_IF_ERROR(registry.add(make_unit_convert_tool()));
  std::vector<std::filesystem::path> roots = options.read_roots;
  if (roots.empty() && !options.workspace.empty()) roots.push_back(options.workspace);
  if (!roots.empty()) {
    KANANA_ASSIGN_OR_RETURN(PathSandbox sandbox, PathSandbox::create(roots));
    KANANA_RETURN_IF_ERROR(registry.add(make_read_file_tool(std::move(sandbox))));
  }
  if (!options.workspace.empty()) {
    const auto db = options.workspace / "workspace.db";
    std::error_code ec;
    if (std::filesystem::is_regular_file(db, ec)) KANANA_RETURN_IF_ERROR(registry.add(make_sql_tool(db)));
    if (options.write_note) KANANA_RETURN_IF_ERROR(registry.add(make_write_note_tool(options.workspace / "notes")));
  }
  if (options.retriever)
    KANANA_RETURN_IF_ERROR(registry.add(make_retrieval_tool(options.retriever, options.retrieval_description)));
  return Status::ok();
}

}  // namespace kanana::tools
