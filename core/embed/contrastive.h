// Contrastive training of embedding models: the InfoNCE loss with in-batch negatives and
// (query, positive) pair data. The recipe type "contrastive" (contrastive_task.cpp) trains
// with these through the generic trainer (train/task.h).
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "base/status.h"

namespace kanana::embed {

struct InfoNceOutput {
  torch::Tensor loss;                 // scalar
  torch::Tensor accuracy;             // fraction of queries whose positive scores highest (no grad)
  torch::Tensor positive_similarity;  // mean cos(q_i, p_i) (no grad)
  torch::Tensor negative_similarity;  // mean cos(q_i, p_j), j != i (no grad; 0 for a batch of 1)
};

// q, p: (batch, dim), row i of p is the positive of row i of q and every other row is a
// negative. logits = q p^T / temperature (q and p are expected L2-normalised, so the logits
// are cosines / temperature); loss = CE(logits, arange(batch)). `symmetric` averages that with
// the passage→query direction CE(logits^T, arange(batch)). Computed in fp32.
InfoNceOutput info_nce_loss(const torch::Tensor& q, const torch::Tensor& p, double temperature, bool symmetric);

struct TextPair {
  std::string query;
  std::string positive;
};

struct PairFile {
  std::vector<TextPair> pairs;
  std::vector<std::string> problems;  // "file:line: why" for every skipped line
  int64_t lines = 0;                  // non-blank lines read
};

// JSONL with {"query": "...", "positive": "..."} per line (other fields ignored). A malformed
// line (bad JSON, missing/empty/non-string field) is skipped and named in `problems`, or is an
// error when `strict`. An unreadable file is an error.
Result<PairFile> read_pairs_jsonl(const std::filesystem::path& file, bool strict = false);

}  // namespace kanana::embed
