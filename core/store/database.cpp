// SQLite wrapper: opening with the workspace pragmas, statements, transactions, and the
// mapping of SQLite result codes to Status codes a caller can act on.
#include "store/database.h"

#include <sqlite3.h>

#include <cstdio>
#include <fstream>
#include <system_error>
#include <unistd.h>

namespace kanana::store {
namespace {

StatusCode code_for(int rc) {
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return StatusCode::kDataLoss;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return StatusCode::kPermissionDenied;
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) return StatusCode::kAlreadyExists;
      if (rc == SQLITE_CONSTRAINT_CHECK || rc == SQLITE_CONSTRAINT_NOTNULL) return StatusCode::kInvalidArgument;
      return StatusCode::kFailedPrecondition;  // foreign keys, triggers
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return StatusCode::kUnavailable;
    case SQLITE_CANTOPEN:
      return StatusCode::kNotFound;
    case SQLITE_FULL:
    case SQLITE_IOERR:
      return StatusCode::kUnavailable;
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_ERROR:
      return StatusCode::kInvalidArgument;
    default:
      return StatusCode::kInternal;
  }
}

// The first 16 bytes of every SQLite 3 database. Checking them before sqlite3_open lets a
// random file be refused without SQLite ever holding it open for writing.
constexpr char kSqliteMagic[16] = {'S', 'Q', 'L', 'i', 't', 'e', ' ', 'f', 'o', 'r', 'm', 'a', 't', ' ', '3', '\0'};

Status check_header(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return {StatusCode::kNotFound, path.string() + ": " + ec.message()};
  if (size == 0) return Status::ok();  // SQLite treats an empty file as an empty database
  std::ifstream in(path, std::ios::binary);
  if (!in) return permission_denied(path.string() + ": cannot be read");
  char header[100] = {};
  in.read(header, sizeof(header));
  if (in.gcount() < 100 || std::char_traits<char>::compare(header, kSqliteMagic, 16) != 0) {
    return data_loss(path.filename().string() + " is not a valid SQLite database (file is not a database): " +
                     path.string());
  }
  // Page size: bytes 16-17 big-endian, a power of two in [512, 32768] or 1 meaning 65536.
  const unsigned page = (static_cast<unsigned char>(header[16]) << 8) | static_cast<unsigned char>(header[17]);
  const bool page_ok = page == 1 || (page >= 512 && page <= 32768 && (page & (page - 1)) == 0);
  if (!page_ok) {
    return data_loss(path.filename().string() + " is not a valid SQLite database (bad page size in header): " +
                     path.string());
  }
  return Status::ok();
}

}  // namespace

// ---------------------------------------------------------------- Statement

Statement::Statement(Database* db, sqlite3_stmt* stmt, std::string sql) : db_(db), stmt_(stmt), sql_(std::move(sql)) {}

Statement::~Statement() {
  if (stmt_) sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), stmt_(other.stmt_), sql_(std::move(other.sql_)), bind_error_(std::move(other.bind_error_)) {
  other.stmt_ = nullptr;
}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (stmt_) sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = other.stmt_;
    sql_ = std::move(other.sql_);
    bind_error_ = std::move(other.bind_error_);
    other.stmt_ = nullptr;
  }
  return *this;
}

#define KANANA_BIND_CHECK(call)                                                          \
  do {                                                                                   \
    const int rc_ = (call);                                                              \
    if (rc_ != SQLITE_OK && bind_error_.is_ok())                                         \
      bind_error_ = db_->error_status(rc_, "binding parameter " + std::to_string(index)); \
  } while (0)

Statement& Statement::bind(int index, int64_t value) {
  KANANA_BIND_CHECK(sqlite3_bind_int64(stmt_, index, value));
  return *this;
}
Statement& Statement::bind(int index, double value) {
  KANANA_BIND_CHECK(sqlite3_bind_double(stmt_, index, value));
  return *this;
}
Statement& Statement::bind(int index, std::string_view text) {
  KANANA_BIND_CHECK(sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  return *this;
}
Statement& Statement::bind_null(int index) {
  KANANA_BIND_CHECK(sqlite3_bind_null(stmt_, index));
  return *this;
}
#undef KANANA_BIND_CHECK

Result<bool> Statement::step() {
  if (!bind_error_.is_ok()) return bind_error_;
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  // sqlite3_step's return is the specific code since v2 prepare; the message is on the db.
  std::string what = sql_.substr(0, 80);
  return db_->error_status(rc, "running '" + what + (sql_.size() > 80 ? "...'" : "'"));
}

Status Statement::run() {
  while (true) {
    KANANA_ASSIGN_OR_RETURN(bool row, step());
    if (!row) return Status::ok();
  }
}

Status Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_error_ = Status::ok();
  return Status::ok();
}

int Statement::column_count() const { return sqlite3_column_count(stmt_); }
bool Statement::column_is_null(int c) const { return sqlite3_column_type(stmt_, c) == SQLITE_NULL; }
int64_t Statement::column_int(int c) const { return sqlite3_column_int64(stmt_, c); }
double Statement::column_double(int c) const { return sqlite3_column_double(stmt_, c); }
std::string Statement::column_text(int c) const {
  const unsigned char* text = sqlite3_column_text(stmt_, c);
  if (!text) return {};
  return std::string(reinterpret_cast<const char*>(text), sqlite3_column_bytes(stmt_, c));
}
std::optional<int64_t> Statement::column_optional_int(int c) const {
  if (column_is_null(c)) return std::nullopt;
  return column_int(c);
}
std::optional<double> Statement::column_optional_double(int c) const {
  if (column_is_null(c)) return std::nullopt;
  return column_double(c);
}
std::optional<std::string> Statement::column_optional_text(int c) const {
  if (column_is_null(c)) return std::nullopt;
  return column_text(c);
}
std::string Statement::column_name(int c) const {
  const char* name = sqlite3_column_name(stmt_, c);
  return name ? name : "";
}

// ---------------------------------------------------------------- Database

Database::Database(std::filesystem::path path, DatabaseOptions options, sqlite3* db)
    : path_(std::move(path)), options_(options), db_(db) {}

Database::~Database() {
  if (db_) sqlite3_close_v2(db_);
}

Status Database::error_status(int rc, const std::string& what) const {
  std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  if (db_ && sqlite3_errcode(db_) == SQLITE_OK) message = sqlite3_errstr(rc);
  const StatusCode code = code_for(rc);
  std::string text = path_.string() + ": " + what + ": " + message;
  if ((rc & 0xff) == SQLITE_NOTADB) {
    text = path_.filename().string() + " is not a valid SQLite database (" + message + "): " + path_.string();
  } else if (code == StatusCode::kDataLoss) {
    text = path_.filename().string() + " is corrupt (" + message + "): " + path_.string() +
           "; restore it from a backup (migrations leave " + path_.filename().string() + ".bak-v<N>)";
  } else if (code == StatusCode::kPermissionDenied && options_.read_only) {
    text = path_.string() + ": " + what + ": " + message + " (the database was opened read-only)";
  }
  return {code, text};
}

Result<std::unique_ptr<Database>> Database::open(const std::filesystem::path& path, const DatabaseOptions& options) {
  std::error_code ec;
  const bool exists = std::filesystem::exists(path, ec);
  if (!exists && (options.read_only || !options.create)) {
    return not_found(path.string() + ": no such database file");
  }
  if (exists) {
    if (std::filesystem::is_directory(path, ec)) return invalid_argument(path.string() + ": is a folder, not a database file");
    KANANA_RETURN_IF_ERROR(check_header(path));
  }

  int flags = SQLITE_OPEN_URI | SQLITE_OPEN_FULLMUTEX;
  flags |= options.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | (options.create ? SQLITE_OPEN_CREATE : 0));
  sqlite3* raw = nullptr;
  // A URI keeps characters like '?' or '#' in folder names from being read as URI syntax.
  std::string uri = "file:";
  for (char ch : std::filesystem::absolute(path).string()) {
    if (ch == '?' || ch == '#' || ch == '%') {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", static_cast<unsigned char>(ch));
      uri += buf;
    } else {
      uri += ch;
    }
  }
  if (options.read_only && options.immutable) uri += "?immutable=1";
  int rc = sqlite3_open_v2(uri.c_str(), &raw, flags, nullptr);
  std::unique_ptr<Database> db(new Database(path, options, raw));
  if (rc != SQLITE_OK) {
    if ((rc & 0xff) == SQLITE_CANTOPEN) {
      std::filesystem::path folder = path.parent_path().empty() ? "." : path.parent_path();
      if (::access(folder.c_str(), W_OK) != 0 && !options.read_only)
        return permission_denied(path.string() + ": cannot open for writing: folder " + folder.string() +
                                 " is not writable");
    }
    return db->error_status(rc, "opening");
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, options.busy_timeout_ms);

  if (options.quick_check && exists) {
    auto check = db->integrity_check(/*full=*/false);
    if (!check.is_ok()) {
      // A read-only open of a WAL database in a folder we cannot write fails here with
      // CANTOPEN (no -shm file); say so instead of a bare SQLite code.
      return check.status();
    }
    if (*check != "ok") {
      return data_loss(path.filename().string() + " is corrupt (quick_check: " + *check + "): " + path.string());
    }
  }
  if (!options.read_only) {
    auto mode = db->query_text("PRAGMA journal_mode=WAL");
    if (!mode.is_ok()) return mode.status();
    if (*mode != "wal") return unavailable(path.string() + ": could not switch to WAL journal mode (got '" + *mode + "')");
    KANANA_RETURN_IF_ERROR(db->exec("PRAGMA synchronous=NORMAL"));
  }
  KANANA_RETURN_IF_ERROR(db->exec("PRAGMA foreign_keys=ON"));
  return db;
}

Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    std::string head(sql.substr(0, 80));
    return error_status(rc, "preparing '" + head + (sql.size() > 80 ? "...'" : "'"));
  }
  return Statement(this, stmt, std::string(sql));
}

Status Database::exec(std::string_view sql) {
  char* err = nullptr;
  const std::string text(sql);
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (err) sqlite3_free(err);
  if (rc != SQLITE_OK) return error_status(rc, "running '" + text.substr(0, 80) + (text.size() > 80 ? "...'" : "'"));
  return Status::ok();
}

Result<int64_t> Database::query_int(std::string_view sql) {
  KANANA_ASSIGN_OR_RETURN(Statement st, prepare(sql));
  KANANA_ASSIGN_OR_RETURN(bool row, st.step());
  if (!row) return not_found(path_.string() + ": query returned no row: " + std::string(sql));
  return st.column_int(0);
}

Result<std::string> Database::query_text(std::string_view sql) {
  KANANA_ASSIGN_OR_RETURN(Statement st, prepare(sql));
  KANANA_ASSIGN_OR_RETURN(bool row, st.step());
  if (!row) return not_found(path_.string() + ": query returned no row: " + std::string(sql));
  return st.column_text(0);
}

int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
int Database::changes() const { return sqlite3_changes(db_); }

Status Database::begin(bool immediate) { return exec(immediate ? "BEGIN IMMEDIATE" : "BEGIN"); }
Status Database::commit() { return exec("COMMIT"); }
Status Database::rollback() {
  if (sqlite3_get_autocommit(db_)) return Status::ok();  // nothing open (SQLite may have rolled back already)
  return exec("ROLLBACK");
}

Result<int64_t> Database::user_version() { return query_int("PRAGMA user_version"); }
Status Database::set_user_version(int64_t version) {
  return exec("PRAGMA user_version=" + std::to_string(version));
}
Result<std::string> Database::journal_mode() { return query_text("PRAGMA journal_mode"); }

Result<std::string> Database::integrity_check(bool full) {
  KANANA_ASSIGN_OR_RETURN(Statement st, prepare(full ? "PRAGMA integrity_check" : "PRAGMA quick_check"));
  std::string report;
  while (true) {
    KANANA_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) break;
    if (!report.empty()) report += "; ";
    report += st.column_text(0);
  }
  if (report.empty()) report = "ok";
  return report;
}

// ---------------------------------------------------------------- Transaction

Result<std::unique_ptr<Transaction>> Transaction::begin(Database& db) {
  KANANA_RETURN_IF_ERROR(db.begin(true));
  return std::unique_ptr<Transaction>(new Transaction(db));
}

Transaction::~Transaction() {
  if (!done_) (void)db_.rollback();
}

Status Transaction::commit() {
  KANANA_RETURN_IF_ERROR(db_.commit());
  done_ = true;
  return Status::ok();
}

}  // namespace kanana::store
