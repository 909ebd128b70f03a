// Workspace lifecycle (create / open / migrate, manifest, read-only and permission checks),
// run states and lineage walks. Plain record CRUD lives in workspace_records.cpp.
#include "store/workspace.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <system_error>

#include "base/json.h"
#include "store/migrations.h"

namespace kanana::store {
namespace {

namespace fs = std::filesystem;

std::string utc_now_iso() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool is_permission_errno(int e) { return e == EACCES || e == EPERM || e == EROFS; }

Status folder_error(const fs::path& dir, const std::error_code& ec, const std::string& action) {
  if (is_permission_errno(ec.value()))
    return permission_denied("cannot " + action + " workspace folder " + dir.string() + ": " + ec.message());
  return unavailable("cannot " + action + " workspace folder " + dir.string() + ": " + ec.message());
}

// access(W_OK) is the honest question for the current user (root passes it everywhere,
// which is also what the kernel will do when we write).
Status check_folder_writable(const fs::path& dir) {
  if (::access(dir.c_str(), W_OK) != 0) {
    const int e = errno;
    return permission_denied("workspace folder " + dir.string() + " is not writable (" + std::strerror(e) +
                             "); open it read-only or fix its permissions");
  }
  return Status::ok();
}

}  // namespace

const char* run_state_name(RunState state) {
  switch (state) {
    case RunState::kQueued: return "queued";
    case RunState::kRunning: return "running";
    case RunState::kFinished: return "finished";
    case RunState::kFailed: return "failed";
    case RunState::kCancelled: return "cancelled";
  }
  return "unknown";
}

Result<RunState> parse_run_state(const std::string& name) {
  for (RunState s : {RunState::kQueued, RunState::kRunning, RunState::kFinished, RunState::kFailed, RunState::kCancelled})
    if (name == run_state_name(s)) return s;
  return invalid_argument("unknown run state '" + name + "' (expected queued, running, finished, failed or cancelled)");
}

bool run_state_transition_allowed(RunState from, RunState to) {
  switch (from) {
    case RunState::kQueued:
      return to == RunState::kRunning || to == RunState::kFailed || to == RunState::kCancelled;
    case RunState::kRunning:
      return to == RunState::kFinished || to == RunState::kFailed || to == RunState::kCancelled;
    default:
      return false;
  }
}

bool is_lineage_kind(const std::string& kind) {
  for (const char* k : {"dataset", "tokenizer", "run", "checkpoint", "prompt_set", "prompt", "candidate", "judgement",
                        "conversation", "eval_result"})
    if (kind == k) return true;
  return false;
}

// ---------------------------------------------------------------- lifecycle

Workspace::Workspace(fs::path root, std::string name, std::unique_ptr<Database> db, bool read_only)
    : root_(std::move(root)), name_(std::move(name)), db_(std::move(db)), read_only_(read_only) {}

Workspace::~Workspace() = default;

bool Workspace::exists(const fs::path& dir) {
  std::error_code ec;
  return fs::exists(dir / kWorkspaceManifestName, ec) || fs::exists(dir / kWorkspaceDbName, ec);
}

Result<std::unique_ptr<Workspace>> Workspace::create(const fs::path& dir_in, const std::string& name_in) {
  if (dir_in.empty()) return invalid_argument("workspace folder is empty");
  std::error_code ec;
  const fs::path dir = fs::absolute(dir_in, ec).lexically_normal();
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    return failed_precondition("cannot create a workspace at " + dir.string() + ": it exists and is not a folder");
  if (exists(dir)) return already_exists("a workspace already exists at " + dir.string());
  fs::create_directories(dir, ec);
  if (ec) return folder_error(dir, ec, "create");
  KANANA_RETURN_IF_ERROR(check_folder_writable(dir));

  std::string name = name_in.empty() ? dir.filename().string() : name_in;
  if (name.empty()) name = "workspace";
  for (const char* sub : {"data", "runs", "models", "tokenizers", "cache"}) {
    fs::create_directories(dir / sub, ec);
    if (ec) return folder_error(dir / sub, ec, "create");
  }

  DatabaseOptions options;
  options.create = true;
  KANANA_ASSIGN_OR_RETURN(auto db, Database::open(dir / kWorkspaceDbName, options));
  KANANA_ASSIGN_OR_RETURN(auto report, migrate(*db));
  (void)report;

  Json manifest = {{"format", "kanana-workspace"},
                   {"format_version", kWorkspaceFormatVersion},
                   {"name", name},
                   {"created_at", utc_now_iso()}};
  Status written = write_json_file(dir / kWorkspaceManifestName, manifest);
  if (!written.is_ok()) return written.with_context("creating workspace " + dir.string());
  return std::unique_ptr<Workspace>(new Workspace(dir, name, std::move(db), false));
}

Result<std::unique_ptr<Workspace>> Workspace::open(const fs::path& dir_in, OpenMode mode) {
  std::error_code ec;
  const fs::path dir = fs::absolute(dir_in, ec).lexically_normal();
  if (!fs::is_directory(dir, ec)) return not_found("no workspace folder at " + dir.string());
  const fs::path db_path = dir / kWorkspaceDbName;
  if (!fs::exists(db_path, ec))
    return not_found(dir.string() + " is not a workspace (no " + std::string(kWorkspaceDbName) + ")");

  std::string name = dir.filename().string();
  const fs::path manifest_path = dir / kWorkspaceManifestName;
  if (fs::exists(manifest_path, ec)) {
    auto manifest = read_json_file(manifest_path);
    if (!manifest.is_ok()) return data_loss(manifest.status().message());
    if (!manifest->is_object()) return data_loss(manifest_path.string() + ": expected a JSON object");
    JsonReader reader(*manifest, manifest_path.string());
    Status field;
    const int64_t format_version = reader.get_int_or("format_version", 1, &field);
    if (field.is_ok()) name = reader.get_string_or("name", name, &field);
    if (!field.is_ok()) return data_loss(field.message());
    if (format_version > kWorkspaceFormatVersion)
      return failed_precondition(manifest_path.string() + " has format version " + std::to_string(format_version) +
                                 " but this build knows up to " + std::to_string(kWorkspaceFormatVersion) +
                                 "; upgrade Kanana Workbench");
  }

  // Probe read-only first: a corrupt file or a newer schema is refused before anything
  // (even the switch to WAL) could write to it.
  // With no -wal or -journal file, no connection has the database open and the main file
  // is complete: probe it immutable, so even SQLite's -wal/-shm side files are not created
  // for a database we are about to refuse.
  DatabaseOptions probe_options;
  probe_options.read_only = true;
  probe_options.immutable = !fs::exists(dir / (std::string(kWorkspaceDbName) + "-wal"), ec) &&
                            !fs::exists(dir / (std::string(kWorkspaceDbName) + "-journal"), ec);
  KANANA_ASSIGN_OR_RETURN(auto probe, Database::open(db_path, probe_options));
  KANANA_ASSIGN_OR_RETURN(const int64_t version, probe->user_version());
  KANANA_RETURN_IF_ERROR(check_schema_version(version, db_path));
  KANANA_RETURN_IF_ERROR(check_schema_tables(*probe, version, db_path));
  probe.reset();

  if (mode.read_only) {
    if (version < latest_schema_version())
      return failed_precondition(db_path.string() + " has schema version " + std::to_string(version) +
                                 " and needs migrating to " + std::to_string(latest_schema_version()) +
                                 "; open it once read-write first");
    // A normal read-only connection sees what other connections commit from now on.
    DatabaseOptions ro_options;
    ro_options.read_only = true;
    ro_options.quick_check = false;  // the probe just ran it
    KANANA_ASSIGN_OR_RETURN(auto ro, Database::open(db_path, ro_options));
    return std::unique_ptr<Workspace>(new Workspace(dir, name, std::move(ro), true));
  }

  KANANA_RETURN_IF_ERROR(check_folder_writable(dir));
  if (::access(db_path.c_str(), W_OK) != 0)
    return permission_denied(db_path.string() + " is not writable; open the workspace read-only or fix its permissions");
  DatabaseOptions options;
  options.quick_check = false;  // the probe just ran it
  KANANA_ASSIGN_OR_RETURN(auto db, Database::open(db_path, options));
  KANANA_ASSIGN_OR_RETURN(auto report, migrate(*db));
  (void)report;
  for (const char* sub : {"data", "runs", "models", "tokenizers", "cache"}) fs::create_directories(dir / sub, ec);
  return std::unique_ptr<Workspace>(new Workspace(dir, name, std::move(db), false));
}

Result<std::unique_ptr<Workspace>> Workspace::open_or_create(const fs::path& dir, const std::string& name) {
  if (exists(dir)) return open(dir);
  return create(dir, name);
}

fs::path Workspace::resolve(const std::string& stored_path) const {
  fs::path p(stored_path);
  return p.is_absolute() ? p : root_ / p;
}

Status Workspace::check_writable() const {
  if (read_only_)
    return permission_denied(db_path().string() + ": the workspace was opened read-only; reopen it read-write to change it");
  return Status::ok();
}

Result<WorkspaceInfo> Workspace::info() {
  WorkspaceInfo info;
  info.name = name_;
  info.format_version = kWorkspaceFormatVersion;
  auto manifest = read_json_file(manifest_path());
  if (manifest.is_ok() && manifest->is_object()) {
    info.created_at = manifest->value("created_at", "");
    if (manifest->contains("format_version") && (*manifest)["format_version"].is_number_integer())
      info.format_version = (*manifest)["format_version"].get<int>();
  }
  KANANA_ASSIGN_OR_RETURN(info.schema_version, db_->user_version());
  KANANA_ASSIGN_OR_RETURN(info.journal_mode, db_->journal_mode());
  KANANA_ASSIGN_OR_RETURN(Statement tables,
                          db_->prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                                       "ORDER BY name"));
  std::vector<std::string> names;
  while (true) {
    KANANA_ASSIGN_OR_RETURN(bool row, tables.step());
    if (!row) break;
    names.push_back(tables.column_text(0));
  }
  for (const std::string& table : names) {
    // Table names come from sqlite_schema itself; quoting guards odd names.
    KANANA_ASSIGN_OR_RETURN(info.table_counts[table], db_->query_int("SELECT count(*) FROM \"" + table + "\""));
  }
  return info;
}

// ---------------------------------------------------------------- runs

Status Workspace::update_run_state(int64_t id, RunState state) {
  KANANA_RETURN_IF_ERROR(check_writable());
  KANANA_ASSIGN_OR_RETURN(auto tx, Transaction::begin(*db_));
  KANANA_ASSIGN_OR_RETURN(RunRecord run, get_run(id));
  if (!run_state_transition_allowed(run.state, state))
    return failed_precondition("run " + std::to_string(id) + " ('" + run.name + "') cannot go from " +
                               run_state_name(run.state) + " to " + run_state_name(state));
  const char* sql =
      state == RunState::kRunning
          ? "UPDATE runs SET state = ?2, started_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1"
          : "UPDATE runs SET state = ?2, finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1";
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare(sql));
  st.bind(1, id).bind(2, run_state_name(state));
  KANANA_RETURN_IF_ERROR(st.run());
  return tx->commit();
}

// ---------------------------------------------------------------- lineage

Status Workspace::check_node_exists(const NodeRef& node) {
  if (!is_lineage_kind(node.kind))
    return invalid_argument("unknown lineage kind '" + node.kind +
                            "' (expected dataset, tokenizer, run, checkpoint, prompt_set, prompt, candidate, "
                            "judgement, conversation or eval_result)");
  const std::string table = node.kind == "eval_result" ? "eval_results" : node.kind + "s";
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare("SELECT 1 FROM " + table + " WHERE id = ?1"));
  st.bind(1, node.id);
  KANANA_ASSIGN_OR_RETURN(bool row, st.step());
  if (!row) return not_found(node.kind + " " + std::to_string(node.id) + " does not exist in " + db_path().string());
  return Status::ok();
}

Result<int64_t> Workspace::add_lineage(const NodeRef& src, const NodeRef& dst, const std::string& relation) {
  KANANA_RETURN_IF_ERROR(check_writable());
  if (relation.empty()) return invalid_argument("lineage relation is empty");
  if (src == dst) return invalid_argument("lineage edge from " + src.kind + " " + std::to_string(src.id) + " to itself");
  KANANA_RETURN_IF_ERROR(check_node_exists(src));
  KANANA_RETURN_IF_ERROR(check_node_exists(dst));
  KANANA_ASSIGN_OR_RETURN(Statement ins, db_->prepare(
      "INSERT INTO lineage (src_kind, src_id, dst_kind, dst_id, relation) VALUES (?1, ?2, ?3, ?4, ?5) "
      "ON CONFLICT DO NOTHING"));
  ins.bind(1, src.kind).bind(2, src.id).bind(3, dst.kind).bind(4, dst.id).bind(5, relation);
  KANANA_RETURN_IF_ERROR(ins.run());
  KANANA_ASSIGN_OR_RETURN(Statement sel, db_->prepare(
      "SELECT id FROM lineage WHERE src_kind = ?1 AND src_id = ?2 AND dst_kind = ?3 AND dst_id = ?4 AND relation = ?5"));
  sel.bind(1, src.kind).bind(2, src.id).bind(3, dst.kind).bind(4, dst.id).bind(5, relation);
  KANANA_ASSIGN_OR_RETURN(bool row, sel.step());
  if (!row) return internal_error("lineage edge vanished after insert");
  return sel.column_int(0);
}

Result<std::vector<LineageEdge>> Workspace::lineage_edges(const NodeRef& node) {
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare(
      "SELECT id, src_kind, src_id, dst_kind, dst_id, relation, created_at FROM lineage "
      "WHERE (src_kind = ?1 AND src_id = ?2) OR (dst_kind = ?1 AND dst_id = ?2) ORDER BY id"));
  st.bind(1, node.kind).bind(2, node.id);
  std::vector<LineageEdge> edges;
  while (true) {
    KANANA_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) break;
    edges.push_back({st.column_int(0), {st.column_text(1), st.column_int(2)}, {st.column_text(3), st.column_int(4)},
                     st.column_text(5), st.column_text(6)});
  }
  return edges;
}

Result<std::vector<LineageNode>> Workspace::lineage_walk(const NodeRef& node, int max_depth, bool upstream) {
  // `near` is the side of an edge closer to the start node, `far` the side the walk reaches.
  const std::string near = upstream ? "dst" : "src";
  const std::string far = upstream ? "src" : "dst";
  // UNION (not UNION ALL) drops repeated (node, depth, via) rows and the depth bound stops
  // cycles; min(depth) picks, per node, the row of its shortest path (SQLite's bare columns).
  const std::string sql =
      "WITH RECURSIVE walk(kind, id, depth, relation, via_kind, via_id) AS ("
      " SELECT " + far + "_kind, " + far + "_id, 1, relation, " + near + "_kind, " + near + "_id FROM lineage"
      "  WHERE " + near + "_kind = ?1 AND " + near + "_id = ?2"
      " UNION"
      " SELECT l." + far + "_kind, l." + far + "_id, w.depth + 1, l.relation, l." + near + "_kind, l." + near + "_id"
      "  FROM lineage l JOIN walk w ON l." + near + "_kind = w.kind AND l." + near + "_id = w.id"
      "  WHERE w.depth < ?3)"
      " SELECT kind, id, min(depth), relation, via_kind, via_id FROM walk"
      " WHERE NOT (kind = ?1 AND id = ?2) GROUP BY kind, id ORDER BY min(depth), kind, id";
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare(sql));
  st.bind(1, node.kind).bind(2, node.id).bind(3, int64_t(std::max(1, max_depth)));
  std::vector<LineageNode> nodes;
  while (true) {
    KANANA_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) break;
    nodes.push_back({{st.column_text(0), st.column_int(1)}, static_cast<int>(st.column_int(2)), st.column_text(3),
                     {st.column_text(4), st.column_int(5)}});
  }
  return nodes;
}

Result<std::vector<LineageNode>> Workspace::lineage_upstream(const NodeRef& node, int max_depth) {
  return lineage_walk(node, max_depth, true);
}

Result<std::vector<LineageNode>> Workspace::lineage_downstream(const NodeRef& node, int max_depth) {
  return lineage_walk(node, max_depth, false);
}

}  // namespace kanana::store
