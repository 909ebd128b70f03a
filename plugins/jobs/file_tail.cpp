// See file_tail.h.
#include "file_tail.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace kanana::jobsplugin {

void FileTail::rewind() {
  offset_ = 0;
  line_ = 1;
  inode_ = 0;
  device_ = 0;
}

TailChunk FileTail::read() {
  TailChunk out;
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    // Gone (a run folder deleted): whatever comes next starts from scratch.
    if (offset_ > 0) out.reset = true;
    rewind();
    out.firstLine = line_;
    return out;
  }
  out.exists = true;
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return out;
  }
  const uint64_t size = uint64_t(st.st_size);
  const bool replaced = inode_ != 0 && (uint64_t(st.st_ino) != inode_ || uint64_t(st.st_dev) != device_);
  if (replaced || size < offset_) {
    out.reset = offset_ > 0 || replaced;
    offset_ = 0;
    line_ = 1;
  }
  inode_ = uint64_t(st.st_ino);
  device_ = uint64_t(st.st_dev);
  out.firstLine = line_;
  if (size == offset_) {
    ::close(fd);
    return out;
  }
  const uint64_t want = std::min<uint64_t>(size - offset_, maxBytes_);
  std::string buffer(want, '\0');
  uint64_t got = 0;
  while (got < want) {
    const ssize_t n = ::pread(fd, buffer.data() + got, want - got, off_t(offset_ + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += uint64_t(n);
  }
  ::close(fd);
  buffer.resize(got);
  const size_t lastNewline = buffer.rfind('\n');
  if (lastNewline == std::string::npos) {
    if (got == maxBytes_ && size - offset_ > maxBytes_) {
      // One line longer than a whole chunk: hand it over cut, or the tail would stall here.
      buffer.push_back('\n');
      out.oversizedLine = true;
      out.data = std::move(buffer);
      offset_ += got;
      ++line_;
      out.more = true;
      return out;
    }
    out.partialPending = true;
    return out;
  }
  buffer.resize(lastNewline + 1);
  offset_ += buffer.size();
  line_ += uint64_t(std::count(buffer.begin(), buffer.end(), '\n'));
  out.data = std::move(buffer);
  out.more = offset_ + 0 < size && got == maxBytes_;
  out.partialPending = !out.more && offset_ < size;
  return out;
}

}  // namespace kanana::jobsplugin
