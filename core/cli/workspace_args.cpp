#include "cli/workspace_args.h"

#include "store/workspace.h"

namespace kanana::cli {

OptionSpec workspace_option() {
  return {.name = "workspace", .value_name = "DIR", .help = "workspace folder", .default_value = ".",
          .env = "KANANA_WORKSPACE", .short_name = 'w'};
}

Result<std::unique_ptr<store::Workspace>> open_workspace(const Args& args) {
  const std::string dir = args.get("workspace");
  if (!store::Workspace::exists(dir)) {
    return not_found("'" + dir + "' is not a workspace (create one with `kanana workspace init DIR`, "
                     "or pass --workspace / set KANANA_WORKSPACE)");
  }
  return store::Workspace::open(dir);
}

}  // namespace kanana::cli
