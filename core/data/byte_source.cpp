// Plain / gzip / zstd byte sources and the bounded line splitter (see byte_source.h).
#include "data/byte_source.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "base/files.h"
#include "base/progress.h"

namespace kanana::data {
namespace fs = std::filesystem;

const char* compression_name(Compression c) {
  switch (c) {
    case Compression::kGzip: return "gzip";
    case Compression::kZstd: return "zstd";
    default: return "none";
  }
}

namespace {

class FdFile {
 public:
  FdFile(fs::path path, const CancelToken* cancel) : path_(std::move(path)), cancel_(cancel) {}
  ~FdFile() { if (fd_ >= 0) ::close(fd_); }
  // A FIFO, a terminal or a device is waited on with poll() in short slices that look at the
  // token: a cancel that comes just before a blocking call would otherwise never interrupt it
  // (a FIFO's open waits for a writer, its read for data, maybe for ever).
  Status open() {
    if (cancelled()) return kanana::cancelled("cancelled before opening " + path_.string());
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // a FIFO's open must not wait for a writer
    if (fd_ < 0) return errno_status(path_, "opening");
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return errno_status(path_, "opening");
    waits_ = !S_ISREG(st.st_mode);
    return Status::ok();
  }
  // Bytes read ahead to sniff the format, handed out again before anything else (a pipe
  // cannot seek back).
  void unread(const char* data, size_t n) { ahead_.assign(data, n); }
  Result<size_t> read(char* out, size_t n) {
    if (!ahead_.empty()) {
      const size_t k = std::min(n, ahead_.size());
      std::memcpy(out, ahead_.data(), k);
      ahead_.erase(0, k);
      return k;
    }
    for (;;) {
      if (cancelled()) return kanana::cancelled("cancelled while reading " + path_.string());
      if (waits_) {
        pollfd p{fd_, POLLIN, 0};
        const int r = ::poll(&p, 1, 200);
        if (r == 0) continue;  // nothing yet (no writer, no data): look at the token again
        if (r < 0 && errno != EINTR) return errno_status(path_, "waiting for data from");
        if (r < 0) continue;
      }
      const ssize_t got = ::read(fd_, out, n);
      if (got >= 0) return static_cast<size_t>(got);
      if (errno == EINTR || errno == EAGAIN) continue;
      return errno_status(path_, "reading");
    }
  }
  Status rewind(uint64_t offset) {
    ahead_.clear();
    if (::lseek(fd_, static_cast<off_t>(offset), SEEK_SET) < 0) return errno_status(path_, "seeking");
    return Status::ok();
  }
  const fs::path& path() const { return path_; }

 private:
  bool cancelled() const { return cancel_ != nullptr && cancel_->is_cancelled(); }
  fs::path path_;
  const CancelToken* cancel_ = nullptr;
  int fd_ = -1;
  bool waits_ = false;  // not a regular file: poll before reading
  std::string ahead_;
};

class PlainSource final : public ByteSource {
 public:
  explicit PlainSource(std::unique_ptr<FdFile> f) : f_(std::move(f)) {}
  Result<size_t> read(char* out, size_t n) override { return f_->read(out, n); }
  Compression compression() const override { return Compression::kNone; }
  Status seek(uint64_t offset) override { return f_->rewind(offset); }

 private:
  std::unique_ptr<FdFile> f_;
};

// Shared logic of the two decompressors: refill input, skip output up to a seek target.
class DecompressingSource : public ByteSource {
 public:
  explicit DecompressingSource(std::unique_ptr<FdFile> f) : f_(std::move(f)), in_(1 << 18) {}
  Status seek(uint64_t offset) override {
    KANANA_RETURN_IF_ERROR(f_->rewind(0));
    KANANA_RETURN_IF_ERROR(reset());
    std::vector<char> skip(1 << 16);
    while (offset > 0) {
      KANANA_ASSIGN_OR_RETURN(size_t got, read(skip.data(), std::min<uint64_t>(offset, skip.size())));
      if (got == 0) return out_of_range(f_->path().string() + ": offset past the end of the stream");
      offset -= got;
    }
    return Status::ok();
  }

 protected:
  virtual Status reset() = 0;
  Status corrupt(const std::string& what) const {
    return data_loss(f_->path().string() + ": " + what);
  }
  std::unique_ptr<FdFile> f_;
  std::vector<char> in_;
  size_t in_pos_ = 0, in_end_ = 0;
  bool in_eof_ = false;
  Status refill() {
    KANANA_ASSIGN_OR_RETURN(size_t got, f_->read(in_.data(), in_.size()));
    in_pos_ = 0;
    in_end_ = got;
    in_eof_ = got == 0;
    return Status::ok();
  }
};

class GzipSource final : public DecompressingSource {
 public:
  using DecompressingSource::DecompressingSource;
  ~GzipSource() override { if (init_) inflateEnd(&z_); }
  Compression compression() const override { return Compression::kGzip; }
  Status reset() override {
    if (init_) inflateEnd(&z_);
    std::memset(&z_, 0, sizeof(z_));
    if (inflateInit2(&z_, 15 + 32) != Z_OK) return internal_error("zlib inflateInit2 failed");
    init_ = true;
    in_pos_ = in_end_ = 0;
    in_eof_ = false;
    member_done_ = false;
    return Status::ok();
  }
  Result<size_t> read(char* out, size_t n) override {
    if (!init_) KANANA_RETURN_IF_ERROR(reset());
    size_t produced = 0;
    while (produced < n) {
      if (in_pos_ == in_end_ && !in_eof_) KANANA_RETURN_IF_ERROR(refill());
      if (in_pos_ == in_end_ && in_eof_) {
        if (!member_done_) return corrupt("truncated gzip stream (unexpected end of file)");
        break;
      }
      if (member_done_) {  // another gzip member follows (concatenated .gz files)
        inflateReset(&z_);
        member_done_ = false;
      }
      z_.next_in = reinterpret_cast<Bytef*>(in_.data() + in_pos_);
      z_.avail_in = static_cast<uInt>(in_end_ - in_pos_);
      z_.next_out = reinterpret_cast<Bytef*>(out + produced);
      z_.avail_out = static_cast<uInt>(n - produced);
      const int rc = inflate(&z_, Z_NO_FLUSH);
      in_pos_ = in_end_ - z_.avail_in;
      produced = n - z_.avail_out;
      if (rc == Z_STREAM_END) member_done_ = true;
      else if (rc == Z_BUF_ERROR) continue;
      else if (rc != Z_OK) return corrupt(std::string("corrupt gzip data: ") + (z_.msg ? z_.msg : "inflate failed"));
    }
    return produced;
  }

 private:
  z_stream z_{};
  bool init_ = false;
  bool member_done_ = false;
};

class ZstdSource final : public DecompressingSource {
 public:
  using DecompressingSource::DecompressingSource;
  ~ZstdSource() override { if (ds_) ZSTD_freeDStream(ds_); }
  Compression compression() const override { return Compression::kZstd; }
  Status reset() override {
    if (!ds_) ds_ = ZSTD_createDStream();
    ZSTD_initDStream(ds_);
    in_pos_ = in_end_ = 0;
    in_eof_ = false;
    frame_done_ = true;
    return Status::ok();
  }
  Result<size_t> read(char* out, size_t n) override {
    if (!ds_) KANANA_RETURN_IF_ERROR(reset());
    ZSTD_outBuffer ob{out, n, 0};
    while (ob.pos < n) {
      if (in_pos_ == in_end_ && !in_eof_) KANANA_RETURN_IF_ERROR(refill());
      if (in_pos_ == in_end_ && in_eof_) {
        // Flush whatever the decoder still holds, then decide whether the frame was complete.
        ZSTD_inBuffer ib{nullptr, 0, 0};
        const size_t rc = ZSTD_decompressStream(ds_, &ob, &ib);
        if (ZSTD_isError(rc)) return corrupt(std::string("corrupt zstd data: ") + ZSTD_getErrorName(rc));
        if (ob.pos < n && !frame_done_) return corrupt("truncated zstd stream (unexpected end of file)");
        if (ob.pos == n) break;
        break;
      }
      ZSTD_inBuffer ib{in_.data() + in_pos_, in_end_ - in_pos_, 0};
      const size_t rc = ZSTD_decompressStream(ds_, &ob, &ib);
      in_pos_ += ib.pos;
      if (ZSTD_isError(rc)) return corrupt(std::string("corrupt zstd data: ") + ZSTD_getErrorName(rc));
      frame_done_ = rc == 0;
    }
    return ob.pos;
  }

 private:
  ZSTD_DStream* ds_ = nullptr;
  bool frame_done_ = true;
};

}  // namespace

Result<std::unique_ptr<ByteSource>> open_byte_source(const fs::path& path, const CancelToken* cancel) {
  auto f = std::make_unique<FdFile>(path, cancel);
  KANANA_RETURN_IF_ERROR(f->open());
  unsigned char magic[4] = {0, 0, 0, 0};
  size_t got = 0;
  while (got < 4) {  // a pipe may hand out fewer bytes than asked for
    KANANA_ASSIGN_OR_RETURN(size_t n, f->read(reinterpret_cast<char*>(magic) + got, 4 - got));
    if (n == 0) break;
    got += n;
  }
  f->unread(reinterpret_cast<const char*>(magic), got);
  std::unique_ptr<ByteSource> src;
  if (got >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
    src = std::make_unique<GzipSource>(std::move(f));
  } else if (got >= 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd) {
    src = std::make_unique<ZstdSource>(std::move(f));
  } else {
    std::string ext = path.extension().string();
    for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (ext == ".zst" || ext == ".zstd" || ext == ".gz" || ext == ".gzip")
      return data_loss(path.string() + ": named like a " + (ext[1] == 'z' ? "zstd" : "gzip") +
                       " file but does not start with its magic bytes (corrupt, or not compressed)");
    src = std::make_unique<PlainSource>(std::move(f));
  }
  return src;
}

LineReader::LineReader(std::unique_ptr<ByteSource> source, size_t max_line_bytes)
    : source_(std::move(source)), max_line_bytes_(max_line_bytes) {
  buf_.resize(std::max<size_t>(1 << 20, std::min<size_t>(max_line_bytes_ + 1, 16u << 20)));
}

Status LineReader::fill() {
  if (begin_ > 0) {  // keep the partial line at the front
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);
  KANANA_ASSIGN_OR_RETURN(size_t got, source_->read(buf_.data() + end_, buf_.size() - end_));
  if (got == 0) eof_ = true;
  end_ += got;
  return Status::ok();
}

Result<bool> LineReader::next(Line* line) {
  line->too_long = false;
  line->text.clear();
  line->byte_offset = consumed_;
  size_t scanned = begin_;
  uint64_t skipped = 0;  // bytes of an over-long line already thrown away
  for (;;) {
    const void* nl = std::memchr(buf_.data() + scanned, '\n', end_ - scanned);
    if (nl != nullptr || (eof_ && end_ > begin_)) {
      const size_t stop = nl ? static_cast<size_t>(static_cast<const char*>(nl) - buf_.data()) : end_;
      const uint64_t len = skipped + (stop - begin_);
      line->number = ++line_number_;
      line->length = len;
      if (len > max_line_bytes_) {
        line->too_long = true;
      } else {
        size_t e = stop;
        if (e > begin_ && buf_[e - 1] == '\r') --e;
        line->text.assign(buf_.data() + begin_, e - begin_);
      }
      const size_t next = nl ? stop + 1 : stop;
      consumed_ += (next - begin_);
      begin_ = next;
      return true;
    }
    if (eof_) {
      if (skipped > 0) {  // an over-long last line without newline
        line->number = ++line_number_;
        line->length = skipped;
        line->too_long = true;
        return true;
      }
      return false;
    }
    // No newline yet. Drop what cannot be kept, so memory stays bounded.
    if (skipped + (end_ - begin_) > max_line_bytes_) {
      skipped += end_ - begin_;
      consumed_ += end_ - begin_;
      begin_ = end_;
    }
    scanned = end_;
    const size_t keep_from = begin_;
    KANANA_RETURN_IF_ERROR(fill());
    scanned -= keep_from;  // fill() moved the buffer so begin_ is 0
  }
}

Status LineReader::seek(uint64_t byte_offset, uint64_t line_number) {
  KANANA_RETURN_IF_ERROR(source_->seek(byte_offset));
  begin_ = end_ = 0;
  eof_ = false;
  consumed_ = byte_offset;
  line_number_ = line_number > 0 ? line_number - 1 : 0;
  return Status::ok();
}

}  // namespace kanana::data
