// Importance scores of a model's prunable parts, as Minitron/Kanana compute them on a small
// calibration set with forward passes only (kanana-facts.md §5), and their file format.
// Torch-free: the GUI reads and plots score files without LibTorch; computing them is
// importance_estimation.h.
//
// What is scored (per token, then aggregated over the sequence, then over the batch):
//   heads     L2 norm of each query head's attention output before o_proj      [layer][head]
//   neurons   the SwiGLU intermediate act(gate_proj(x))·up_proj(x)            [layer][neuron]
//   channels  RMSNorm outputs (input_layernorm and post_attention_layernorm of
//             every layer, and the final norm), summed over all those norms    [hidden]
//             (or the first layer's input_layernorm only: sum_channels_over_layers = false)
//   block importance  1 − mean cos(x_in, x_out) of each decoder layer          [layer]
//   layer loss        the calibration loss with that one layer skipped         [layer]
//
// Aggregation. Per sample, the per-token values of a channel/neuron/head are reduced over
// its real (unpadded) tokens by `sequence`: mean or sum (signed), l2 (root of the sum of
// squares) or max (largest magnitude). The per-sample values are then reduced over all
// calibration samples by `batch` on magnitudes: l2 (root of the sum of squares), mean or
// sum (of absolute values) or max. Every score is therefore >= 0 and larger = more
// important. Kanana's best setting is batch l2, sequence mean (Table 15).
//
// File: JSON {"format": "kanana-importance", "version": 1, "model": {fingerprint},
// "config": {config.json}, "options": {...}, "calibration": "...", "samples": N,
// "tokens": N, "base_loss": x, "heads": [[...]], "neurons": [[...]], "channels": [...],
// "block_importance": [...], "layer_loss": [...]}, written atomically.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "model/config.h"

namespace kanana::surgery {

enum class Aggregation { kMean, kL2, kSum, kMax };
const char* aggregation_name(Aggregation a);  // "mean", "l2", "sum", "max"
Result<Aggregation> parse_aggregation(const std::string& name);

struct ImportanceOptions {
  Aggregation batch = Aggregation::kL2;        // Kanana/Minitron best
  Aggregation sequence = Aggregation::kMean;
  bool sum_channels_over_layers = true;        // Kanana: 36.41 with summing, 13.81 without
  bool layer_loss = true;                      // one extra partial forward per layer and batch
  int64_t batch_size = 8;                      // calibration rows per forward pass
};

// Identifies the model scores were computed on. `structure`: FNV-1a 64 of config.json
// (without torch_dtype) and every tensor's name and shape. `weights`: FNV-1a 64 of a fixed
// strided sample of every tensor's values as float32 (the same weights loaded as bf16 or
// fp32 from one bf16 file agree; another training run of the same shape does not).
struct ModelFingerprint {
  std::string structure;
  std::string weights;
  bool operator==(const ModelFingerprint&) const = default;
};

struct ImportanceScores {
  ModelFingerprint model;
  model::LlamaConfig config;
  ImportanceOptions options;
  std::string calibration;                     // where the calibration text came from
  int64_t samples = 0;                         // calibration rows
  int64_t tokens = 0;                          // positions scored (real tokens that have a next token)
  double base_loss = 0;                        // mean next-token CE of the intact model
  std::vector<std::vector<double>> heads;      // [layer][q head]
  std::vector<std::vector<double>> neurons;    // [layer][neuron]
  std::vector<double> channels;                // [hidden]
  std::vector<double> block_importance;        // [layer]
  std::vector<double> layer_loss;              // [layer]; empty when options.layer_loss is false

  // Layer importance used for depth pruning: the loss increase when the layer is dropped
  // (by_loss) or block importance.
  std::vector<double> layer_scores(bool by_loss) const;
  // Checks the sizes against `config` (a file edited by hand, truncated arrays ...).
  Status validate(const std::string& origin) const;
};

Json importance_to_json(const ImportanceScores& scores);
Result<ImportanceScores> importance_from_json(const Json& json, const std::string& origin);
Status write_importance(const std::filesystem::path& file, const ImportanceScores& scores);
Result<ImportanceScores> read_importance(const std::filesystem::path& file);

// OK when the scores were computed on the model with `fingerprint`; otherwise an error that
// says whether the shape or only the weights differ. `what` names the file in the message.
Status check_importance_matches(const ImportanceScores& scores, const ModelFingerprint& fingerprint,
                                const model::LlamaConfig& config, const std::string& what);

}  // namespace kanana::surgery
