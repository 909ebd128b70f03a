// Reward models: a Llama backbone with a scalar head, in Hugging Face's
// LlamaForSequenceClassification layout (num_labels = 1):
//   model.embed_tokens.weight, model.layers.{i}...., model.norm.weight   the decoder
//   score.weight  (1, hidden_size)                                        the head, no bias
// The reward of a sequence is score · h_last, where h_last is the final-norm hidden state of its
// last token (HF takes the last non-pad token; inputs here are unpadded per row, so it is the
// last token). A conversation is rendered with the chat template without a generation prompt,
// exactly as the "reward" recipe type trains it (posttrain/chat_data.h, tokenize_chat).
//
// Folders that load: an HF LlamaForSequenceClassification folder (score.weight inside
// model.safetensors, no lm_head), and a "reward" training checkpoint (model.safetensors of the
// backbone + extra.safetensors with score.weight). The tokenizer comes from
// RewardModelOptions::tokenizer, else the folder, else the run folder two levels up
// (<run>/checkpoints/step-N → <run>/tokenizer/, where every post-training type keeps a copy).
//
// Torch-free on purpose: GUI code (the annotation plugin's best-of-N) includes it.
// Thread safety: every method may be called from any thread; calls are serialised inside.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/progress.h"
#include "base/status.h"
#include "model/config.h"
#include "tokenizer/chat_template.h"

namespace kanana::posttrain {

struct RewardModelOptions {
  std::filesystem::path tokenizer;       // empty: found next to the model (see above)
  std::optional<tok::ChatTemplateKind> chat_template;  // unset: detected from the tokenizer
  std::string dtype = "float32";         // compute dtype: float32 | bfloat16
  std::string device = "cpu";            // cpu | cuda | cuda:N
  int64_t max_length = 0;                // tokens per sequence (left-truncated); 0 = config's max_position_embeddings
  int64_t batch_size = 8;                // sequences per forward pass
};

struct BestOfN {
  std::vector<double> scores;    // one per candidate, in input order
  std::vector<size_t> ranking;   // candidate indices, best first (ties keep input order)
  size_t best = 0;               // ranking[0]
};

class RewardModel {
 public:
  static Result<std::unique_ptr<RewardModel>> load(const std::filesystem::path& dir,
                                                   const RewardModelOptions& options = {});
  ~RewardModel();
  RewardModel(const RewardModel&) = delete;
  RewardModel& operator=(const RewardModel&) = delete;

  // Reward of each whole conversation (its last assistant turn is what is judged).
  Result<std::vector<double>> score_conversations(const std::vector<std::vector<tok::ChatMessage>>& conversations,
                                                  const CancelToken* cancel = nullptr) const;
  // Reward of each candidate reply to `prompt` (the messages before the reply).
  Result<std::vector<double>> score_candidates(const std::vector<tok::ChatMessage>& prompt,
                                               const std::vector<std::string>& candidates,
                                               const CancelToken* cancel = nullptr) const;
  // Best-of-N: scores and the ranking of candidate replies (at least one candidate).
  Result<BestOfN> best_of_n(const std::vector<tok::ChatMessage>& prompt, const std::vector<std::string>& candidates,
                            const CancelToken* cancel = nullptr) const;

  const model::LlamaConfig& config() const;
  tok::ChatTemplateKind chat_template() const;
  const std::filesystem::path& tokenizer_path() const;

  struct Impl;  // defined in reward_model.cpp (LibTorch inside)

 private:
  explicit RewardModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Ranking helper shared with callers that have scores from elsewhere: indices by descending
// score, ties in input order.
std::vector<size_t> rank_by_score(const std::vector<double>& scores);

}  // namespace kanana::posttrain
