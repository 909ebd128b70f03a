#include "base/files.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>

namespace kanana {

Status errno_status(const std::filesystem::path& path, const std::string& action) {
  const int err = errno;
  std::string msg = action + " " + path.string() + ": " + std::strerror(err);
  switch (err) {
    case ENOENT: return not_found(msg);
    case EACCES:
    case EPERM:
    case EROFS: return permission_denied(msg);
    case ENOSPC:
    case EDQUOT: return unavailable(msg + " (disk full?)");
    default: return internal_error(msg);
  }
}

Status check_regular_file(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno_status(path, "cannot open");
  if (S_ISDIR(st.st_mode)) return invalid_argument(path.string() + " is a directory, expected a file");
  if (!S_ISREG(st.st_mode))
    return invalid_argument(path.string() + " is not a regular file (a device, FIFO or socket cannot be read as a file)");
  return Status::ok();
}

Result<std::string> read_file(const std::filesystem::path& path, uint64_t max_bytes) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer before the
  // regular-file check below could refuse it.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return errno_status(path, "cannot open");
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    Status s = errno_status(path, "cannot stat");
    ::close(fd);
    return s;
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    if (S_ISDIR(st.st_mode)) return invalid_argument(path.string() + " is a directory, expected a file");
    return invalid_argument(path.string() + " is not a regular file (a device, FIFO or socket cannot be read as a file)");
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return invalid_argument(path.string() + ": " + std::to_string(st.st_size) + " bytes is larger than the " +
                            std::to_string(max_bytes) + "-byte limit for this kind of file");
  }
  std::string out;
  out.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      Status s = errno_status(path, "cannot read");
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    // The file may grow while it is read (a log being appended); the cap still holds.
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      ::close(fd);
      return invalid_argument(path.string() + ": larger than the " + std::to_string(max_bytes) +
                              "-byte limit for this kind of file");
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Status write_file_atomic(const std::filesystem::path& path, std::string_view content) {
  KANANA_ASSIGN_OR_RETURN(auto writer, AtomicFileWriter::open(path));
  KANANA_RETURN_IF_ERROR(writer->write(content));
  return writer->commit();
}

AtomicFileWriter::AtomicFileWriter(std::filesystem::path path, std::filesystem::path temp, int fd)
    : path_(std::move(path)), temp_(std::move(temp)), fd_(fd) {}

Result<std::unique_ptr<AtomicFileWriter>> AtomicFileWriter::open(const std::filesystem::path& path) {
  std::filesystem::path temp = path;
  temp += ".tmp-" + std::to_string(::getpid());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_status(temp, "cannot create");
  return std::unique_ptr<AtomicFileWriter>(new AtomicFileWriter(path, temp, fd));
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) {
    std::error_code ec;
    std::filesystem::remove(temp_, ec);
  }
}

Status AtomicFileWriter::write(const void* data, size_t size) {
  if (fd_ < 0) return failed_precondition("write after commit to " + path_.string());
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd_, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_status(temp_, "cannot write");
    }
    p += n;
    size -= static_cast<size_t>(n);
    written_ += static_cast<uint64_t>(n);
  }
  return Status::ok();
}

Status AtomicFileWriter::commit() {
  if (fd_ < 0) return failed_precondition("commit twice to " + path_.string());
  if (::fsync(fd_) != 0) return errno_status(temp_, "cannot sync");
  if (::close(fd_) != 0) {
    fd_ = -1;
    return errno_status(temp_, "cannot close");
  }
  fd_ = -1;
  if (::rename(temp_.c_str(), path_.c_str()) != 0) return errno_status(path_, "cannot rename onto");
  committed_ = true;
  return Status::ok();
}

Status check_output_target(const std::filesystem::path& output, bool overwrite, const std::string& flag) {
  std::error_code ec;
  if (overwrite || !std::filesystem::exists(std::filesystem::symlink_status(output, ec))) return Status::ok();
  // An empty folder (made by the caller, a temporary directory) holds nothing to lose.
  if (std::filesystem::is_directory(output, ec) && std::filesystem::is_empty(output, ec) && !ec) return Status::ok();
  return already_exists(output.string() + " already exists; pass --overwrite to replace it (or choose another " + flag +
                        ")");
}

Status check_not_input(const std::filesystem::path& output, const std::vector<std::filesystem::path>& inputs,
                       const std::string& flag) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path out = fs::weakly_canonical(fs::absolute(output, ec), ec);
  for (const auto& input : inputs) {
    std::error_code e2;
    const fs::path in = fs::weakly_canonical(fs::absolute(input, e2), e2);
    bool same = in == out || (fs::exists(output, e2) && fs::equivalent(input, output, e2));
    if (!same && !out.empty()) {
      // inside the output folder?
      auto [o, i] = std::mismatch(out.begin(), out.end(), in.begin(), in.end());
      same = o == out.end();
    }
    if (same)
      return invalid_argument(flag + " " + output.string() + " is (or holds) the input " + input.string() +
                              "; writing it would destroy the input being read");
  }
  return Status::ok();
}

Result<std::unique_ptr<AtomicDirectory>> AtomicDirectory::create(const std::filesystem::path& dir) {
  std::filesystem::path temp = dir;
  if (!temp.has_filename()) temp = temp.parent_path();
  std::filesystem::path final_dir = temp;
  temp += ".tmp-" + std::to_string(::getpid());
  std::error_code ec;
  std::filesystem::remove_all(temp, ec);  // left by a killed run of the same pid: ours to reuse
  std::filesystem::create_directories(temp, ec);
  if (ec) return unavailable(temp.string() + ": cannot create the folder: " + ec.message());
  return std::unique_ptr<AtomicDirectory>(new AtomicDirectory(final_dir, temp));
}

AtomicDirectory::~AtomicDirectory() {
  if (!committed_) {
    std::error_code ec;
    std::filesystem::remove_all(temp_, ec);
  }
}

Status AtomicDirectory::commit() {
  namespace fs = std::filesystem;
  if (committed_) return failed_precondition("commit twice to " + dir_.string());
  std::error_code ec;
  fs::path old;
  if (fs::exists(fs::symlink_status(dir_, ec))) {
    old = dir_;
    old += ".old-" + std::to_string(::getpid());
    fs::remove_all(old, ec);
    if (::rename(dir_.c_str(), old.c_str()) != 0) return errno_status(dir_, "cannot move aside");
  }
  if (::rename(temp_.c_str(), dir_.c_str()) != 0) {
    Status s = errno_status(dir_, "cannot rename onto");
    if (!old.empty()) (void)::rename(old.c_str(), dir_.c_str());  // put the previous one back
    return s;
  }
  committed_ = true;
  if (!old.empty()) fs::remove_all(old, ec);
  return Status::ok();
}

Result<std::shared_ptr<MappedFile>> MappedFile::open(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_status(path, "cannot open");
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    Status s = errno_status(path, "cannot stat");
    ::close(fd);
    return s;
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return invalid_argument(path.string() + " is not a regular file");
  }
  const size_t size = static_cast<size_t>(st.st_size);
  void* data = nullptr;
  if (size > 0) {
    data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (data == MAP_FAILED) {
      Status s = errno_status(path, "cannot map");
      ::close(fd);
      return s;
    }
  }
  ::close(fd);
  return std::shared_ptr<MappedFile>(new MappedFile(path, data, size));
}

MappedFile::~MappedFile() {
  if (data_ != nullptr && size_ > 0) ::munmap(data_, size_);
}

}  // namespace kanana
