// The Torch-free half of the safetensors reader: dtypes, tensor entries, one memory-mapped
// .safetensors file validated completely on open (SafetensorsFile) and a checkpoint folder with
// an optional sharding index (CheckpointReader). Library kanana_safetensors_reader, no LibTorch:
// the CPU inference engine (core/infer) reads raw bytes through bytes().
//
// The two tensor() members return LibTorch tensors; they are declared here against forward
// declarations and defined in kanana_safetensors (safetensors.h, with LibTorch), so Torch users
// keep one class and Torch-free users never see, call or link them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/status.h"

namespace at {
class Tensor;
}
namespace c10 {
enum class ScalarType : int8_t;
}

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
// "[2, 3]": a shape as error messages write it.
std::string shape_string(const std::vector<int64_t>& shape);

struct TensorInfo;
// The reference writer's on-disk order: descending dtype alignment, then name.
void sort_like_reference(std::vector<TensorInfo>& layout);

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
  // (Defined in kanana_safetensors, with LibTorch.)
  Result<at::Tensor> tensor(const std::string& name,
                            std::optional<c10::ScalarType> as = std::nullopt) const;

  // The stored bytes of `name` in the mapping (valid while this file lives; read-only; aligned
  // as the writer left them, the reference writer aligns to the element size).
  Result<std::span<const uint8_t>> bytes(const std::string& name) const;

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
// The "__metadata__" key of a checkpoint written by the CPU engine (infer::LlamaEngine::save):
// its value is the weight format ("q4", "int8", "bf16", "f32") the tensors are stored in, in the
// engine's own layout. Only the engine reads such a folder; LibTorch loaders refuse it by this key.
inline constexpr const char* kEngineWeightsKey = "kanana.engine_weights";

class CheckpointReader {
 public:
  static Result<std::unique_ptr<CheckpointReader>> open(const std::filesystem::path& path_or_dir);

  std::vector<std::string> names() const;  // sorted
  bool has(const std::string& name) const;
  Result<TensorInfo> info(const std::string& name) const;
  Result<at::Tensor> tensor(const std::string& name,
                            std::optional<c10::ScalarType> as = std::nullopt) const;  // kanana_safetensors
  Result<std::span<const uint8_t>> bytes(const std::string& name) const;  // see SafetensorsFile::bytes
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

}  // namespace kanana::st
