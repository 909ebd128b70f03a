// Writing packed shards: documents are appended to the open shard of their split; a shard is
// closed (header patched, fsync, rename from its temporary name, index and checksums written)
// once it reaches the size limit, and manifest.json is written last by finish().
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "shards/shard.h"

namespace kanana::shards {

namespace fs = std::filesystem;

struct ShardSetWriter::SplitWriter {
  Split split = Split::kTrain;
  fs::path dir;             // pack folder or pack/val
  std::string prefix;       // "" or "val/" for manifest file names
  int fd = -1;
  fs::path bin_path, tmp_path;
  uint64_t shard_tokens = 0;
  std::vector<uint64_t> offsets{0};
  std::vector<uint8_t> buffer;
  uint64_t total_tokens = 0, total_docs = 0;
  std::vector<ShardEntry> entries;

  ~SplitWriter() {
    if (fd >= 0) {
      ::close(fd);
      std::error_code ec;
      fs::remove(tmp_path, ec);
    }
  }
};

namespace {

std::string shard_stem(size_t index) {
  char name[32];
  std::snprintf(name, sizeof name, "shard-%05zu", index);
  return name;
}

Status write_all(int fd, const void* data, size_t size, const fs::path& path) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_status(path, "cannot write");
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return Status::ok();
}

Result<std::string> file_checksum(const fs::path& path) {
  KANANA_ASSIGN_OR_RETURN(auto mapped, MappedFile::open(path));
  return hex64(fnv1a64(mapped->data(), mapped->size()));
}

}  // namespace

Result<std::unique_ptr<ShardSetWriter>> ShardSetWriter::create(const fs::path& pack_dir,
                                                               const ShardWriterOptions& options) {
  if (options.dtype_bytes != 2 && options.dtype_bytes != 4)
    return invalid_argument("dtype_bytes must be 2 or 4, got " + std::to_string(options.dtype_bytes));
  if (options.shard_tokens == 0) return invalid_argument("shard_tokens must be > 0");
  std::error_code ec;
  if (fs::exists(pack_dir, ec)) {
    if (!fs::is_directory(pack_dir, ec)) return already_exists(pack_dir.string() + " exists and is not a folder");
    if (!fs::is_empty(pack_dir, ec)) {
      if (!options.overwrite)
        return already_exists(pack_dir.string() + " is not empty (use --overwrite to replace the pack in it)");
      // Remove the manifest first so the folder reads as incomplete while it is rewritten;
      // remove only files this writer makes, never anything else the user keeps there.
      fs::remove(pack_dir / "manifest.json", ec);
      for (const fs::path& d : {pack_dir, pack_dir / "val"}) {
        if (!fs::is_directory(d, ec)) continue;
        for (const auto& entry : fs::directory_iterator(d, ec)) {
          const std::string name = entry.path().filename().string();
          if (name.rfind("shard-", 0) == 0) fs::remove(entry.path(), ec);
        }
      }
      fs::remove(pack_dir / "val", ec);  // only succeeds when empty
    }
  }
  fs::create_directories(pack_dir, ec);
  if (ec) return permission_denied("cannot create " + pack_dir.string() + ": " + ec.message());
  std::unique_ptr<ShardSetWriter> w(new ShardSetWriter());
  w->dir_ = pack_dir;
  w->options_ = options;
  w->train_ = std::make_unique<SplitWriter>();
  w->train_->dir = pack_dir;
  w->val_ = std::make_unique<SplitWriter>();
  w->val_->split = Split::kValidation;
  w->val_->dir = pack_dir / "val";
  w->val_->prefix = "val/";
  return w;
}

ShardSetWriter::~ShardSetWriter() = default;

uint64_t ShardSetWriter::tokens(Split split) const {
  return split == Split::kTrain ? train_->total_tokens : val_->total_tokens;
}
uint64_t ShardSetWriter::docs(Split split) const {
  return split == Split::kTrain ? train_->total_docs : val_->total_docs;
}

Status ShardSetWriter::add_document(std::span<const int32_t> tokens, Split split) {
  if (tokens.empty()) return invalid_argument("empty documents cannot be packed");
  SplitWriter& w = split == Split::kTrain ? *train_ : *val_;
  const int64_t limit = options_.dtype_bytes == 2 ? 65536 : int64_t(1) << 32;
  for (int32_t t : tokens) {
    if (t < 0 || t >= limit)
      return invalid_argument("token id " + std::to_string(t) + " does not fit the shard dtype (" +
                              (options_.dtype_bytes == 2 ? "uint16" : "uint32") + ")");
  }
  if (w.fd < 0) {
    std::error_code ec;
    fs::create_directories(w.dir, ec);
    if (ec) return permission_denied("cannot create " + w.dir.string() + ": " + ec.message());
    w.bin_path = w.dir / (shard_stem(w.entries.size()) + ".bin");
    w.tmp_path = w.bin_path;
    w.tmp_path += ".tmp-" + std::to_string(::getpid());
    w.fd = ::open(w.tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w.fd < 0) return errno_status(w.tmp_path, "cannot create");
    const ShardHeader placeholder{};  // patched when the shard is closed
    KANANA_RETURN_IF_ERROR(write_all(w.fd, &placeholder, sizeof placeholder, w.tmp_path));
    w.shard_tokens = 0;
    w.offsets.assign(1, 0);
  }
  const size_t old = w.buffer.size();
  w.buffer.resize(old + tokens.size() * options_.dtype_bytes);
  uint8_t* p = w.buffer.data() + old;
  if (options_.dtype_bytes == 2) {
    for (int32_t t : tokens) { const uint16_t v = static_cast<uint16_t>(t); std::memcpy(p, &v, 2); p += 2; }
  } else {
    for (int32_t t : tokens) { const uint32_t v = static_cast<uint32_t>(t); std::memcpy(p, &v, 4); p += 4; }
  }
  w.shard_tokens += tokens.size();
  w.offsets.push_back(w.shard_tokens);
  w.total_tokens += tokens.size();
  w.total_docs += 1;
  if (w.buffer.size() >= (4u << 20)) {
    KANANA_RETURN_IF_ERROR(write_all(w.fd, w.buffer.data(), w.buffer.size(), w.tmp_path));
    w.buffer.clear();
  }
  // Documents are never split across shards, so a shard may pass the limit by one document.
  if (w.shard_tokens >= options_.shard_tokens) KANANA_RETURN_IF_ERROR(flush_shard(w));
  return Status::ok();
}

Status ShardSetWriter::flush_shard(SplitWriter& w) {
  if (w.fd < 0) return Status::ok();
  KANANA_RETURN_IF_ERROR(write_all(w.fd, w.buffer.data(), w.buffer.size(), w.tmp_path));
  w.buffer.clear();
  ShardHeader h{};
  std::memcpy(h.magic, kShardMagic, 8);
  h.version = kShardFormatVersion;
  h.dtype_bytes = options_.dtype_bytes;
  h.token_count = w.shard_tokens;
  h.doc_count = w.offsets.size() - 1;
  if (::pwrite(w.fd, &h, sizeof h, 0) != static_cast<ssize_t>(sizeof h))
    return errno_status(w.tmp_path, "cannot write header of");
  if (::fsync(w.fd) != 0) return errno_status(w.tmp_path, "cannot fsync");
  ::close(w.fd);
  w.fd = -1;
  std::error_code ec;
  fs::rename(w.tmp_path, w.bin_path, ec);
  if (ec) return internal_error("cannot rename " + w.tmp_path.string() + " to " + w.bin_path.string() + ": " + ec.message());

  fs::path idx_path = w.bin_path;
  idx_path.replace_extension(".idx");
  {
    KANANA_ASSIGN_OR_RETURN(auto idx, AtomicFileWriter::open(idx_path));
    IndexHeader ih{};
    std::memcpy(ih.magic, kIndexMagic, 8);
    ih.version = kShardFormatVersion;
    ih.doc_count = h.doc_count;
    KANANA_RETURN_IF_ERROR(idx->write(&ih, sizeof ih));
    KANANA_RETURN_IF_ERROR(idx->write(w.offsets.data(), w.offsets.size() * sizeof(uint64_t)));
    KANANA_RETURN_IF_ERROR(idx->commit());
  }
  ShardEntry e;
  e.file = w.prefix + w.bin_path.filename().string();
  e.index_file = w.prefix + idx_path.filename().string();
  e.tokens = h.token_count;
  e.docs = h.doc_count;
  e.bytes = sizeof h + h.token_count * options_.dtype_bytes;
  KANANA_ASSIGN_OR_RETURN(e.checksum, file_checksum(w.bin_path));
  KANANA_ASSIGN_OR_RETURN(e.index_checksum, file_checksum(idx_path));
  w.entries.push_back(std::move(e));
  return Status::ok();
}

Result<Manifest> ShardSetWriter::finish(Manifest manifest) {
  KANANA_RETURN_IF_ERROR(flush_shard(*train_));
  KANANA_RETURN_IF_ERROR(flush_shard(*val_));
  manifest.dtype_bytes = options_.dtype_bytes;
  manifest.train_shards = train_->entries;
  manifest.val_shards = val_->entries;
  manifest.train_tokens = train_->total_tokens;
  manifest.train_docs = train_->total_docs;
  manifest.val_tokens = val_->total_tokens;
  manifest.val_docs = val_->total_docs;
  if (manifest.created.empty()) {
    const std::time_t now = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    manifest.created = buf;
  }
  KANANA_RETURN_IF_ERROR(write_manifest(dir_, manifest));
  return manifest;
}

}  // namespace kanana::shards
