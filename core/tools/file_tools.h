// File tools confined to folders the user allowed.
//
// PathSandbox resolves what a model writes ("notes/a.md", "../x", "/etc/passwd") against its
// root folders: symlinks are resolved first and the real path must lie inside a root
// (component-wise, so /work/ws2 is not inside /work/ws). Relative paths are tried against each
// root in order; "a/../b" that stays inside is fine, anything that ends up outside is refused.
// read_file also re-checks the opened descriptor's real path (/proc/self/fd), so a symlink
// swapped in between the check and the open cannot escape, and opens with O_NOFOLLOW and
// O_NONBLOCK (a FIFO or device is refused, never waited on).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "base/status.h"
#include "tools/tool.h"

namespace kanana::tools {

class PathSandbox {
 public:
  // Roots must exist; they are canonicalised (symlinks resolved).
  static Result<PathSandbox> create(const std::vector<std::filesystem::path>& roots);

  // An existing file or folder inside a root → its canonical path. Errors say which rule refused.
  Result<std::filesystem::path> resolve_existing(const std::string& path) const;
  // A path to create or replace: its folder must exist inside a root (or be created inside
  // the first root with create_parents), and the file itself must not be a symlink.
  Result<std::filesystem::path> resolve_for_write(const std::string& path, bool create_parents = false) const;

  bool contains(const std::filesystem::path& canonical) const;
  const std::vector<std::filesystem::path>& roots() const { return roots_; }
  // The path as the model should see it: relative to its root ("docs/a.md").
  std::string display(const std::filesystem::path& canonical) const;

 private:
  std::vector<std::filesystem::path> roots_;
};

struct ReadFileOptions {
  int64_t max_bytes = 64 * 1024;       // returned per call; the model pages with offset
  int64_t max_file_bytes = 64 << 20;   // larger files are refused
};

// {"path", "offset"?, "max_bytes"?} → {"path", "size", "offset", "content", "truncated", "next_offset"?}.
// Only UTF-8 text files are returned.
Tool make_read_file_tool(PathSandbox sandbox, const ReadFileOptions& options = {});

// A side-effect tool: {"name", "content", "overwrite"?} writes <notes_dir>/<name>.md atomically.
// `notes_dir` is created on first use; names with '/', '\\', leading '.', or control characters
// are refused. The user must approve each call (ToolSpec::side_effects).
Tool make_write_note_tool(const std::filesystem::path& notes_dir);

}  // namespace kanana::tools
