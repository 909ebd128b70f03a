// A thin RAII wrapper over one SQLite connection: open with the pragmas every workspace
// needs (WAL, foreign keys, busy timeout), prepared statements with typed bind/column, and
// transactions. Every SQLite error becomes a Status carrying SQLite's message and the path.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace kanana::store {

struct DatabaseOptions {
  bool read_only = false;        // SQLITE_OPEN_READONLY: every write fails with a clear error
  bool create = false;           // create the file if missing (ignored when read_only)
  int busy_timeout_ms = 5000;    // wait this long on a lock held by another connection
  bool quick_check = true;       // run PRAGMA quick_check on open (catches corrupt files early)
  // Read-only only: open with SQLite's immutable=1 (no locks, no -wal/-shm files created).
  // Right only while nobody writes the file, e.g. probing a database no connection has open.
  bool immutable = false;
};

class Database;

// One prepared statement. Bind indices are 1-based (SQLite's), column indices 0-based.
class Statement {
 public:
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, int64_t value);
  Statement& bind(int index, int value) { return bind(index, int64_t(value)); }
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
  Statement& bind(int index, const std::string& text) { return bind(index, std::string_view(text)); }
  Statement& bind_null(int index);
  template <typename T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind_null(index);
  }

  // true: a row is available; false: done. Errors (including bind errors) come back here.
  Result<bool> step();
  // Step to completion (INSERT/UPDATE/DELETE); error if it yields rows is not checked.
  Status run();
  Status reset();

  int column_count() const;
  bool column_is_null(int column) const;
  int64_t column_int(int column) const;
  double column_double(int column) const;
  std::string column_text(int column) const;
  std::optional<int64_t> column_optional_int(int column) const;
  std::optional<double> column_optional_double(int column) const;
  std::optional<std::string> column_optional_text(int column) const;
  std::string column_name(int column) const;

 private:
  friend class Database;
  Statement(Database* db, sqlite3_stmt* stmt, std::string sql);
  Database* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  std::string sql_;
  Status bind_error_;  // first bind failure, reported by step()
};

class Database {
 public:
  static Result<std::unique_ptr<Database>> open(const std::filesystem::path& path,
                                                const DatabaseOptions& options = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  Result<Statement> prepare(std::string_view sql);
  // Run one or more statements without results (schema scripts, pragmas).
  Status exec(std::string_view sql);
  // First column of the first row as an integer / text (errors if there is no row).
  Result<int64_t> query_int(std::string_view sql);
  Result<std::string> query_text(std::string_view sql);

  int64_t last_insert_rowid() const;
  int changes() const;  // rows changed by the last INSERT/UPDATE/DELETE

  Status begin(bool immediate = true);  // IMMEDIATE takes the write lock up front
  Status commit();
  Status rollback();

  Result<int64_t> user_version();
  Status set_user_version(int64_t version);
  Result<std::string> journal_mode();
  // "ok" or the list of problems PRAGMA integrity_check (full) / quick_check reports.
  Result<std::string> integrity_check(bool full = true);

  bool read_only() const { return options_.read_only; }
  const std::filesystem::path& path() const { return path_; }
  sqlite3* handle() const { return db_; }

  // The current SQLite error as a Status: "<path>: <what>: <sqlite message>"; the code is
  // mapped (SQLITE_NOTADB/CORRUPT → kDataLoss, READONLY/PERM → kPermissionDenied,
  // CONSTRAINT → kFailedPrecondition or kAlreadyExists for UNIQUE, BUSY → kUnavailable).
  Status error_status(int rc, const std::string& what) const;

 private:
  Database(std::filesystem::path path, DatabaseOptions options, sqlite3* db);
  std::filesystem::path path_;
  DatabaseOptions options_;
  sqlite3* db_ = nullptr;
};

// Begins on construction, rolls back on destruction unless commit() succeeded.
class Transaction {
 public:
  static Result<std::unique_ptr<Transaction>> begin(Database& db);
  ~Transaction();
  Status commit();

 private:
  explicit Transaction(Database& db) : db_(db) {}
  Database& db_;
  bool done_ = false;
};

}  // namespace kanana::store
