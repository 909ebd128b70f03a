// Packed token shards: the on-disk format written by `kanana data pack` and read by the
// trainer. A packed dataset is a folder:
//
//   DIR/manifest.json        written last; a folder without it is an incomplete pack
//   DIR/shard-00000.bin      training split: header + token array
//   DIR/shard-00000.idx      document boundaries: header + (doc_count + 1) uint64 offsets
//   DIR/val/shard-00000.bin  held-out validation split (same layout), when requested
//
// .bin layout (little-endian): 64-byte ShardHeader, then token_count tokens of
// dtype_bytes each (uint16 when the vocabulary fits, else uint32). Documents are stored
// back to back, each as [BOS] tokens [EOS] (BOS/EOS as the manifest says), so the token
// array is exactly the GPT-style stream "doc EOS doc EOS ..." and windows can be cut
// anywhere. .idx: 32-byte header (magic "KNSHIDX1", version, doc_count) then
// doc_count + 1 offsets into the token array (first 0, last token_count).
//
// Every file is written to a temporary name and renamed when complete; manifest.json holds
// an FNV-1a 64 checksum of each file, verified on request (OpenOptions::verify_checksums).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/files.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/status.h"

namespace kanana::shards {

inline constexpr char kShardMagic[8] = {'K', 'N', 'S', 'H', 'A', 'R', 'D', '1'};
inline constexpr char kIndexMagic[8] = {'K', 'N', 'S', 'H', 'I', 'D', 'X', '1'};
inline constexpr uint32_t kShardFormatVersion = 1;

struct ShardHeader {
  char magic[8];            // kShardMagic
  uint32_t version;         // kShardFormatVersion
  uint32_t dtype_bytes;     // 2 (uint16) or 4 (uint32)
  uint64_t token_count;
  uint64_t doc_count;
  uint64_t reserved[4];     // zero
};
static_assert(sizeof(ShardHeader) == 64);

struct IndexHeader {
  char magic[8];            // kIndexMagic
  uint32_t version;
  uint32_t reserved0;
  uint64_t doc_count;
  uint64_t reserved1;
};
static_assert(sizeof(IndexHeader) == 32);

enum class Split { kTrain, kValidation };
const char* split_name(Split split);  // "train", "val"

// 2 when every id < vocab_size fits in uint16, else 4.
uint32_t dtype_bytes_for_vocab(int64_t vocab_size);

// FNV-1a 64 over bytes, rendered as 16 lowercase hex digits in manifests.
using kanana::fnv1a64;  // base/hash.h
using kanana::hex64;

// ----- manifest.json -----

struct ShardEntry {
  std::string file;         // relative to the pack folder: "shard-00000.bin", "val/shard-00000.bin"
  std::string index_file;   // "shard-00000.idx"
  uint64_t tokens = 0;
  uint64_t docs = 0;
  uint64_t bytes = 0;       // size of the .bin file
  std::string checksum;     // fnv1a64 of the .bin file, hex
  std::string index_checksum;  // fnv1a64 of the .idx file, hex
};

struct InputFileEntry {
  std::string path;
  uint64_t size = 0;
  int64_t mtime = 0;        // seconds since the epoch
};

struct Manifest {
  int format_version = static_cast<int>(kShardFormatVersion);
  std::string source_name;                 // mixture recipes refer to sources by this name
  std::vector<InputFileEntry> inputs;
  std::string text_field;
  // Tokenizer
  std::string tokenizer_path;
  std::string tokenizer_kind;              // "sentencepiece", "hf-bpe"
  std::string tokenizer_fingerprint;       // Tokenizer::fingerprint(); sources must agree
  int64_t vocab_size = 0;
  std::optional<int32_t> bos_id, eos_id;
  bool add_bos = false;                    // each document starts with BOS
  bool add_eos = true;                     // each document ends with EOS (when the tokenizer has one)
  uint32_t dtype_bytes = 2;
  // Content
  std::vector<ShardEntry> train_shards;
  std::vector<ShardEntry> val_shards;
  uint64_t train_tokens = 0, train_docs = 0;
  uint64_t val_tokens = 0, val_docs = 0;
  uint64_t input_records = 0;              // records read, bad ones included
  uint64_t bad_lines = 0;                  // records the reader rejected
  uint64_t empty_docs = 0;                 // documents that tokenized to nothing (skipped)
  double val_fraction = 0;                 // requested held-out fraction
  uint64_t seq_len_hint = 0;               // --seq-len given to pack (0 = none); informational
  std::string created;                     // ISO 8601 UTC
  Json extra = Json::object();             // free-form additions (tool versions, notes)

  const std::vector<ShardEntry>& shards(Split split) const {
    return split == Split::kTrain ? train_shards : val_shards;
  }
  uint64_t tokens(Split split) const { return split == Split::kTrain ? train_tokens : val_tokens; }
  uint64_t docs(Split split) const { return split == Split::kTrain ? train_docs : val_docs; }

  Json to_json() const;
  // `origin` names the file in errors ("data/ko/manifest.json: field 'train_shards[2].tokens' ...").
  static Result<Manifest> from_json(const Json& json, const std::string& origin);
};

Result<Manifest> read_manifest(const std::filesystem::path& pack_dir);
Status write_manifest(const std::filesystem::path& pack_dir, const Manifest& manifest);

// ----- reading -----

struct OpenOptions {
  bool verify_checksums = false;  // hash every byte against the manifest (slow on big packs)
};

// One memory-mapped .bin + .idx pair, validated on open (magic, version, dtype, sizes,
// monotone offsets). Errors are kDataLoss naming the file.
class Shard {
 public:
  static Result<std::shared_ptr<const Shard>> open(const std::filesystem::path& bin_path,
                                                   const std::filesystem::path& idx_path);
  uint64_t num_tokens() const { return token_count_; }
  uint64_t num_docs() const { return doc_count_; }
  uint32_t dtype_bytes() const { return dtype_bytes_; }
  const std::filesystem::path& path() const { return bin_->path(); }

  int32_t token(uint64_t i) const;  // i < num_tokens() (asserted by callers)
  // Copies tokens [begin, begin + count) into out; returns kOutOfRange past the end.
  Status copy_tokens(uint64_t begin, uint64_t count, int32_t* out) const;
  // [begin, end) token offsets of document `doc`, including its BOS/EOS.
  std::pair<uint64_t, uint64_t> doc_range(uint64_t doc) const;
  Result<std::vector<int32_t>> document(uint64_t doc) const;
  // The raw files, for checksums.
  const MappedFile& bin_file() const { return *bin_; }
  const MappedFile& idx_file() const { return *idx_; }

 private:
  Shard() = default;
  std::shared_ptr<MappedFile> bin_, idx_;
  const uint8_t* tokens_ = nullptr;
  const uint64_t* offsets_ = nullptr;
  uint64_t token_count_ = 0, doc_count_ = 0;
  uint32_t dtype_bytes_ = 2;
};

// All shards of one split of a pack, addressed as one token stream and one document list.
class ShardSet {
 public:
  static Result<std::shared_ptr<const ShardSet>> open(const std::filesystem::path& pack_dir,
                                                      Split split = Split::kTrain,
                                                      const OpenOptions& options = {});
  const Manifest& manifest() const { return manifest_; }
  const std::filesystem::path& dir() const { return dir_; }
  Split split() const { return split_; }
  uint64_t num_tokens() const { return total_tokens_; }
  uint64_t num_docs() const { return total_docs_; }
  size_t num_shards() const { return shards_.size(); }
  const Shard& shard(size_t i) const { return *shards_[i]; }

  // Tokens [begin, begin + count) of the concatenated stream (may span shards).
  Status copy_tokens(uint64_t begin, uint64_t count, int32_t* out) const;
  Result<std::vector<int32_t>> document(uint64_t doc) const;
  // Recompute each file's checksum and compare with the manifest (kDataLoss naming the file).
  Status verify_checksums() const;

 private:
  ShardSet() = default;
  std::filesystem::path dir_;
  Split split_ = Split::kTrain;
  Manifest manifest_;
  std::vector<std::shared_ptr<const Shard>> shards_;
  std::vector<uint64_t> token_starts_;  // prefix sums, size num_shards + 1
  std::vector<uint64_t> doc_starts_;
  uint64_t total_tokens_ = 0, total_docs_ = 0;
};

// ----- writing -----

struct ShardWriterOptions {
  uint32_t dtype_bytes = 2;                 // dtype_bytes_for_vocab(vocab)
  uint64_t shard_tokens = 1ull << 28;       // rotate to a new shard at this many tokens
  bool overwrite = false;                   // replace an existing pack (else kAlreadyExists)
};

// Low-level writer: documents in, shards + manifest out. pack() uses it; tests and tools
// that already have token ids (synthetic data, the trainer's tests) can use it directly.
// The folder is usable only after finish() wrote manifest.json.
class ShardSetWriter {
 public:
  static Result<std::unique_ptr<ShardSetWriter>> create(const std::filesystem::path& pack_dir,
                                                        const ShardWriterOptions& options);
  ~ShardSetWriter();
  // `tokens` must already contain BOS/EOS as the pack wants them. Empty documents are refused.
  Status add_document(std::span<const int32_t> tokens, Split split = Split::kTrain);
  // Closes the open shards, fills the shard lists and counts of `manifest` (other fields are
  // the caller's) and writes manifest.json. Returns the manifest as written.
  Result<Manifest> finish(Manifest manifest);

  uint64_t tokens(Split split) const;
  uint64_t docs(Split split) const;

 private:
  struct SplitWriter;
  ShardSetWriter() = default;
  Status flush_shard(SplitWriter& writer);
  std::filesystem::path dir_;
  ShardWriterOptions options_;
  std::unique_ptr<SplitWriter> train_, val_;
};

}  // namespace kanana::shards
