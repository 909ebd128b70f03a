// Hugging Face checkpoint folders <-> LlamaForCausalLM: config.json + model.safetensors
// (or sharded with model.safetensors.index.json), tensor names equal to the module names.
// Loading checks every shape against config.json before copying and copies one tensor at a
// time from the memory map into the parameters, so memory peaks at one model (in the target
// dtype), never two.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/config.h"
#include "model/llama.h"

namespace kanana::st {
class CheckpointReader;
}

namespace kanana::model {

struct LoadOptions {
  std::optional<torch::ScalarType> dtype;  // unset: config.json's torch_dtype
  torch::Device device = torch::kCPU;
  bool allow_unexpected = false;           // extra tensors: warning instead of error
};

struct LoadedModel {
  LlamaConfig config;
  LlamaForCausalLM model{nullptr};
  std::vector<std::string> warnings;  // ignored tensors, untied head of an embedding model ...
};

Result<LoadedModel> load_model(const std::filesystem::path& dir, const LoadOptions& options = {});

// Copy the reader's tensors into an existing model (shapes checked, names mapped 1:1).
// `origin` names the checkpoint in errors. Appends to `warnings` when given.
Status load_weights(LlamaForCausalLM& model, const st::CheckpointReader& reader, const std::string& origin,
                    bool allow_unexpected = false, std::vector<std::string>* warnings = nullptr);

struct SaveModelOptions {
  std::optional<torch::ScalarType> dtype;       // unset: the parameters' dtype
  uint64_t max_shard_bytes = 0;                 // 0 = single model.safetensors
  std::map<std::string, std::string> metadata;  // added to the safetensors "__metadata__"
};

// Writes config.json (torch_dtype = saved dtype), generation_config.json and the weights.
// Tied models have no lm_head.weight in the file, like transformers.
Status save_model(const std::filesystem::path& dir, LlamaForCausalLM& model, const SaveModelOptions& options = {});

// Names and shapes the checkpoint must have for `config` (lm_head only when untied).
std::vector<std::pair<std::string, std::vector<int64_t>>> expected_tensors(const LlamaConfig& config);

}  // namespace kanana::model
