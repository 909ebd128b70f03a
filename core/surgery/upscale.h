// Depth up-scaling (SOLAR, used by Kanana for 8B → 9.8B and 26.8B → 32.5B; kanana-facts.md
// §4): a deeper model whose layer j is a copy of source layer map[j]. The default SOLAR map
// takes two copies of an n-layer model, drops the last m layers of the first and the first
// m of the second, and concatenates them: [0, n − m) ++ [m, n), 2(n − m) layers (32 layers,
// m = 8 → 48). Embeddings, final norm and head are copied unchanged; continued pre-training
// follows (resources/recipes/train/dus-continued-pretrain.json).
//
// The checkpoint is written tensor by tensor from the source's memory map, so an 8B model
// is up-scaled without holding either model in memory. Torch-free header.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/config.h"

namespace kanana::surgery {

// [0, n − m) ++ [m, n). Error unless 0 <= m < n.
Result<std::vector<int64_t>> solar_layer_map(int64_t layers, int64_t drop);

// "0-23,8-31" (inclusive ranges) or "0,1,2,2,3", or a mix; every index must be < `layers`.
Result<std::vector<int64_t>> parse_layer_map(const std::string& text, int64_t layers);
std::string format_layer_map(const std::vector<int64_t>& map);  // compact ranges: "0-23,8-31"

// The config of the up-scaled model (num_hidden_layers = map size).
Result<model::LlamaConfig> upscaled_config(const model::LlamaConfig& source, const std::vector<int64_t>& map);

struct UpscaleResult {
  model::LlamaConfig config;
  std::vector<int64_t> layer_map;
};

// Reads the Hugging Face folder `source_dir`, writes `out_dir` (config.json,
// generation_config.json, model.safetensors with the layer map in its metadata, and the
// source's tokenizer files). Dtype and tensor names as in the source.
Result<UpscaleResult> upscale_checkpoint(const std::filesystem::path& source_dir, const std::filesystem::path& out_dir,
                                         const std::vector<int64_t>& layer_map);

// Copies the tokenizer a model folder is used with (tok::model_tokenizer_path: its own, or its
// run's copy) into another model folder; a model without any tokenizer copies nothing.
Status copy_tokenizer_files(const std::filesystem::path& from_dir, const std::filesystem::path& to_dir);

}  // namespace kanana::surgery
