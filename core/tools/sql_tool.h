// The read-only SQL tool over the workspace database. Three locks, each enough alone:
//  1. the connection is opened with SQLITE_OPEN_READONLY (and defensive mode, no extension
//     loading, untrusted schema);
//  2. an authorizer allows only SQLITE_SELECT and SQLITE_READ (plus calls of ordinary SQL
//     functions and recursive CTEs, which SELECTs need) and denies every other action:
//     INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, ATTACH, DETACH, PRAGMA, transactions ...;
//  3. a prepared statement that sqlite3_stmt_readonly() does not call read-only is refused.
// One statement per call; rows are capped (the answer says it was truncated); long text cells
// are cut; a progress handler stops queries that run past the time limit or are cancelled.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "base/json.h"
#include "base/progress.h"
#include "base/status.h"
#include "tools/tool.h"

namespace kanana::tools {

struct SqlToolOptions {
  int64_t max_rows = 50;          // default rows per answer (the model may ask for up to hard_max_rows)
  int64_t hard_max_rows = 500;
  int64_t max_cell_chars = 1000;  // longer text values are cut and end with "…"
  int64_t time_limit_ms = 5000;   // the query is interrupted after this
};

// {"columns": [...], "rows": [[...], ...], "row_count": n, "truncated": bool}
Result<Json> run_readonly_query(const std::filesystem::path& db_path, const std::string& sql, int64_t max_rows,
                                const SqlToolOptions& options = {}, const CancelToken* cancel = nullptr);

// "datasets(id, name, kind, ...)\nruns(...)" for the tool description; empty on failure.
std::string describe_schema(const std::filesystem::path& db_path);

// {"query": "SELECT ...", "max_rows"?: n}; the description lists the database's tables.
Tool make_sql_tool(const std::filesystem::path& db_path, const SqlToolOptions& options = {});

}  // namespace kanana::tools
