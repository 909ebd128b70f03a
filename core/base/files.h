// File helpers with the guarantees the whole project relies on: whole-file reads with clear
// errors, atomic writes (temp file in the same folder + fsync + rename, so a reader never
// sees half a file that looks complete), and read-only memory maps for large inputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace kanana {

// Reads a whole regular file. Anything else (a directory, a FIFO, /dev/zero, a socket) is
// refused before a byte is read, so a file that never ends cannot be read into memory or
// block for ever; a file larger than `max_bytes` is refused ("x.json: 3.1 GB is larger than
// the 256 MB limit") rather than allocated.
inline constexpr uint64_t kMaxReadFileBytes = uint64_t{8} << 30;
Result<std::string> read_file(const std::filesystem::path& path, uint64_t max_bytes = kMaxReadFileBytes);
// Ok if `path` is a regular file (after symlinks); an error naming it otherwise. Streaming
// readers call it before opening, so a FIFO never blocks them and /dev/zero is never read.
Status check_regular_file(const std::filesystem::path& path);
Status write_file_atomic(const std::filesystem::path& path, std::string_view content);

// Writes to "<path>.tmp-<pid>" and renames onto `path` on commit(); the destructor removes
// the temporary file if commit() was never reached (errors, exceptions, cancellation).
class AtomicFileWriter {
 public:
  static Result<std::unique_ptr<AtomicFileWriter>> open(const std::filesystem::path& path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  Status write(const void* data, size_t size);
  Status write(std::string_view text) { return write(text.data(), text.size()); }
  Status commit();  // flush, fsync, rename
  uint64_t bytes_written() const { return written_; }
  const std::filesystem::path& temp_path() const { return temp_; }

 private:
  AtomicFileWriter(std::filesystem::path path, std::filesystem::path temp, int fd);
  std::filesystem::path path_;
  std::filesystem::path temp_;
  int fd_ = -1;
  uint64_t written_ = 0;
  bool committed_ = false;
};

// --- Outputs: never replace what exists unless asked, publish atomically ------------------
// Every command that writes a named output (a file or a folder) goes through these, so a
// re-run cannot silently destroy earlier results and a failed run leaves them as they were.

// Ok if `output` does not exist yet, is an empty folder, or `overwrite` is set; otherwise kAlreadyExists:
// "<output> already exists; pass --overwrite to replace it (or choose another <flag>)".
Status check_output_target(const std::filesystem::path& output, bool overwrite, const std::string& flag);
// kInvalidArgument if an input is the output itself (same file, even through another path or
// a link) or lies inside it when it is a folder: writing would destroy the input being read.
Status check_not_input(const std::filesystem::path& output, const std::vector<std::filesystem::path>& inputs,
                       const std::string& flag);

// A folder written under a temporary sibling ("<dir>.tmp-<pid>") and renamed onto `dir` by
// commit(); an existing `dir` (allowed by the caller's check_output_target) is moved aside and
// removed only after the new one is in place. Without commit() (an error, a cancel, an
// exception) the destructor removes the temporary folder and `dir` is untouched.
class AtomicDirectory {
 public:
  static Result<std::unique_ptr<AtomicDirectory>> create(const std::filesystem::path& dir);
  ~AtomicDirectory();
  AtomicDirectory(const AtomicDirectory&) = delete;
  AtomicDirectory& operator=(const AtomicDirectory&) = delete;

  const std::filesystem::path& path() const { return temp_; }  // write here
  Status commit();

 private:
  AtomicDirectory(std::filesystem::path dir, std::filesystem::path temp) : dir_(std::move(dir)), temp_(std::move(temp)) {}
  std::filesystem::path dir_;
  std::filesystem::path temp_;
  bool committed_ = false;
};

// A read-only mapping of a whole file. Empty files map to an empty view.
class MappedFile {
 public:
  static Result<std::shared_ptr<MappedFile>> open(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return static_cast<const uint8_t*>(data_); }
  size_t size() const { return size_; }
  std::string_view view() const { return {reinterpret_cast<const char*>(data_), size_}; }
  const std::filesystem::path& path() const { return path_; }

 private:
  MappedFile(std::filesystem::path path, void* data, size_t size)
      : path_(std::move(path)), data_(data), size_(size) {}
  std::filesystem::path path_;
  void* data_ = nullptr;
  size_t size_ = 0;
};

// Human-readable errno message with the path: "model.safetensors: No such file or directory".
Status errno_status(const std::filesystem::path& path, const std::string& action);

}  // namespace kanana
