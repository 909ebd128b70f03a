// Reading packed shards: memory-mapped .bin/.idx pairs validated on open, and ShardSet,
// which addresses all shards of one split as a single token stream.
#include <algorithm>
#include <cstring>

#include "shards/shard.h"

namespace kanana::shards {

Result<std::shared_ptr<const Shard>> Shard::open(const std::filesystem::path& bin_path,
                                                 const std::filesystem::path& idx_path) {
  KANANA_ASSIGN_OR_RETURN(auto bin, MappedFile::open(bin_path));
  KANANA_ASSIGN_OR_RETURN(auto idx, MappedFile::open(idx_path));
  const std::string bin_name = bin_path.string();
  const std::string idx_name = idx_path.string();

  if (bin->size() < sizeof(ShardHeader))
    return data_loss(bin_name + ": truncated: " + std::to_string(bin->size()) +
                     " bytes is shorter than the 64-byte shard header");
  ShardHeader h;
  std::memcpy(&h, bin->data(), sizeof h);
  if (std::memcmp(h.magic, kShardMagic, 8) != 0)
    return data_loss(bin_name + ": not a token shard (magic is not KNSHARD1)");
  if (h.version != kShardFormatVersion)
    return data_loss(bin_name + ": shard format version " + std::to_string(h.version) + ", this build reads " +
                     std::to_string(kShardFormatVersion));
  if (h.dtype_bytes != 2 && h.dtype_bytes != 4)
    return data_loss(bin_name + ": invalid dtype size " + std::to_string(h.dtype_bytes) + " (expected 2 or 4)");
  if (h.token_count > (bin->size() - sizeof h) / h.dtype_bytes ||
      sizeof h + h.token_count * h.dtype_bytes != bin->size())
    return data_loss(bin_name + ": " + std::to_string(bin->size()) + " bytes but the header promises " +
                     std::to_string(h.token_count) + " tokens of " + std::to_string(h.dtype_bytes) + " bytes (" +
                     std::to_string(sizeof h + h.token_count * h.dtype_bytes) + " bytes): truncated or corrupt");

  if (idx->size() < sizeof(IndexHeader))
    return data_loss(idx_name + ": truncated: shorter than the 32-byte index header");
  IndexHeader ih;
  std::memcpy(&ih, idx->data(), sizeof ih);
  if (std::memcmp(ih.magic, kIndexMagic, 8) != 0)
    return data_loss(idx_name + ": not a shard index (magic is not KNSHIDX1)");
  if (ih.version != kShardFormatVersion)
    return data_loss(idx_name + ": index format version " + std::to_string(ih.version) + " is not supported");
  if (ih.doc_count != h.doc_count)
    return data_loss(idx_name + ": holds " + std::to_string(ih.doc_count) + " documents but " + bin_name +
                     " says " + std::to_string(h.doc_count));
  if (ih.doc_count >= (idx->size() - sizeof ih) / 8 ||
      sizeof ih + (ih.doc_count + 1) * 8 != idx->size())
    return data_loss(idx_name + ": " + std::to_string(idx->size()) + " bytes, expected " +
                     std::to_string(sizeof ih + (ih.doc_count + 1) * 8) + " for " +
                     std::to_string(ih.doc_count) + " documents: truncated or corrupt");
  // mmap'd data is page-aligned and the header is 32 bytes, so offsets are 8-byte aligned.
  const auto* offsets = reinterpret_cast<const uint64_t*>(idx->data() + sizeof ih);
  if (offsets[0] != 0 || offsets[ih.doc_count] != h.token_count)
    return data_loss(idx_name + ": document offsets must run from 0 to the token count " +
                     std::to_string(h.token_count));
  for (uint64_t d = 0; d < ih.doc_count; ++d) {
    if (offsets[d + 1] <= offsets[d])
      return data_loss(idx_name + ": document " + std::to_string(d) + " has non-increasing offsets " +
                       std::to_string(offsets[d]) + ".." + std::to_string(offsets[d + 1]));
  }

  std::shared_ptr<Shard> shard(new Shard());
  shard->bin_ = std::move(bin);
  shard->idx_ = std::move(idx);
  shard->tokens_ = shard->bin_->data() + sizeof h;
  shard->offsets_ = offsets;
  shard->token_count_ = h.token_count;
  shard->doc_count_ = h.doc_count;
  shard->dtype_bytes_ = h.dtype_bytes;
  return std::shared_ptr<const Shard>(std::move(shard));
}

int32_t Shard::token(uint64_t i) const {
  if (dtype_bytes_ == 2) {
    uint16_t v;
    std::memcpy(&v, tokens_ + i * 2, 2);
    return v;
  }
  uint32_t v;
  std::memcpy(&v, tokens_ + i * 4, 4);
  return static_cast<int32_t>(v);
}

Status Shard::copy_tokens(uint64_t begin, uint64_t count, int32_t* out) const {
  if (begin > token_count_ || count > token_count_ - begin)
    return out_of_range(path().string() + ": tokens [" + std::to_string(begin) + ", " +
                        std::to_string(begin + count) + ") past the end (" + std::to_string(token_count_) + ")");
  if (dtype_bytes_ == 2) {
    const uint8_t* p = tokens_ + begin * 2;
    for (uint64_t i = 0; i < count; ++i) {
      uint16_t v;
      std::memcpy(&v, p + i * 2, 2);
      out[i] = v;
    }
  } else {
    const uint8_t* p = tokens_ + begin * 4;
    for (uint64_t i = 0; i < count; ++i) {
      uint32_t v;
      std::memcpy(&v, p + i * 4, 4);
      out[i] = static_cast<int32_t>(v);
    }
  }
  return Status::ok();
}

std::pair<uint64_t, uint64_t> Shard::doc_range(uint64_t doc) const { return {offsets_[doc], offsets_[doc + 1]}; }

Result<std::vector<int32_t>> Shard::document(uint64_t doc) const {
  if (doc >= doc_count_)
    return out_of_range(path().string() + ": document " + std::to_string(doc) + " of " + std::to_string(doc_count_));
  auto [b, e] = doc_range(doc);
  std::vector<int32_t> out(e - b);
  KANANA_RETURN_IF_ERROR(copy_tokens(b, e - b, out.data()));
  return out;
}

Result<std::shared_ptr<const ShardSet>> ShardSet::open(const std::filesystem::path& pack_dir, Split split,
                                                       const OpenOptions& options) {
  KANANA_ASSIGN_OR_RETURN(Manifest manifest, read_manifest(pack_dir));
  std::shared_ptr<ShardSet> set(new ShardSet());
  set->dir_ = pack_dir;
  set->split_ = split;
  set->token_starts_.push_back(0);
  set->doc_starts_.push_back(0);
  for (const auto& entry : manifest.shards(split)) {
    KANANA_ASSIGN_OR_RETURN(auto shard, Shard::open(pack_dir / entry.file, pack_dir / entry.index_file));
    if (shard->num_tokens() != entry.tokens || shard->num_docs() != entry.docs)
      return data_loss((pack_dir / entry.file).string() + ": holds " + std::to_string(shard->num_tokens()) +
                       " tokens / " + std::to_string(shard->num_docs()) + " documents but manifest.json says " +
                       std::to_string(entry.tokens) + " / " + std::to_string(entry.docs));
    if (shard->dtype_bytes() != manifest.dtype_bytes)
      return data_loss((pack_dir / entry.file).string() + ": dtype differs from manifest.json");
    set->total_tokens_ += shard->num_tokens();
    set->total_docs_ += shard->num_docs();
    set->token_starts_.push_back(set->total_tokens_);
    set->doc_starts_.push_back(set->total_docs_);
    set->shards_.push_back(std::move(shard));
  }
  set->manifest_ = std::move(manifest);
  if (options.verify_checksums) KANANA_RETURN_IF_ERROR(set->verify_checksums());
  return std::shared_ptr<const ShardSet>(std::move(set));
}

Status ShardSet::copy_tokens(uint64_t begin, uint64_t count, int32_t* out) const {
  if (begin > total_tokens_ || count > total_tokens_ - begin)
    return out_of_range(dir_.string() + ": tokens [" + std::to_string(begin) + ", " + std::to_string(begin + count) +
                        ") past the end of the " + split_name(split_) + " split (" + std::to_string(total_tokens_) + ")");
  // First shard whose range contains `begin`.
  size_t s = std::upper_bound(token_starts_.begin(), token_starts_.end(), begin) - token_starts_.begin() - 1;
  while (count > 0) {
    const uint64_t local = begin - token_starts_[s];
    const uint64_t n = std::min(count, shards_[s]->num_tokens() - local);
    KANANA_RETURN_IF_ERROR(shards_[s]->copy_tokens(local, n, out));
    out += n;
    begin += n;
    count -= n;
    ++s;
  }
  return Status::ok();
}

Result<std::vector<int32_t>> ShardSet::document(uint64_t doc) const {
  if (doc >= total_docs_)
    return out_of_range(dir_.string() + ": document " + std::to_string(doc) + " of " + std::to_string(total_docs_));
  size_t s = std::upper_bound(doc_starts_.begin(), doc_starts_.end(), doc) - doc_starts_.begin() - 1;
  return shards_[s]->document(doc - doc_starts_[s]);
}

Status ShardSet::verify_checksums() const {
  const auto& entries = manifest_.shards(split_);
  for (size_t i = 0; i < shards_.size(); ++i) {
    const Shard& s = *shards_[i];
    const std::string bin = hex64(fnv1a64(s.bin_file().data(), s.bin_file().size()));
    if (bin != entries[i].checksum)
      return data_loss((dir_ / entries[i].file).string() + ": checksum mismatch (file fnv1a64:" + bin +
                       ", manifest fnv1a64:" + entries[i].checksum + "): the shard is corrupt");
    const std::string idx = hex64(fnv1a64(s.idx_file().data(), s.idx_file().size()));
    if (idx != entries[i].index_checksum)
      return data_loss((dir_ / entries[i].index_file).string() + ": checksum mismatch (file fnv1a64:" + idx +
                       ", manifest fnv1a64:" + entries[i].index_checksum + "): the index is corrupt");
  }
  return Status::ok();
}

}  // namespace kanana::shards
