// Sandboxed file tools (see file_tools.h).
#include "tools/file_tools.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/files.h"
#include "base/strings.h"

namespace kanana::tools {
namespace fs = std::filesystem;

namespace {

// `p` equals `root` or lies below it, by whole components.
bool is_within(const fs::path& p, const fs::path& root) {
  auto pi = p.begin(), ri = root.begin();
  for (; ri != root.end(); ++ri, ++pi) {
    if (ri->empty() && std::next(ri) == root.end()) break;  // trailing separator
    if (pi == p.end() || *pi != *ri) return false;
  }
  return true;
}

struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

Result<PathSandbox> PathSandbox::create(const std::vector<fs::path>& roots) {
  PathSandbox s;
  for (const auto& r : roots) {
    std::error_code ec;
    fs::path c = fs::canonical(r, ec);
    if (ec) return not_found("allowed folder " + r.string() + " does not exist");
    if (!fs::is_directory(c, ec)) return invalid_argument("allowed folder " + r.string() + " is not a folder");
    s.roots_.push_back(c);
  }
  if (s.roots_.empty()) return invalid_argument("no allowed folders given");
  return s;
}

bool PathSandbox::contains(const fs::path& canonical) const {
  for (const auto& r : roots_)
    if (is_within(canonical, r)) return true;
  return false;
}

std::string PathSandbox::display(const fs::path& canonical) const {
  for (const auto& r : roots_)
    if (is_within(canonical, r)) {
      const fs::path rel = canonical.lexically_relative(r);
      return rel.empty() || rel == "." ? "." : rel.string();
    }
  return canonical.filename().string();
}

Result<fs::path> PathSandbox::resolve_existing(const std::string& path) const {
  if (path.empty()) return invalid_argument("the path is empty");
  if (path.find('\0') != std::string::npos) return invalid_argument("the path contains a NUL byte");
  const fs::path given(path);
  std::vector<fs::path> candidates;
  if (given.is_absolute()) candidates.push_back(given);
  else
    for (const auto& r : roots_) candidates.push_back(r / given);
  bool found_outside = false;
  for (const auto& cand : candidates) {
    std::error_code ec;
    const fs::path real = fs::canonical(cand, ec);  // resolves "..", "." and every symlink
    if (ec) continue;
    if (contains(real)) return real;
    found_outside = true;
  }
  // Say why without confirming what exists outside the allowed folders.
  if (found_outside) return permission_denied("'" + path + "' is outside the allowed folders");
  for (const auto& cand : candidates)
    if (contains(cand.lexically_normal())) return not_found("'" + path + "' does not exist in the allowed folders");
  return permission_denied("'" + path + "' is outside the allowed folders");
}

Result<fs::path> PathSandbox::resolve_for_write(const std::string& path, bool create_parents) const {
  if (path.empty()) return invalid_argument("the path is empty");
  if (path.find('\0') != std::string::npos) return invalid_argument("the path contains a NUL byte");
  const fs::path given(path);
  const fs::path target = (given.is_absolute() ? given : roots_.front() / given).lexically_normal();
  if (!target.has_filename()) return invalid_argument("'" + path + "' names a folder, not a file");
  const fs::path parent = target.parent_path();
  std::error_code ec;
  if (create_parents && is_within(parent, roots_.front()) && !fs::exists(parent, ec)) {
    fs::create_directories(parent, ec);
    if (ec) return errno_status(parent, "creating folder");
  }
  const fs::path real_parent = fs::canonical(parent, ec);
  if (ec) return not_found("the folder of '" + path + "' does not exist");
  if (!contains(real_parent)) return permission_denied("'" + path + "' is outside the allowed folders");
  const fs::path real = real_parent / target.filename();
  if (fs::is_symlink(fs::symlink_status(real, ec)))
    return permission_denied("'" + path + "' is a symbolic link; it is not followed for writing");
  if (fs::exists(real, ec) && !fs::is_regular_file(real, ec)) return permission_denied("'" + path + "' is not a regular file");
  return real;
}

Tool make_read_file_tool(PathSandbox sandbox, const ReadFileOptions& options) {
  Tool t;
  t.spec.name = "read_file";
  std::string roots;
  for (const auto& r : sandbox.roots()) roots += (roots.empty() ? "" : ", ") + r.filename().string();
  t.spec.description =
      "Read a UTF-8 text file from the allowed folders (" + roots + "). Paths are relative to those folders. Long files "
      "come back in pieces: call again with offset = next_offset.";
  t.spec.parameters = {{"type", "object"},
                       {"properties",
                        {{"path", {{"type", "string"}, {"description", "file path relative to an allowed folder"},
                                   {"minLength", 1}, {"maxLength", 4096}}},
                         {"offset", {{"type", "integer"}, {"minimum", 0}, {"description", "byte offset to start at"}}},
                         {"max_bytes", {{"type", "integer"}, {"minimum", 1}, {"maximum", options.max_bytes}}}}},
                       {"required", {"path"}},
                       {"additionalProperties", false}};
  t.run = [sandbox = std::move(sandbox), options](const Json& args, const ToolContext&) -> Result<Json> {
    const std::string given = args["path"].get<std::string>();
    KANANA_ASSIGN_OR_RETURN(fs::path real, sandbox.resolve_existing(given));
    const int fd = ::open(real.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return errno == ELOOP ? permission_denied("'" + given + "' is a symbolic link") : errno_status(given, "opening");
    FdCloser closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0) return errno_status(given, "reading");
    if (S_ISDIR(st.st_mode)) return invalid_argument("'" + given + "' is a folder, not a file");
    if (!S_ISREG(st.st_mode)) return permission_denied("'" + given + "' is not a regular file");
    // What was opened, not what was checked, must be inside.
    char link[4096];
    const std::string proc = "/proc/self/fd/" + std::to_string(fd);
    const ssize_t n = ::readlink(proc.c_str(), link, sizeof link - 1);
    if (n > 0) {
      link[n] = '\0';
      if (!sandbox.contains(fs::path(link))) return permission_denied("'" + given + "' is outside the allowed folders");
    }
    if (st.st_size > options.max_file_bytes)
      return invalid_argument("'" + given + "' is " + format_bytes(static_cast<uint64_t>(st.st_size)) + ", larger than the " +
                              format_bytes(static_cast<uint64_t>(options.max_file_bytes)) + " this tool reads");
    const int64_t offset = args.contains("offset") ? args["offset"].get<int64_t>() : 0;
    const int64_t want = args.contains("max_bytes") ? args["max_bytes"].get<int64_t>() : options.max_bytes;
    if (offset > st.st_size) return out_of_range("offset " + std::to_string(offset) + " is past the end (" + std::to_string(st.st_size) + " bytes)");
    std::string buf(static_cast<size_t>(std::min<int64_t>(want + 3, st.st_size - offset)), '\0');
    size_t got = 0;
    while (got < buf.size()) {
      const ssize_t r = ::pread(fd, buf.data() + got, buf.size() - got, static_cast<off_t>(offset) + static_cast<off_t>(got));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return errno_status(given, "reading");
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    buf.resize(got);
    // Start and end on character boundaries (a page may split a character).
    size_t begin = 0;
    while (begin < buf.size() && begin < 3 && offset + static_cast<int64_t>(begin) > 0 &&
           (static_cast<unsigned char>(buf[begin]) & 0xC0) == 0x80)
      ++begin;
    size_t end = std::min(buf.size(), begin + static_cast<size_t>(want));
    if (end < buf.size())
      while (end > begin && (static_cast<unsigned char>(buf[end]) & 0xC0) == 0x80) --end;
    const std::string content = buf.substr(begin, end - begin);
    if (content.find('\0') != std::string::npos || !is_valid_utf8(content))
      return invalid_argument("'" + given + "' is not a UTF-8 text file");
    const int64_t next = offset + static_cast<int64_t>(end);
    Json j{{"path", sandbox.display(real)}, {"size", static_cast<int64_t>(st.st_size)}, {"offset", offset + static_cast<int64_t>(begin)},
           {"content", content}, {"truncated", next < st.st_size}};
    if (next < st.st_size) j["next_offset"] = next;
    return j;
  };
  return t;
}

Tool make_write_note_tool(const fs::path& notes_dir) {
  Tool t;
  t.spec.name = "write_note";
  t.spec.side_effects = true;
  t.spec.description =
      "Save a Markdown note in the workspace's notes folder (asks the user first). Use it when the user asks "
      "to write something down.";
  t.spec.parameters = {{"type", "object"},
                       {"properties",
                        {{"name", {{"type", "string"}, {"description", "file name without folder, e.g. \"meeting\""},
                                   {"minLength", 1}, {"maxLength", 100}}},
                         {"content", {{"type", "string"}, {"maxLength", 100000}}},
                         {"overwrite", {{"type", "boolean"}, {"description", "replace an existing note (default false)"}}}}},
                       {"required", {"name", "content"}},
                       {"additionalProperties", false}};
  t.run = [notes_dir](const Json& args, const ToolContext&) -> Result<Json> {
    std::string name = args["name"].get<std::string>();
    for (char c : name)
      if (c == '/' || c == '\\' || static_cast<unsigned char>(c) < 0x20)
        return invalid_argument("the note name must not contain '/', '\\' or control characters");
    if (name.front() == '.' || !is_valid_utf8(name)) return invalid_argument("the note name must not start with '.'");
    if (!ends_with(name, ".md")) name += ".md";
    std::error_code ec;
    fs::create_directories(notes_dir, ec);
    if (ec) return errno_status(notes_dir, "creating folder");
    KANANA_ASSIGN_OR_RETURN(PathSandbox sandbox, PathSandbox::create({notes_dir}));
    KANANA_ASSIGN_OR_RETURN(fs::path target, sandbox.resolve_for_write(name));
    const bool overwrite = args.contains("overwrite") && args["overwrite"].get<bool>();
    if (fs::exists(target, ec) && !overwrite)
      return already_exists("a note named '" + name + "' exists; pass overwrite: true to replace it");
    KANANA_RETURN_IF_ERROR(write_file_atomic(target, args["content"].get<std::string>()));
    return Json{{"saved", sandbox.display(target)}, {"bytes", static_cast<int64_t>(args["content"].get<std::string>().size())}};
  };
  return t;
}

}  // namespace kanana::tools
