// Building blocks of resumable corpus jobs (corpus_jobs.cpp): an output file appended under
// <out>/.partial/ and published by rename, and the helpers that make checkpoints comparable
// and exact (input identity, option diffs, doubles as bit patterns).
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/files.h"
#include "base/json.h"
#include "base/status.h"

namespace kanana::data {

namespace fs = std::filesystem;

inline constexpr const char* kPartialDir = ".partial";

// One output: appended to <out>/.partial/<name> and renamed onto <out>/<name> by publish()
// when the run is complete. State files (publish=false) are deleted with .partial instead.
// Write errors (a full disk, a file size limit) name the final file and say what happened.
class PartialFile {
 public:
  // Fresh (no resume_size): created empty. Resuming: cut back to the checkpointed size, so
  // whatever an interrupted run wrote after its last checkpoint is dropped.
  static Result<std::unique_ptr<PartialFile>> open(const fs::path& out_dir, const std::string& name, bool publish,
                                                   std::optional<uint64_t> resume_size) {
    std::unique_ptr<PartialFile> f(new PartialFile());
    f->name_ = name;
    f->publish_ = publish;
    f->partial_ = out_dir / kPartialDir / name;
    f->final_ = out_dir / name;
    f->fd_ = ::open(f->partial_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (resume_size ? 0 : O_TRUNC), 0644);
    if (f->fd_ < 0) return errno_status(f->partial_, "cannot create");
    if (resume_size) {
      struct stat st {};
      if (::fstat(f->fd_, &st) != 0) return errno_status(f->partial_, "cannot stat");
      if (static_cast<uint64_t>(st.st_size) < *resume_size)
        return data_loss(f->partial_.string() + ": the partial output has " + std::to_string(st.st_size) +
                         " bytes, fewer than the " + std::to_string(*resume_size) +
                         " its checkpoint recorded; run without --resume to start over");
      if (::ftruncate(f->fd_, static_cast<off_t>(*resume_size)) != 0) return errno_status(f->partial_, "cannot truncate");
      if (::lseek(f->fd_, 0, SEEK_END) < 0) return errno_status(f->partial_, "cannot seek in");
      f->size_ = *resume_size;
    }
    return f;
  }
  ~PartialFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  PartialFile(const PartialFile&) = delete;
  PartialFile& operator=(const PartialFile&) = delete;

  Status line(std::string_view s) {
    buf_.append(s);
    buf_.push_back('\n');
    return buf_.size() >= kFlushBytes ? flush() : Status::ok();
  }
  Status append(std::string_view bytes) {
    buf_.append(bytes);
    return buf_.size() >= kFlushBytes ? flush() : Status::ok();
  }
  Status flush() {
    if (failed_) return failed_status_;
    size_t done = 0;
    while (done < buf_.size()) {
      const ssize_t n = ::write(fd_, buf_.data() + done, buf_.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail(errno);
      }
      done += static_cast<size_t>(n);
      size_ += static_cast<uint64_t>(n);
    }
    buf_.clear();
    return Status::ok();
  }
  // Everything written so far is on disk (before a checkpoint records size()).
  Status sync() {
    KANANA_RETURN_IF_ERROR(flush());
    if (::fdatasync(fd_) != 0) return fail(errno);
    return Status::ok();
  }
  // The run is complete: sync, close and rename onto the final name.
  Status publish() {
    KANANA_RETURN_IF_ERROR(sync());
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return fail(errno);
    if (!publish_) return Status::ok();
    if (::rename(partial_.c_str(), final_.c_str()) != 0) return errno_status(final_, "cannot rename the finished output onto");
    return Status::ok();
  }
  uint64_t size() const { return size_; }  // bytes handed to the file (after flush)
  const std::string& name() const { return name_; }
  const fs::path& partial_path() const { return partial_; }
  bool published() const { return publish_; }

 private:
  PartialFile() = default;
  static constexpr size_t kFlushBytes = 1u << 20;
  Status fail(int err) {
    std::string what = std::strerror(err);
    if (err == ENOSPC || err == EDQUOT) what = "disk full (" + what + ")";
    else if (err == EFBIG) what = "file too large: the file size limit or the disk is full (" + what + ")";
    failed_ = true;
    failed_status_ = unavailable(what + " while writing " + final_.string() + " (partial file " + partial_.string() +
                                 "); nothing was published: free space and rerun with --resume to continue");
    return failed_status_;
  }
  std::string name_;
  bool publish_ = true;
  fs::path partial_, final_;
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string buf_;
  bool failed_ = false;
  Status failed_status_;
};

// What a file is now (absolute path, size, mtime): a resumed run must see the same bytes.
Json file_identity(const fs::path& path);
// The differences between the options of an interrupted run and this one, as readable lines.
void diff_options(const Json& was, const Json& now, const std::string& prefix, std::vector<std::string>* out);
// Doubles go into checkpoints as their bit patterns, so sums resume bit-exact (NaN too);
// bits_to_doubles throws when the count is not n.
Json doubles_to_bits(const std::vector<double>& v);
std::vector<double> bits_to_doubles(const Json& a, size_t n);

}  // namespace kanana::data
