// Read-only SQL over a SQLite file (see sql_tool.h).
#include "tools/sql_tool.h"

#include <sqlite3.h>

#include <cctype>
#include <chrono>
#include <cstring>
#include <memory>

#include "base/strings.h"

namespace kanana::tools {
namespace {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

struct AuthState {
  std::string denied;  // the first action the authorizer refused, for the error message
};

const char* action_name(int action) {
  switch (action) {
    case SQLITE_INSERT: return "INSERT";
    case SQLITE_UPDATE: return "UPDATE";
    case SQLITE_DELETE: return "DELETE";
    case SQLITE_ATTACH: return "ATTACH";
    case SQLITE_DETACH: return "DETACH";
    case SQLITE_PRAGMA: return "PRAGMA";
    case SQLITE_TRANSACTION: return "a transaction";
    case SQLITE_SAVEPOINT: return "SAVEPOINT";
    case SQLITE_ANALYZE: return "ANALYZE";
    case SQLITE_REINDEX: return "REINDEX";
    case SQLITE_ALTER_TABLE: return "ALTER TABLE";
    case SQLITE_CREATE_TABLE: case SQLITE_CREATE_TEMP_TABLE: return "CREATE TABLE";
    case SQLITE_CREATE_INDEX: case SQLITE_CREATE_TEMP_INDEX: return "CREATE INDEX";
    case SQLITE_CREATE_VIEW: case SQLITE_CREATE_TEMP_VIEW: return "CREATE VIEW";
    case SQLITE_CREATE_TRIGGER: case SQLITE_CREATE_TEMP_TRIGGER: return "CREATE TRIGGER";
    case SQLITE_CREATE_VTABLE: return "CREATE VIRTUAL TABLE";
    case SQLITE_DROP_TABLE: case SQLITE_DROP_TEMP_TABLE: return "DROP TABLE";
    case SQLITE_DROP_INDEX: case SQLITE_DROP_TEMP_INDEX: return "DROP INDEX";
    case SQLITE_DROP_VIEW: case SQLITE_DROP_TEMP_VIEW: return "DROP VIEW";
    case SQLITE_DROP_TRIGGER: case SQLITE_DROP_TEMP_TRIGGER: return "DROP TRIGGER";
    case SQLITE_DROP_VTABLE: return "DROP VIRTUAL TABLE";
    case SQLITE_FUNCTION: return "this function";
    default: return "this statement";
  }
}

int authorize(void* user, int action, const char* arg1, const char* arg2, const char*, const char*) {
  auto* state = static_cast<AuthState*>(user);
  switch (action) {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_RECURSIVE:  // WITH RECURSIVE inside a SELECT
      return SQLITE_OK;
    case SQLITE_FUNCTION: {
      // Ordinary functions (count, json_extract, substr ...) are reads; these reach outside.
      const char* f = arg2 ? arg2 : "";
      for (const char* banned : {"load_extension", "fts3_tokenizer", "readfile", "writefile", "edit"})
        if (sqlite3_stricmp(f, banned) == 0) {
          if (state->denied.empty()) state->denied = std::string("the function ") + f + "()";
          return SQLITE_DENY;
        }
      return SQLITE_OK;
    }
    default:
      if (state->denied.empty()) {
        state->denied = action_name(action);
        if (action == SQLITE_PRAGMA && arg1) state->denied += std::string(" ") + arg1;
      }
      return SQLITE_DENY;
  }
}

struct ProgressState {
  std::chrono::steady_clock::time_point deadline;
  const CancelToken* cancel = nullptr;
  bool timed_out = false;
};

int on_progress(void* user) {
  auto* p = static_cast<ProgressState*>(user);
  if (p->cancel && p->cancel->is_cancelled()) return 1;
  if (std::chrono::steady_clock::now() > p->deadline) {
    p->timed_out = true;
    return 1;
  }
  return 0;
}

// Whether the rest of the SQL after the first statement is only whitespace, ';' and comments.
bool only_trivia(const char* tail) {
  for (const char* p = tail; p && *p;) {
    if (std::isspace(static_cast<unsigned char>(*p)) || *p == ';') {
      ++p;
    } else if (p[0] == '-' && p[1] == '-') {
      while (*p && *p != '\n') ++p;
    } else if (p[0] == '/' && p[1] == '*') {
      const char* end = std::strstr(p + 2, "*/");
      if (!end) return true;
      p = end + 2;
    } else {
      return false;
    }
  }
  return true;
}

Result<DbPtr> open_read_only(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return not_found("database " + path.string() + " does not exist");
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK)
    return unavailable(path.string() + ": cannot open read-only: " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  sqlite3_db_config(db.get(), SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(db.get(), SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, nullptr);
  sqlite3_db_config(db.get(), SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  sqlite3_busy_timeout(db.get(), 2000);
  sqlite3_limit(db.get(), SQLITE_LIMIT_ATTACHED, 0);
  return db;
}

Json cell(sqlite3_stmt* s, int col, int64_t max_chars) {
  switch (sqlite3_column_type(s, col)) {
    case SQLITE_INTEGER: return static_cast<int64_t>(sqlite3_column_int64(s, col));
    case SQLITE_FLOAT: return sqlite3_column_double(s, col);
    case SQLITE_NULL: return nullptr;
    case SQLITE_BLOB: return "<blob, " + std::to_string(sqlite3_column_bytes(s, col)) + " bytes>";
    default: {
      const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(s, col));
      std::string text = sanitize_utf8(std::string_view(t ? t : "", static_cast<size_t>(sqlite3_column_bytes(s, col))));
      if (static_cast<int64_t>(utf8_length(text)) > max_chars) {
        size_t pos = 0;
        for (int64_t i = 0; i < max_chars && pos < text.size(); ++i) utf8_next(text, &pos);
        text = text.substr(0, pos) + "…";
      }
      return text;
    }
  }
}

}  // namespace

Result<Json> run_readonly_query(const std::filesystem::path& db_path, const std::string& sql, int64_t max_rows,
                                const SqlToolOptions& options, const CancelToken* cancel) {
  if (trim(sql).empty()) return invalid_argument("the query is empty");
  KANANA_ASSIGN_OR_RETURN(DbPtr db, open_read_only(db_path));
  AuthState auth;
  sqlite3_set_authorizer(db.get(), authorize, &auth);
  ProgressState progress{std::chrono::steady_clock::now() + std::chrono::milliseconds(options.time_limit_ms), cancel};
  sqlite3_progress_handler(db.get(), 1000, on_progress, &progress);

  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  const int rc = sqlite3_prepare_v2(db.get(), sql.c_str(), static_cast<int>(sql.size()), &raw, &tail);
  StmtPtr stmt(raw);
  const std::string read_only_hint = "the SQL tool is read-only: only SELECT (and WITH ... SELECT) queries may run";
  if (rc != SQLITE_OK) {
    if (rc == SQLITE_AUTH || !auth.denied.empty())
      return permission_denied(read_only_hint + "; " + (auth.denied.empty() ? "this statement" : auth.denied) +
                               " is not allowed");
    return invalid_argument(std::string("SQL error: ") + sqlite3_errmsg(db.get()));
  }
  if (!stmt) return invalid_argument("the query holds no SQL statement");
  if (!only_trivia(tail)) return invalid_argument("only one SQL statement per call (found more after the first ';')");
  if (!sqlite3_stmt_readonly(stmt.get())) return permission_denied(read_only_hint + "; this statement would write");

  Json columns = Json::array();
  const int n = sqlite3_column_count(stmt.get());
  for (int c = 0; c < n; ++c) columns.push_back(sqlite3_column_name(stmt.get(), c) ? sqlite3_column_name(stmt.get(), c) : "");
  Json rows = Json::array();
  bool truncated = false;
  while (true) {
    const int step = sqlite3_step(stmt.get());
    if (step == SQLITE_DONE) break;
    if (step != SQLITE_ROW) {
      if (progress.timed_out)
        return unavailable("the query ran longer than " + std::to_string(options.time_limit_ms) + " ms and was stopped");
      if (cancel && cancel->is_cancelled()) return cancelled("the query was cancelled");
      if (step == SQLITE_AUTH || !auth.denied.empty()) return permission_denied(read_only_hint);
      return invalid_argument(std::string("SQL error: ") + sqlite3_errmsg(db.get()));
    }
    if (static_cast<int64_t>(rows.size()) >= max_rows) {
      truncated = true;
      break;
    }
    Json row = Json::array();
    for (int c = 0; c < n; ++c) row.push_back(cell(stmt.get(), c, options.max_cell_chars));
    rows.push_back(std::move(row));
  }
  const auto count = static_cast<int64_t>(rows.size());
  return Json{{"columns", columns}, {"rows", std::move(rows)}, {"row_count", count}, {"truncated", truncated}};
}

std::string describe_schema(const std::filesystem::path& db_path) {
  // Our own fixed query (never model input), so it may use the table_info pragma function the
  // authorizer would refuse; the connection is still read-only.
  auto db = open_read_only(db_path);
  if (!db.is_ok()) return {};
  sqlite3_stmt* raw = nullptr;
  const char* sql =
      "SELECT m.name, group_concat(p.name, ', ') FROM sqlite_master m JOIN pragma_table_info(m.name) p "
      "WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' GROUP BY m.name ORDER BY m.name";
  if (sqlite3_prepare_v2(db->get(), sql, -1, &raw, nullptr) != SQLITE_OK) return {};
  StmtPtr stmt(raw);
  std::string out;
  while (sqlite3_step(stmt.get()) == SQLITE_ROW) {
    const auto* table = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0));
    const auto* columns = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 1));
    if (table && columns) out += std::string(table) + "(" + columns + ")\n";
  }
  return out;
}

Tool make_sql_tool(const std::filesystem::path& db_path, const SqlToolOptions& options) {
  Tool t;
  t.spec.name = "sql_query";
  const std::string schema = describe_schema(db_path);
  t.spec.description =
      "Run one read-only SQLite SELECT query on the workspace database and get the rows back (at most " +
      std::to_string(options.hard_max_rows) + "). Writes are rejected." +
      (schema.empty() ? std::string() : " Tables:\n" + schema);
  t.spec.parameters = {{"type", "object"},
                       {"properties",
                        {{"query", {{"type", "string"}, {"description", "one SELECT statement"}, {"minLength", 1}, {"maxLength", 10000}}},
                         {"max_rows", {{"type", "integer"}, {"minimum", 1}, {"maximum", options.hard_max_rows},
                                       {"description", "rows to return at most (default " + std::to_string(options.max_rows) + ")"}}}}},
                       {"required", {"query"}},
                       {"additionalProperties", false}};
  t.run = [db_path, options](const Json& args, const ToolContext& context) -> Result<Json> {
    const int64_t max_rows = args.contains("max_rows") ? args["max_rows"].get<int64_t>() : options.max_rows;
    return run_readonly_query(db_path, args["query"].get<std::string>(), max_rows, options, context.cancel);
  };
  return t;
}

}  // namespace kanana::tools
