#include "base/install_paths.h"

#include <unistd.h>

#include <cstdlib>
#include <string>
#include <system_error>

namespace kanana {

namespace fs = std::filesystem;

fs::path executable_path() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return {};
  return fs::path(std::string(buf, static_cast<size_t>(n)));
}

std::optional<fs::path> find_resource(std::string_view rel) {
  std::error_code ec;
  auto hit = [&](const fs::path& p) -> std::optional<fs::path> {
    if (fs::exists(p, ec)) return p.lexically_normal();
    return std::nullopt;
  };
  if (const char* src = std::getenv("KANANA_SOURCE_DIR"); src && *src)
    if (auto p = hit(fs::path(src) / "resources" / rel)) return p;
  const fs::path exe = executable_path();
  if (exe.empty()) return std::nullopt;
  if (auto p = hit(exe.parent_path() / ".." / kInstalledResourceDir / rel)) return p;
  for (fs::path dir = exe.parent_path(); !dir.empty() && dir != dir.root_path(); dir = dir.parent_path())
    if (auto p = hit(dir / "resources" / rel)) return p;
  return std::nullopt;
}

}  // namespace kanana
