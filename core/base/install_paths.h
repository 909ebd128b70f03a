// Where the program's own files are: the running executable, and the read-only resources
// (recipes, filter rules) that ship with it. One lookup for the CLI, the GUI and its plugins,
// so a source-tree build, a build folder anywhere and an installed package (`/usr/bin/kanana`
// with `/usr/share/kanana-workbench/`) all find the same files.
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

namespace kanana {

// The running executable (/proc/self/exe), or an empty path where that cannot be read.
std::filesystem::path executable_path();

// The folder of a resource given relative to the source tree's resources/ folder, e.g.
// "recipes/train". Looked up, first hit wins:
//   1. $KANANA_SOURCE_DIR/resources/REL (tests and developers point at a checkout);
//   2. <exe dir>/../share/kanana-workbench/REL (an installed package);
//   3. <dir>/resources/REL for each folder above the executable (a build inside a checkout).
// A path that exists (file or folder) is returned; nullopt when none does.
std::optional<std::filesystem::path> find_resource(std::string_view rel);

// The installed resources folder relative to the install prefix (for install rules and docs).
inline constexpr std::string_view kInstalledResourceDir = "share/kanana-workbench";

}  // namespace kanana
