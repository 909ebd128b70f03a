// The workspace convention every command that reads or records into a workspace shares:
//   --workspace DIR / -w, or env KANANA_WORKSPACE;
//   else the current folder, when it is a workspace;
//   else the demo workspace (store::default_demo_workspace_dir(), env KANANA_DEMO_WORKSPACE),
//   when it exists.
// The folder chosen, and why, is printed on stderr ("workspace: DIR (current folder)"), so a
// command never writes into a workspace the user did not see named.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "base/status.h"
#include "cli/args.h"

namespace kanana::store {
class Workspace;
struct OpenMode;
struct NodeRef;
}  // namespace kanana::store

namespace kanana::cli {

OptionSpec workspace_option();

struct WorkspaceChoice {
  std::filesystem::path dir;
  std::string source;  // "--workspace", "KANANA_WORKSPACE", "current folder", "demo workspace", "argument"
};
// The workspace folder by the convention above (`positional`, when not empty, is a DIR given
// as an argument and wins). An explicit folder that is not a workspace, or no workspace found
// at all, is kNotFound naming what was tried. Prints nothing.
Result<WorkspaceChoice> choose_workspace(const Args& args, const std::string& positional = "");
// choose_workspace(), one "workspace: DIR (source)" line on stderr, then open.
Result<std::unique_ptr<store::Workspace>> open_workspace(const Args& args, const store::OpenMode& mode);
Result<std::unique_ptr<store::Workspace>> open_workspace(const Args& args);

// A workspace record named on the command line: "KIND:ID" (run:3, checkpoint:12; not checked
// to exist) or the path of a recorded dataset, tokenizer or checkpoint (made absolute first).
Result<store::NodeRef> find_workspace_node(store::Workspace& workspace, const std::string& text);
// "checkpoint 12 (demo-dpo/step-40)": the kind, id and, where the record has one, its name.
std::string describe_node(store::Workspace& workspace, const store::NodeRef& node);
// `path` absolute and normalized, as records store it.
std::string absolute_path_text(const std::string& path);

}  // namespace kanana::cli
