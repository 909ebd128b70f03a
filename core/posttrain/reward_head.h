// The LibTorch side of reward models (reward_model.h): the scalar head on a causal-LM
// backbone, loading and saving the LlamaForSequenceClassification layout. Used by the
// "reward" recipe type and by RewardModel.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/llama.h"

namespace kanana::posttrain {

inline constexpr const char* kScoreWeightName = "score.weight";

// (1, hidden) fp32 head ~ N(0, initializer_range), deterministic in `seed` (HF's init of
// nn.Linear in LlamaForSequenceClassification).
torch::Tensor init_score_head(const model::LlamaConfig& config, uint64_t seed, torch::ScalarType dtype,
                              torch::Device device);

// Rewards (B,) fp32 of right-padded rows ids (B, T) with real lengths (B,): score · h of each
// row's last real token (causal attention: padding after it is never seen).
torch::Tensor reward_forward(model::LlamaForCausalLM& model, const torch::Tensor& score_weight, const torch::Tensor& ids,
                             const torch::Tensor& lengths);

struct RewardWeights {
  model::LlamaConfig config;
  model::LlamaForCausalLM model{nullptr};  // lm_head (untied configs) stays random: unused
  torch::Tensor score;                     // (1, hidden)
};
// A LlamaForSequenceClassification folder or a "reward" training checkpoint (score.weight in
// extra.safetensors).
Result<RewardWeights> load_reward_weights(const std::filesystem::path& dir, torch::ScalarType dtype, torch::Device device);

// Writes `dir` in the HF LlamaForSequenceClassification layout: config.json (architectures,
// id2label with one label) and model.safetensors with the decoder and score.weight, no lm_head.
Status save_reward_model(const std::filesystem::path& dir, model::LlamaForCausalLM& model, const torch::Tensor& score);

}  // namespace kanana::posttrain
