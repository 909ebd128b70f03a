// `kanana workspace ...`: create, inspect, check and walk the lineage of a workspace, and
// set up the first-start demo workspace from the data cache.
#include <cstdio>

#include "cli/registry.h"
#include "cli/workspace_args.h"
#include "store/demo_workspace.h"
#include "store/migrations.h"
#include "store/workspace.h"

namespace kanana::cli {
namespace {

using store::Workspace;

// DIR given as an argument is opened as is (its own "no workspace folder" errors); without
// one, the workspace convention of workspace_args.h picks it.
Result<std::unique_ptr<Workspace>> open_given_workspace(const Args& args, const store::OpenMode& mode) {
  if (!args.positional().empty()) return Workspace::open(args.positional()[0], mode);
  return open_workspace(args, mode);
}

void print_lineage(Workspace& ws, const char* direction, const store::NodeRef& start,
                   const std::vector<store::LineageNode>& nodes) {
  std::printf("%s of %s %lld: %zu\n", direction, start.kind.c_str(), static_cast<long long>(start.id), nodes.size());
  const bool up = direction[0] == 'u';
  for (const auto& n : nodes) {
    // Print each edge in data-flow order: src --relation--> dst.
    const store::NodeRef& src = up ? n.node : n.via;
    const store::NodeRef& dst = up ? n.via : n.node;
    std::printf("  depth %d  %s  (%s %lld --%s--> %s %lld)\n", n.depth, describe_node(ws, n.node).c_str(),
                src.kind.c_str(), static_cast<long long>(src.id),
                n.relation.c_str(), dst.kind.c_str(), static_cast<long long>(dst.id));
  }
}

}  // namespace

KANANA_COMMAND(workspace_init) {
  return {.path = "workspace init",
          .summary = "create a workspace folder (SQLite database, data/runs/models folders)",
          .description = "Creates DIR (if missing) with workspace.json, workspace.db (WAL, latest schema) and\n"
                         "the data/, runs/, models/, tokenizers/ and cache/ folders. Fails if DIR already\n"
                         "holds a workspace.",
          .options = {{.name = "name", .value_name = "NAME", .help = "workspace name (default: the folder name)"}},
          .positional = {"DIR", 1, 1},
          .run = [](const Args& args, Context&) -> int {
            auto ws = Workspace::create(args.positional()[0], args.get("name"));
            if (!ws.is_ok()) return report_error(ws.status());
            std::printf("created workspace '%s' at %s (schema version %lld)\n", (*ws)->name().c_str(),
                        (*ws)->root().c_str(), static_cast<long long>(store::latest_schema_version()));
            return kExitOk;
          }};
}

KANANA_COMMAND(workspace_info) {
  return {.path = "workspace info",
          .summary = "print a workspace's schema version, paths and row counts per table",
          .description = "Opens the workspace read-only: nothing is migrated or written. The workspace is DIR,\n"
                         "else --workspace / KANANA_WORKSPACE, else the current folder if it is one, else\n"
                         "the demo workspace.",
          .options = {workspace_option()},
          .positional = {"DIR", 0, 1},
          .run = [](const Args& args, Context&) -> int {
            auto ws = open_given_workspace(args, {.read_only = true});
            if (!ws.is_ok()) return report_error(ws.status());
            auto info = (*ws)->info();
            if (!info.is_ok()) return report_error(info.status());
            Workspace& w = **ws;
            std::printf("workspace: %s\n", info->name.c_str());
            std::printf("root: %s\n", w.root().c_str());
            std::printf("database: %s\n", w.db_path().c_str());
            std::printf("schema version: %lld (this build: %lld)\n", static_cast<long long>(info->schema_version),
                        static_cast<long long>(store::latest_schema_version()));
            std::printf("format version: %d\n", info->format_version);
            std::printf("journal mode: %s\n", info->journal_mode.c_str());
            if (!info->created_at.empty()) std::printf("created: %s\n", info->created_at.c_str());
            std::printf("data: %s\nruns: %s\nmodels: %s\ntokenizers: %s\ncache: %s\n", w.data_dir().c_str(),
                        w.runs_dir().c_str(), w.models_dir().c_str(), w.tokenizers_dir().c_str(), w.cache_dir().c_str());
            std::printf("tables:\n");
            for (const auto& [table, count] : info->table_counts)
              std::printf("  %-14s %lld\n", table.c_str(), static_cast<long long>(count));
            return kExitOk;
          }};
}

KANANA_COMMAND(workspace_check) {
  return {.path = "workspace check",
          .summary = "run SQLite's full integrity check and a foreign key check on a workspace",
          .description = "Opens workspace.db read-only without the quick check on open, so the full list\n"
                         "of problems is printed even for a damaged database.",
          .options = {workspace_option()},
          .positional = {"DIR", 0, 1},
          .run = [](const Args& args, Context&) -> int {
            auto chosen = choose_workspace(args, args.positional().empty() ? "" : args.positional()[0]);
            if (!chosen.is_ok()) return report_error(chosen.status());
            std::fprintf(stderr, "workspace: %s (%s)\n", chosen->dir.c_str(), chosen->source.c_str());
            const std::filesystem::path db_path = chosen->dir / store::kWorkspaceDbName;
            auto opened = store::Database::open(db_path, {.read_only = true, .quick_check = false});
            if (!opened.is_ok()) return report_error(opened.status());
            store::Database& db = **opened;
            auto version = db.user_version();
            if (!version.is_ok()) return report_error(version.status());
            std::printf("schema version: %lld (this build: %lld)\n", static_cast<long long>(*version),
                        static_cast<long long>(store::latest_schema_version()));
            if (*version > store::latest_schema_version())
              std::printf("note: the schema is newer than this build; only the SQLite structure is checked\n");
            else if (Status tables = store::check_schema_tables(db, *version, db_path); !tables.is_ok())
              return report_error(tables);
            auto integrity = db.integrity_check(/*full=*/true);
            if (!integrity.is_ok()) return report_error(integrity.status());
            auto fk = db.query_int("SELECT count(*) FROM pragma_foreign_key_check");
            if (!fk.is_ok()) return report_error(fk.status());
            std::printf("integrity: %s\nforeign key violations: %lld\n", integrity->c_str(), static_cast<long long>(*fk));
            if (*integrity != "ok" || *fk != 0) {
              std::fprintf(stderr, "error: %s has problems (see above)\n", db.path().c_str());
              return kExitFailure;
            }
            return kExitOk;
          }};
}

KANANA_COMMAND(workspace_lineage) {
  return {.path = "workspace lineage",
          .summary = "print what a dataset/run/checkpoint/... came from and what was made from it",
          .description = "The node is --kind and --id, or --node: KIND:ID or the path of a recorded dataset,\n"
                         "tokenizer or checkpoint (e.g. a checkpoint folder).",
          .options = {{.name = "kind", .value_name = "KIND", .help = "node kind: dataset, tokenizer, run, checkpoint, prompt_set, prompt, candidate, judgement, conversation, eval_result"},
                      {.name = "id", .value_name = "N", .help = "node id"},
                      {.name = "node", .value_name = "NODE", .help = "KIND:ID or a recorded path (instead of --kind/--id)"},
                      {.name = "depth", .value_name = "D", .help = "at most this many edges away", .default_value = "64"},
                      {.name = "direction", .value_name = "DIR", .help = "up, down or both", .default_value = "both"},
                      workspace_option()},
          .positional = {"DIR", 0, 1},
          .run = [](const Args& args, Context&) -> int {
            const bool by_node = !args.get("node").empty();
            if (by_node == (args.has("kind") || args.has("id")))
              return report_error(invalid_argument("give --node, or --kind and --id"), true);
            const std::string kind = by_node ? "dataset" : args.get("kind");
            if (!by_node && !args.has("id")) return report_error(invalid_argument("missing required option --id"), true);
            if (!store::is_lineage_kind(kind))
              return report_error(invalid_argument("--kind: unknown kind '" + kind + "' (expected dataset, tokenizer, run, checkpoint, prompt_set, prompt, candidate, judgement, conversation or eval_result)"), true);
            auto id = by_node ? Result<int64_t>(int64_t{0}) : args.get_int("id");
            if (!id.is_ok()) return report_error(id.status(), true);
            auto depth = args.get_int("depth");
            if (!depth.is_ok()) return report_error(depth.status(), true);
            if (*depth < 1) return report_error(invalid_argument("--depth must be at least 1"), true);
            const std::string direction = args.get("direction");
            if (direction != "up" && direction != "down" && direction != "both")
              return report_error(invalid_argument("--direction must be up, down or both, not '" + direction + "'"), true);

            auto ws = open_given_workspace(args, {.read_only = true});
            if (!ws.is_ok()) return report_error(ws.status());
            store::NodeRef node{kind, *id};
            if (by_node) {
              auto found = find_workspace_node(**ws, args.get("node"));
              if (!found.is_ok()) return report_error(found.status());
              node = *found;
            }
            const int max_depth = static_cast<int>(std::min<int64_t>(*depth, 1 << 20));
            if (direction != "down") {
              auto up = (*ws)->lineage_upstream(node, max_depth);
              if (!up.is_ok()) return report_error(up.status());
              print_lineage(**ws, "upstream", node, *up);
            }
            if (direction != "up") {
              auto down = (*ws)->lineage_downstream(node, max_depth);
              if (!down.is_ok()) return report_error(down.status());
              print_lineage(**ws, "downstream", node, *down);
            }
            return kExitOk;
          }};
}

KANANA_COMMAND(workspace_demo) {
  return {.path = "workspace demo",
          .summary = "create or refresh the demo workspace from the data cache",
          .description = "Registers the corpora, tokenizers and checkpoints found in the data cache\n"
                         "(idempotent). The GUI does the same on first start.",
          .options = {{.name = "dir", .value_name = "DIR", .help = "workspace folder", .env = "KANANA_DEMO_WORKSPACE"},
                      {.name = "data-cache", .value_name = "DIR", .help = "demo data cache", .env = "KANANA_DATA_CACHE"}},
          .run = [](const Args& args, Context&) -> int {
            const std::filesystem::path dir = args.get("dir").empty() ? store::default_demo_workspace_dir() : std::filesystem::path(args.get("dir"));
            const std::filesystem::path cache = args.get("data-cache").empty() ? store::default_data_cache() : std::filesystem::path(args.get("data-cache"));
            store::DemoScan scan;
            auto root = store::ensure_demo_workspace(dir, cache, &scan);
            if (!root.is_ok()) return report_error(root.status());
            std::printf("%s demo workspace at %s (data cache %s)\n", scan.created ? "created" : "refreshed",
                        root->c_str(), cache.c_str());
            for (const auto& a : scan.added) std::printf("  added %s\n", a.c_str());
            for (const auto& s : scan.skipped) std::printf("  skipped: %s\n", s.c_str());
            if (scan.added.empty()) std::printf("  nothing new to register\n");
            return kExitOk;
          }};
}

}  // namespace kanana::cli
