// `kanana model export-gguf`: a Hugging Face Llama checkpoint folder (config.json, safetensors
// or a sharded index, tokenizer) -> one GGUF file that llama.cpp loads. Everything that can be
// refused (architecture, tokenizer, missing or misshapen tensors, widths that the chosen block
// type cannot hold) is checked before the output is opened; the file is written under a
// temporary name and renamed at the end, so a failed export leaves no partial file.
// Tensors are converted one at a time (memory: about one fp32 tensor and its quantized copy).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "base/progress.h"
#include "base/status.h"
#include "gguf/quants.h"

namespace kanana::gguf {

struct LlamaExportOptions {
  GgmlType type = GgmlType::kF32;  // matrices; norms and rope factors stay F32
  std::string name;                // general.name; empty: the folder's name
  CancelToken* cancel = nullptr;
  // Called after each tensor: (tensors done, tensors total, name of the last one).
  std::function<void(int64_t, int64_t, const std::string&)> on_tensor;
};

struct LlamaExportSummary {
  int64_t tensors = 0;
  uint64_t file_bytes = 0;
  std::string vocab;  // LlamaVocab::summary
};

Result<LlamaExportSummary> export_llama_gguf(const std::filesystem::path& dir, const std::filesystem::path& out,
                                             const LlamaExportOptions& options = {});

}  // namespace kanana::gguf
