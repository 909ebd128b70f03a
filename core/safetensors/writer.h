// Streaming, atomic safetensors writer without LibTorch (library kanana_safetensors_reader):
// the header is fixed up front from the declared names/dtypes/shapes, then each tensor's bytes
// are appended in declaration order and commit() fsyncs and renames the temp file into place.
// The CPU inference engine writes quantized checkpoints through write_bytes(); LibTorch users
// (safetensors.h) also get write(name, at::Tensor), defined in kanana_safetensors.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "safetensors/reader.h"

namespace kanana::st {

class SafetensorsWriter {
 public:
  // Computes every tensor's data_offsets from the declared order; refuses duplicate names,
  // "__metadata__" as a name and negative dimensions.
  static Result<std::unique_ptr<SafetensorsWriter>> open(const std::filesystem::path& file,
                                                         std::vector<TensorInfo> layout,
                                                         const std::map<std::string, std::string>& metadata);
  ~SafetensorsWriter();
  // The next tensor in declaration order as raw little-endian bytes; the size must be exactly
  // what its declared dtype and shape take.
  Status write_bytes(const std::string& name, std::span<const uint8_t> bytes);
  // The same from a LibTorch tensor: dtype and shape must match what was declared (defined in
  // kanana_safetensors; CUDA tensors are copied to the CPU, strided ones made contiguous).
  Status write(const std::string& name, const at::Tensor& tensor);
  Status commit();  // all declared tensors written -> fsync + rename

  // The declared tensor that comes next (nullptr when all were written).
  const TensorInfo* next() const;
  const std::filesystem::path& file() const;

 private:
  SafetensorsWriter();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kanana::st
