// Incremental reader of a file that another process appends to (events.jsonl, rank-0.log):
// each read() returns the complete lines added since the last one. A last line without its
// '\n' is being written and is left for a later read. A file that shrank (truncated) or was
// replaced (another inode: a run folder deleted and launched again) is read again from the
// start, and read() says so, so the caller drops what it had. At most `maxBytes` are read per
// call, so a huge file is consumed in pieces without blocking the caller for long; a single
// line longer than that is cut at maxBytes (and flagged) rather than stalling the tail.
// QtCore-free plain C++; one FileTail is used from one thread.
#pragma once

#include <cstdint>
#include <string>

namespace kanana::jobsplugin {

struct TailChunk {
  std::string data;           // complete lines, each ending in '\n' (empty when nothing new)
  bool reset = false;         // the file shrank or was replaced: data starts at its beginning
  bool more = false;          // more complete bytes are waiting (maxBytes reached)
  bool partialPending = false;  // bytes without a final '\n' are waiting
  bool oversizedLine = false;   // a line longer than maxBytes was cut
  bool exists = false;
  uint64_t firstLine = 1;     // 1-based number of the first line in `data`
};

class FileTail {
 public:
  explicit FileTail(std::string path, uint64_t maxBytes = 1u << 20) : path_(std::move(path)), maxBytes_(maxBytes) {}
  TailChunk read();
  // Forget the position: the next read() starts at the beginning (without reset = true).
  void rewind();

  const std::string& path() const { return path_; }
  uint64_t offset() const { return offset_; }
  uint64_t nextLine() const { return line_; }

 private:
  std::string path_;
  uint64_t maxBytes_;
  uint64_t offset_ = 0;
  uint64_t line_ = 1;
  uint64_t inode_ = 0;
  uint64_t device_ = 0;
};

}  // namespace kanana::jobsplugin
