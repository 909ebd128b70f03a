// The workspace schema as an ordered list of migrations. PRAGMA user_version holds the
// version a database is at; each pending migration runs in its own transaction, and a
// database written by a newer build is refused without being touched.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "base/status.h"
#include "store/database.h"

namespace kanana::store {

struct Migration {
  int64_t version;          // 1, 2, ... in order; user_version after it ran
  std::string description;  // shown in logs and `kanana workspace info`
  std::string sql;          // one or more statements
};

const std::vector<Migration>& migrations();
int64_t latest_schema_version();

// kFailedPrecondition when the database's schema is newer than this build knows.
Status check_schema_version(int64_t found, const std::filesystem::path& db_path);

// kDataLoss naming the first missing table when `db` (at schema `version`) lacks a table its
// migrations created: a dropped table would otherwise pass every check and fail later, or be
// "repaired" by writes that silently lose the rest of the data's links. A 0-byte file (a
// truncated database, which SQLite would take for a new empty one) is refused the same way.
Status check_schema_tables(Database& db, int64_t version, const std::filesystem::path& db_path);

struct MigrationReport {
  int64_t from_version = 0;
  int64_t to_version = 0;
  std::filesystem::path backup;  // empty when no backup was needed (new database, nothing pending)
};

// Bring `db` to `target` (default: latest). A database that already holds a schema
// (user_version > 0) is first copied to "<db>.bak-v<N>" with VACUUM INTO. Each migration
// runs in one IMMEDIATE transaction together with its user_version bump and a
// foreign_key_check, so a failure leaves the database at the last good version.
Result<MigrationReport> migrate(Database& db, int64_t target = -1);

}  // namespace kanana::store
