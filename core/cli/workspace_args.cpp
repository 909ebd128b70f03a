#include "cli/workspace_args.h"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "store/demo_workspace.h"
#include "store/workspace.h"

namespace kanana::cli {

namespace fs = std::filesystem;

namespace {
constexpr const char* kEnv = "KANANA_WORKSPACE";
}

OptionSpec workspace_option() {
  return {.name = "workspace", .value_name = "DIR",
          .help = "workspace folder (default: the current folder if it is a workspace, else the demo workspace)",
          .env = kEnv, .short_name = 'w'};
}

Result<WorkspaceChoice> choose_workspace(const Args& args, const std::string& positional) {
  WorkspaceChoice c;
  if (!positional.empty()) {
    c = {positional, "argument"};
  } else if (const std::string given = args.get("workspace"); !given.empty()) {
    // parse_args fills an absent flag from the environment (a flag equal to it reads the same).
    const char* env = std::getenv(kEnv);
    c = {given, env && given == env ? kEnv : "--workspace"};
  } else if (store::Workspace::exists(fs::current_path())) {
    c = {fs::current_path(), "current folder"};
  } else {
    const fs::path demo = store::default_demo_workspace_dir();
    if (!store::Workspace::exists(demo)) {
      return not_found("no workspace: the current folder is not one, and the demo workspace " + demo.string() +
                       " does not exist (pass --workspace DIR or set KANANA_WORKSPACE; create one with "
                       "`kanana workspace init DIR` or the demo with `kanana workspace demo`)");
    }
    c = {demo, "demo workspace"};
  }
  if (!store::Workspace::exists(c.dir)) {
    return not_found("'" + c.dir.string() + "' (" + c.source + ") is not a workspace (create one with "
                     "`kanana workspace init DIR`, or pass another --workspace / KANANA_WORKSPACE)");
  }
  std::error_code ec;
  const fs::path abs = fs::absolute(c.dir, ec);
  if (!ec) c.dir = abs.lexically_normal();
  return c;
}

Result<std::unique_ptr<store::Workspace>> open_workspace(const Args& args, const store::OpenMode& mode) {
  KANANA_ASSIGN_OR_RETURN(const WorkspaceChoice c, choose_workspace(args));
  std::fprintf(stderr, "workspace: %s (%s)\n", c.dir.c_str(), c.source.c_str());
  return store::Workspace::open(c.dir, mode);
}

Result<std::unique_ptr<store::Workspace>> open_workspace(const Args& args) { return open_workspace(args, {}); }

std::string absolute_path_text(const std::string& path) {
  std::error_code ec;
  const fs::path abs = fs::absolute(path, ec);
  return (ec ? fs::path(path) : abs).lexically_normal().string();
}

Result<store::NodeRef> find_workspace_node(store::Workspace& ws, const std::string& text) {
  if (const size_t colon = text.find(':'); colon != std::string::npos && store::is_lineage_kind(text.substr(0, colon))) {
    store::NodeRef node{text.substr(0, colon), 0};
    try {
      size_t used = 0;
      node.id = std::stoll(text.substr(colon + 1), &used);
      if (used != text.size() - colon - 1) throw std::invalid_argument(text);
    } catch (const std::exception&) {
      return invalid_argument("'" + text + "': expected KIND:ID with a number after the colon");
    }
    return node;  // add_lineage says which node does not exist
  }
  const std::string path = absolute_path_text(text);
  KANANA_ASSIGN_OR_RETURN(auto d, ws.find_dataset_by_path(path));
  if (d) return store::NodeRef{"dataset", d->id};
  KANANA_ASSIGN_OR_RETURN(auto t, ws.find_tokenizer_by_path(path));
  if (t) return store::NodeRef{"tokenizer", t->id};
  KANANA_ASSIGN_OR_RETURN(auto checkpoints, ws.list_checkpoints());
  for (const auto& c : checkpoints)
    if (ws.resolve(c.path).lexically_normal().string() == path) return store::NodeRef{"checkpoint", c.id};
  return not_found("'" + text + "' is not a recorded dataset, tokenizer or checkpoint of " + ws.root().string() +
                   " (record it first with `kanana workspace record`, or give KIND:ID)");
}


std::string describe_node(store::Workspace& ws, const store::NodeRef& n) {
  std::string name;
  if (n.kind == "dataset") {
    if (auto r = ws.get_dataset(n.id); r.is_ok()) name = r->name + ", " + r->kind;
  } else if (n.kind == "tokenizer") {
    if (auto r = ws.get_tokenizer(n.id); r.is_ok()) name = r->name;
  } else if (n.kind == "run") {
    if (auto r = ws.get_run(n.id); r.is_ok()) name = r->name + ", " + r->kind + ", " + store::run_state_name(r->state);
  } else if (n.kind == "checkpoint") {
    if (auto r = ws.get_checkpoint(n.id); r.is_ok()) name = r->name + (ws.checkpoint_on_disk(*r) ? "" : ", missing");
  }
  const std::string head = n.kind + " " + std::to_string(n.id);
  return name.empty() ? head : head + " (" + name + ")";
}


}  // namespace kanana::cli
