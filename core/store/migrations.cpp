// Schema migrations of workspace.db. Never edit a released migration: add a new one.
#include "store/migrations.h"

#include <algorithm>
#include <regex>
#include <set>
#include <system_error>

namespace kanana::store {
namespace {

#define KANANA_NOW "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"

// v1: the things a training workbench produces and consumes, and the arrows between them.
const char* kSchemaV1 = R"sql(
CREATE TABLE datasets (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL CHECK (name <> ''),
  kind        TEXT NOT NULL CHECK (kind IN ('corpus', 'filtered', 'shards', 'preferences', 'eval', 'prompts')),
  path        TEXT NOT NULL,
  format      TEXT NOT NULL DEFAULT '',
  doc_count   INTEGER NOT NULL DEFAULT 0 CHECK (doc_count >= 0),
  byte_count  INTEGER NOT NULL DEFAULT 0 CHECK (byte_count >= 0),
  created_at  TEXT NOT NULL DEFAULT )sql" KANANA_NOW R"sql(,
  meta_json   TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(meta_json))
);
CREATE INDEX datasets_kind ON datasets(kind);
CREATE INDEX datasets_path ON datasets(path);

CREATE TABLE tokenizers (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL CHECK (name <> ''),
  kind        TEXT NOT NULL CHECK (kind IN ('sentencepiece', 'hf-bpe')),
  path        TEXT NOT NULL,
  vocab_size  INTEGER NOT NULL DEFAULT 0 CHECK (vocab_size >= 0),
  fingerprint TEXT NOT NULL DEFAULT '',
  created_at  TEXT NOT NULL DEFAULT )sql" KANANA_NOW R"sql(,
  meta_json   TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(meta_json))
);
CREATE INDEX tokenizers_path ON tokenizers(path);
CREATE INDEX tokenizers_fingerprint ON tokenizers(fingerprint);

CREATE TABLE runs (
  id            INTEGER PRIMARY KEY,
  name          TEXT NOT NULL CHECK (name <> ''),
  kind          TEXT NOT NULL CHECK (kind <> ''),
  state         TEXT NOT NULL DEFAULT 'queued'
                CHECK (state IN ('queued', 'running', 'finished', 'failed', 'cancelled')),
  target        TEXT NOT NULL DEFAULT 'local' CHECK (target IN ('local', 'ssh', 'slurm')),
  host          TEXT NOT NULL DEFAULT '',
  run_dir       TEXT NOT NULL DEFAULT '',
  recipe_json   TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(recipe_json)),
  created_at    TEXT NOT NULL DEFAULT )sql" KANANA_NOW R"sql(,
  started_at    TEXT,
  finished_at   TEXT,
  pid           INTEGER,
  remote_job_id TEXT NOT NULL DEFAULT '',
  meta_json     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(meta_json))
);
CREATE INDEX runs_state ON runs(state);
CREATE INDEX runs_kind ON runs(kind);

CREATE TABLE checkpoints (
  id          INTEGER PRIMARY KEY,
  run_id      INTEGER REFERENCES runs(id) ON DELETE SET NULL,
  name        TEXT NOT NULL CHECK (name <> ''),
  path        TEXT NOT NULL,
  step        INTEGER NOT NULL DEFAULT 0 CHECK (step >= 0),
  tokens      INTEGER NOT NULL DEFAULT 0 CHECK (tokens >= 0),
  config_json TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(config_json)),
  created_at  TEXT NOT NULL DEFAULT )sql" KANANA_NOW R"sql(
);
CREATE INDEX checkpoints_run ON checkpoints(run_id, step);
CREATE INDEX checkpoints_path ON checkpoints(path);

-- Polymorphic edges (kind, id) -> (kind, id): no foreign keys, so the Workspace checks that
-- both ends exist and removes a node's edges when it deletes the node.
CREATE TABLE lineage (
  id          INTEGER PRIMARY KEY,
  src_kind    TEXT NOT NULL,
  src_id      INTEGER NOT NULL,
  dst_kind    TEXT NOT NULL,
  dst_id      INTEGER NOT NULL,
  relation    TEXT NOT NULL CHECK (relation <> ''),
  created_at  TEXT NOT NULL DEFAULT )sql" KANANA_NOW R"sql(,
  UNIQUE (src_kind, src_id, dst_kind, dst_id, relation),
  CHECK (NOT (src_kind = dst_kind AND src_id = dst_id))
);
CREATE INDEX lineage_dst ON lineage(dst_kind, dst_id);
)sql";

// v2: annotation (prompt sets → prompts → candidates → judgements), playground
// conversations and evaluation results.
const char* kSchemaV2 = R"sql(
CREATE TABLE prompt_sets (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL CHECK (name <> ''),
  description TEXT NOT NULL DEFAULT '',
  dataset_id  INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
  created_at  TEXT NOT NULL DEFAULT )sql" KANANA_NOW R"sql(
);

CREATE TABLE prompts (
  id            INTEGER PRIMARY KEY,
  prompt_set_id INTEGER NOT NULL REFERENCES prompt_sets(id) ON DELETE CASCADE,
  text          TEXT NOT NULL,
  system        TEXT NOT NULL DEFAULT '',
  lang          TEXT NOT NULL DEFAULT '',
  meta_json     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(meta_json))
);
CREATE INDEX prompts_set ON prompts(prompt_set_id);

CREATE TABLE candidates (
  id            INTEGER PRIMARY KEY,
  prompt_id     INTEGER NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,
  checkpoint_id INTEGER REFERENCES checkpoints(id) ON DELETE SET NULL,
  text          TEXT NOT NULL,
  sampling_json TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(sampling_json)),
  seed          INTEGER,
  created_at    TEXT NOT NULL DEFAULT )sql" KANANA_NOW R"sql(
);
CREATE INDEX candidates_prompt ON candidates(prompt_id);
CREATE INDEX candidates_checkpoint ON candidates(checkpoint_id);

CREATE TABLE judgements (
  id           INTEGER PRIMARY KEY,
  prompt_id    INTEGER NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,
  kind         TEXT NOT NULL CHECK (kind IN ('pairwise', 'tie', 'ranking', 'edit')),
  chosen_id    INTEGER REFERENCES candidates(id) ON DELETE CASCADE,
  rejected_id  INTEGER REFERENCES candidates(id) ON DELETE CASCADE,
  ranking_json TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(ranking_json)),
  edited_text  TEXT NOT NULL DEFAULT '',
  annotator    TEXT NOT NULL DEFAULT '',
  reason       TEXT NOT NULL DEFAULT '',
  created_at   TEXT NOT NULL DEFAULT )sql" KANANA_NOW R"sql(,
  CHECK (kind NOT IN ('pairwise', 'tie') OR
         (chosen_id IS NOT NULL AND rejected_id IS NOT NULL AND chosen_id <> rejected_id)),
  CHECK (kind <> 'edit' OR chosen_id IS NOT NULL)
);
CREATE INDEX judgements_prompt ON judgements(prompt_id);
CREATE INDEX judgements_chosen ON judgements(chosen_id);
CREATE INDEX judgements_rejected ON judgements(rejected_id);

CREATE TABLE conversations (
  id            INTEGER PRIMARY KEY,
  title         TEXT NOT NULL DEFAULT '',
  mode          TEXT NOT NULL DEFAULT 'chat' CHECK (mode IN ('chat', 'rag', 'tools')),
  checkpoint_id INTEGER REFERENCES checkpoints(id) ON DELETE SET NULL,
  messages_json TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(messages_json)),
  created_at    TEXT NOT NULL DEFAULT )sql" KANANA_NOW R"sql(,
  updated_at    TEXT NOT NULL DEFAULT )sql" KANANA_NOW R"sql(,
  meta_json     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(meta_json))
);
CREATE INDEX conversations_updated ON conversations(updated_at);

CREATE TABLE eval_results (
  id            INTEGER PRIMARY KEY,
  run_id        INTEGER REFERENCES runs(id) ON DELETE CASCADE,
  checkpoint_id INTEGER REFERENCES checkpoints(id) ON DELETE CASCADE,
  task          TEXT NOT NULL CHECK (task <> ''),
  metric        TEXT NOT NULL CHECK (metric <> ''),
  value         REAL NOT NULL,
  stderr        REAL,
  n             INTEGER NOT NULL DEFAULT 0 CHECK (n >= 0),
  created_at    TEXT NOT NULL DEFAULT )sql" KANANA_NOW R"sql(,
  CHECK (run_id IS NOT NULL OR checkpoint_id IS NOT NULL)
);
CREATE INDEX eval_results_checkpoint ON eval_results(checkpoint_id, task);
CREATE INDEX eval_results_run ON eval_results(run_id, task);
)sql";

// v3: the annotation workflow (core/prefs). Judgements get a content key so importing the
// same pairs twice adds nothing, and a meta object for what an imported line carried beyond
// the pair; candidates get a meta object (reply messages, a model that is not a registered
// checkpoint); a prompt can continue a candidate (multi-turn branches). Undo moves a
// judgement into judgement_undo_log, so the judgements table only ever holds live labels
// and nothing an annotator did is lost.
const char* kSchemaV3 = R"sql(
ALTER TABLE prompts ADD COLUMN parent_candidate_id INTEGER REFERENCES candidates(id) ON DELETE SET NULL;
CREATE INDEX prompts_parent ON prompts(parent_candidate_id);

ALTER TABLE candidates ADD COLUMN meta_json TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(meta_json));

ALTER TABLE judgements ADD COLUMN meta_json TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(meta_json));
ALTER TABLE judgements ADD COLUMN pair_key TEXT;
CREATE UNIQUE INDEX judgements_pair_key ON judgements(pair_key) WHERE pair_key IS NOT NULL;
CREATE INDEX judgements_annotator ON judgements(annotator, id);

CREATE TABLE judgement_undo_log (
  id           INTEGER PRIMARY KEY,
  judgement_id INTEGER NOT NULL,  -- the id it had; not a foreign key, the row is gone
  prompt_id    INTEGER REFERENCES prompts(id) ON DELETE CASCADE,
  annotator    TEXT NOT NULL DEFAULT '',
  row_json     TEXT NOT NULL CHECK (json_valid(row_json)),  -- every column of the undone row
  undone_at    TEXT NOT NULL DEFAULT )sql" KANANA_NOW R"sql(
);
CREATE INDEX judgement_undo_log_annotator ON judgement_undo_log(annotator, id);
)sql";

#undef KANANA_NOW

}  // namespace

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> list = {
      {1, "datasets, tokenizers, runs, checkpoints, lineage", kSchemaV1},
      {2, "prompt sets, prompts, candidates, judgements, conversations, eval results", kSchemaV2},
      {3, "annotation: judgement keys and meta, candidate meta, prompt branches, undo log", kSchemaV3},
  };
  return list;
}

int64_t latest_schema_version() { return migrations().back().version; }

Status check_schema_tables(Database& db, int64_t version, const std::filesystem::path& db_path) {
  std::error_code ec;
  std::filesystem::path wal = db_path;
  wal += "-wal";
  std::error_code wal_ec;
  const bool wal_has_data = std::filesystem::file_size(wal, wal_ec) > 0 && !wal_ec;
  if (std::filesystem::file_size(db_path, ec) == 0 && !ec && !wal_has_data)
    return data_loss(db_path.string() + " is empty (0 bytes): the workspace database was truncated or never written; "
                                        "restore it from a backup (" + db_path.filename().string() + ".bak-v*) or create a new workspace");
  std::set<std::string> present;
  KANANA_ASSIGN_OR_RETURN(Statement tables, db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'"));
  while (true) {
    KANANA_ASSIGN_OR_RETURN(bool row, tables.step());
    if (!row) break;
    present.insert(tables.column_text(0));
  }
  static const std::regex kCreate(R"(CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([A-Za-z_][A-Za-z0-9_]*))");
  static const std::regex kDrop(R"(DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?([A-Za-z_][A-Za-z0-9_]*))");
  std::vector<std::string> expected;
  for (const Migration& m : migrations()) {
    if (m.version > version) break;
    for (std::sregex_iterator it(m.sql.begin(), m.sql.end(), kCreate), end; it != end; ++it) expected.push_back((*it)[1]);
    for (std::sregex_iterator it(m.sql.begin(), m.sql.end(), kDrop), end; it != end; ++it)
      expected.erase(std::remove(expected.begin(), expected.end(), (*it)[1].str()), expected.end());
  }
  for (const auto& table : expected) {
    if (!present.count(table))
      return data_loss(db_path.string() + ": table '" + table + "' of schema version " + std::to_string(version) +
                       " is missing (the database was damaged or edited); restore it from a backup");
  }
  return Status::ok();
}

Status check_schema_version(int64_t found, const std::filesystem::path& db_path) {
  if (found < 0) return data_loss(db_path.string() + ": negative schema version " + std::to_string(found));
  if (found > latest_schema_version()) {
    return failed_precondition(db_path.filename().string() + " has schema version " + std::to_string(found) +
                               " but this build knows up to " + std::to_string(latest_schema_version()) +
                               "; upgrade Kanana Workbench (" + db_path.string() + " was left untouched)");
  }
  return Status::ok();
}

Result<MigrationReport> migrate(Database& db, int64_t target) {
  if (target < 0) target = latest_schema_version();
  if (db.read_only()) return permission_denied(db.path().string() + ": cannot migrate a database opened read-only");
  KANANA_ASSIGN_OR_RETURN(const int64_t from, db.user_version());
  KANANA_RETURN_IF_ERROR(check_schema_version(from, db.path()));
  MigrationReport report{from, from, {}};
  if (from >= target) return report;

  if (from > 0) {
    // VACUUM INTO writes a consistent copy (WAL content included) without touching the source.
    report.backup = db.path();
    report.backup += ".bak-v" + std::to_string(from);
    std::error_code ec;
    std::filesystem::remove(report.backup, ec);  // a backup of the same version from an earlier, failed attempt
    KANANA_ASSIGN_OR_RETURN(Statement vacuum, db.prepare("VACUUM INTO ?1"));
    vacuum.bind(1, report.backup.string());
    Status backed_up = vacuum.run();
    if (!backed_up.is_ok()) return backed_up.with_context("backing up before migrating to schema " + std::to_string(target));
  }

  for (const Migration& m : migrations()) {
    if (m.version <= report.to_version || m.version > target) continue;
    auto tx = Transaction::begin(db);
    if (!tx.is_ok()) return tx.status();
    const std::string what = "migrating " + db.path().string() + " to schema " + std::to_string(m.version) + " (" +
                             m.description + ")";
    Status s = db.exec(m.sql);
    if (s.is_ok()) s = db.set_user_version(m.version);
    if (s.is_ok()) {
      auto violations = db.query_int("SELECT count(*) FROM pragma_foreign_key_check");
      if (!violations.is_ok()) s = violations.status();
      else if (*violations > 0) s = failed_precondition(std::to_string(*violations) + " foreign key violations");
    }
    if (s.is_ok()) s = (*tx)->commit();
    if (!s.is_ok()) return s.with_context(what);
    report.to_version = m.version;
  }
  return report;
}

}  // namespace kanana::store
