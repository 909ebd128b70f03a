// The workspace option every command that reads or records into a workspace shares:
// --workspace DIR / -w (env KANANA_WORKSPACE, default the current folder), and opening it
// with one error for a folder that is not a workspace.
#pragma once

#include <memory>

#include "base/status.h"
#include "cli/args.h"

namespace kanana::store {
class Workspace;
}

namespace kanana::cli {

OptionSpec workspace_option();
Result<std::unique_ptr<store::Workspace>> open_workspace(const Args& args);

}  // namespace kanana::cli
