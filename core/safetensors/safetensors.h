// Reading and writing Hugging Face safetensors checkpoints: one memory-mapped file
// (SafetensorsFile), a checkpoint folder with optional sharding index (CheckpointReader),
// and streaming, atomic writers (save_checkpoint / save_safetensors_file).
//
// Format (https://github.com/huggingface/safetensors): 8-byte little-endian header length N,
// N bytes of JSON {"name": {"dtype": "BF16", "shape": [..], "data_offsets": [b, e]}, ...,
// "__metadata__": {"k": "v"}}, padded with spaces to a multiple of 8, then the data section.
// Every byte of the data section belongs to exactly one tensor (no holes, no overlaps).
//
// This header deliberately avoids <torch/torch.h>: at::Tensor is torch::Tensor and
// c10::ScalarType is torch::ScalarType (torch::kBFloat16 etc. work unchanged).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include "base/status.h"

namespace kanana {
class MappedFile;
}

namespace kanana::st {

// Element types of the safetensors spec that LibTorch can hold.
enum class DType { F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL };

// "F32", "BF16", ... as written in the header.
std::string dtype_name(DType dtype);
// Parses a header dtype string; error for names outside DType (e.g. "F8_E4M3", "U16").
Result<DType> parse_dtype(const std::string& name);
size_t dtype_size(DType dtype);
Result<c10::ScalarType> to_scalar_type(DType dtype);
Result<DType> from_scalar_type(c10::ScalarType type);

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte offsets in the data section, [begin, end)
  int64_t numel() const;
  uint64_t nbytes() const { return end - begin; }
};

// One .safetensors file, memory-mapped and fully validated on open().
class SafetensorsFile {
 public:
  static Result<std::shared_ptr<SafetensorsFile>> open(const std::filesystem::path& path);

  const std::filesystem::path& path() const;
  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // in header (file) order
  const TensorInfo* find(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }  // "__metadata__"
  uint64_t file_size() const;
  uint64_t data_offset() const { return data_offset_; }  // 8 + header length

  // Zero-copy CPU tensor viewing the mapping when `as` is unset or equals the stored dtype
  // (the tensor keeps the mapping alive); otherwise a converted copy. Read-only semantics:
  // the mapping is PROT_READ, so callers clone() before in-place writes.
  Result<at::Tensor> tensor(const std::string& name,
                            std::optional<c10::ScalarType> as = std::nullopt) const;

  // Drops the pages of `name` from this process's resident set (madvise DONTNEED) once a
  // converted copy has been made, so loading as fp32 does not keep the bf16 file resident too.
  // Views of the tensor stay valid: touching them again re-reads the (unchanged) file pages.
  void release_pages(const std::string& name) const;

 private:
  SafetensorsFile() = default;
  std::shared_ptr<MappedFile> file_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> by_name_;
  std::map<std::string, std::string> metadata_;
  uint64_t data_offset_ = 0;
};

// A checkpoint folder: model.safetensors, or model.safetensors.index.json + shards; or a
// single .safetensors / .index.json file path. All shards are opened (and validated) up front.
class CheckpointReader {
 public:
  static Result<std::unique_ptr<CheckpointReader>> open(const std::filesystem::path& path_or_dir);

  std::vector<std::string> names() const;  // sorted
  bool has(const std::string& name) const;
  Result<TensorInfo> info(const std::string& name) const;
  Result<at::Tensor> tensor(const std::string& name,
                            std::optional<c10::ScalarType> as = std::nullopt) const;
  void release_pages(const std::string& name) const;  // see SafetensorsFile::release_pages
  // Which shard holds `name` (nullptr if none).
  const SafetensorsFile* file_of(const std::string& name) const;
  const std::vector<std::shared_ptr<SafetensorsFile>>& files() const { return files_; }
  // "__metadata__" of the first file, or the index's "metadata" merged over it.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  CheckpointReader() = default;
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, size_t> where_;  // tensor name -> index into files_
  std::map<std::string, std::string> metadata_;
};

struct SaveOptions {
  std::map<std::string, std::string> metadata = {{"format", "pt"}};
  uint64_t max_shard_bytes = 0;  // 0 = one file
};

// Writes model.safetensors, or model-0000i-of-0000N.safetensors + model.safetensors.index.json
// when the data exceeds max_shard_bytes; atomic (temp + rename) per file. Tensors keep their
// dtype; non-contiguous tensors are made contiguous; CUDA tensors are copied to CPU. Tensors
// are streamed to disk one at a time, so memory stays at about one tensor.
Status save_checkpoint(const std::filesystem::path& dir,
                       const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const SaveOptions& options = {});
Status save_safetensors_file(const std::filesystem::path& file,
                             const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                             const std::map<std::string, std::string>& metadata);

// Streaming variant for checkpoints that do not fit in memory twice (conversion, generation):
// `layout` declares name/dtype/shape of every tensor (begin/end are ignored); `produce` is
// called once per tensor, in on-disk order, and its result is written and dropped at once.
using TensorProducer = std::function<Result<at::Tensor>(const TensorInfo&)>;
Status save_checkpoint(const std::filesystem::path& dir, const std::vector<TensorInfo>& layout,
                       const TensorProducer& produce, const SaveOptions& options = {});

// The reference writer's on-disk order: descending dtype alignment, then name.
void sort_like_reference(std::vector<TensorInfo>& layout);

// Streaming writer for tensors produced one at a time (e.g. generated or converted on the fly):
// the header is fixed up front from the declared names/dtypes/shapes, then each tensor's bytes
// are appended in declaration order. Used by save_safetensors_file.
class SafetensorsWriter {
 public:
  static Result<std::unique_ptr<SafetensorsWriter>> open(const std::filesystem::path& file,
                                                         std::vector<TensorInfo> layout,
                                                         const std::map<std::string, std::string>& metadata);
  ~SafetensorsWriter();
  // The next tensor in declaration order; dtype and shape must match what was declared.
  Status write(const std::string& name, const at::Tensor& tensor);
  Status commit();  // all declared tensors written -> fsync + rename

 private:
  SafetensorsWriter();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kanana::st
