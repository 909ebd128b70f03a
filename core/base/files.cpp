#include "base/files.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
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

Result<std::string> read_file(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_status(path, "cannot open");
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    Status s = errno_status(path, "cannot stat");
    ::close(fd);
    return s;
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return invalid_argument(path.string() + " is a directory, expected a file");
  }
  std::string out;
  out.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = errno_status(path, "cannot read");
      ::close(fd);
      return s;
    }
    if (n == 0) break;
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
