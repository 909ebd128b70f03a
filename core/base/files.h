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

#include "base/status.h"

namespace kanana {

Result<std::string> read_file(const std::filesystem::path& path);
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
