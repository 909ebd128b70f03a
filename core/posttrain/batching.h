// Tensors for post-training micro-batches (internal to kanana_posttrain). Rows are right-padded:
// with causal attention no real token ever sees the padding, so no attention mask is needed
// and positions are 0 .. len-1 in every row.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace kanana::posttrain {

// A prompt and a reply (reply_mask: which reply tokens count).
struct ReplyRef {
  const std::vector<int32_t>* prompt = nullptr;
  const std::vector<int32_t>* reply = nullptr;
  const std::vector<uint8_t>* reply_mask = nullptr;
};

struct LmBatch {
  torch::Tensor input;   // (N, W) int64: (prompt + reply)[:-1], padded
  torch::Tensor labels;  // (N, W) int64: the next token where it is a counted reply token, else -100
  int64_t tokens = 0;    // real (non-pad) positions
};
LmBatch make_lm_batch(const std::vector<ReplyRef>& rows, int32_t pad_id, torch::Device device);

struct SeqBatch {
  torch::Tensor ids;      // (N, W) int64, padded
  torch::Tensor lengths;  // (N,) int64
  int64_t tokens = 0;
};
SeqBatch make_seq_batch(const std::vector<const std::vector<int32_t>*>& rows, int32_t pad_id, torch::Device device);

}  // namespace kanana::posttrain
