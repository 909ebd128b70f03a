// Reading and writing Hugging Face safetensors checkpoints: one memory-mapped file
// (SafetensorsFile), a checkpoint folder with optional sharding index (CheckpointReader),
// and streaming, atomic writers (save_checkpoint / save_safetensors_file; the Torch-free
// SafetensorsWriter is in writer.h).
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
#include "safetensors/reader.h"
#include "safetensors/writer.h"

namespace kanana::st {

// Element types and LibTorch scalar types.
Result<c10::ScalarType> to_scalar_type(DType dtype);
Result<DType> from_scalar_type(c10::ScalarType type);

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

}  // namespace kanana::st
