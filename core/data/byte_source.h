// Streaming byte sources for corpus files: plain, gzip (zlib) and zstd, chosen by the file's
// magic bytes rather than its name, so a mislabelled ".jsonl" that is really gzip still reads.
// Memory is constant (one compressed and one output buffer), whatever the file size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "base/status.h"

namespace kanana {
class CancelToken;
}

namespace kanana::data {

enum class Compression { kNone, kGzip, kZstd };
const char* compression_name(Compression c);

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Up to `n` decompressed bytes into `out`; 0 means end of stream. Truncated or corrupt
  // compressed data is a kDataLoss error naming the file.
  virtual Result<size_t> read(char* out, size_t n) = 0;
  virtual Compression compression() const = 0;
  // Seek to a decompressed offset. Plain files seek; compressed ones re-read from the start.
  virtual Status seek(uint64_t offset) = 0;
};

// A name ending in .gz/.gzip/.zst/.zstd whose bytes lack that format's magic is an error (a
// random-bytes "x.zst" is not read as plain text). With `cancel`, a read (or an open of a FIFO
// that has no writer yet) returns kCancelled soon after the token is set, whatever the input:
// the token is checked before every read, and a FIFO, terminal or device is opened without
// waiting for a writer and polled in 200 ms slices, so an endless /dev/zero or a silent FIFO
// never outlives a SIGTERM (even one that lands just before a blocking call).
Result<std::unique_ptr<ByteSource>> open_byte_source(const std::filesystem::path& path,
                                                     const CancelToken* cancel = nullptr);

// Splits a byte stream into lines ('\n', a trailing '\r' is dropped) without ever holding
// more than `max_line_bytes` of one line: longer lines are skipped to their end and reported.
class LineReader {
 public:
  struct Line {
    std::string text;        // without the newline
    uint64_t number = 0;     // 1-based
    uint64_t byte_offset = 0;// decompressed offset of the line's first byte
    uint64_t length = 0;     // full length, even when too long to keep
    bool too_long = false;   // text is empty and the line was skipped
  };
  LineReader(std::unique_ptr<ByteSource> source, size_t max_line_bytes);
  // false at end of stream.
  Result<bool> next(Line* line);
  uint64_t bytes_consumed() const { return consumed_; }
  // Position the reader at a known line start (for random access by DocId).
  Status seek(uint64_t byte_offset, uint64_t line_number);

 private:
  Status fill();
  std::unique_ptr<ByteSource> source_;
  size_t max_line_bytes_;
  std::string buf_;
  size_t begin_ = 0, end_ = 0;
  bool eof_ = false;
  uint64_t consumed_ = 0;
  uint64_t line_number_ = 0;
};

}  // namespace kanana::data
