// Preallocated key/value cache for incremental decoding: one (batch, kv_heads, max_seq,
// head_dim) buffer per layer for keys and one for values, written in place at the current
// length with narrow().copy_(), so decoding never re-allocates or concatenates.
//
// All rows share one length (prompts are left-padded); which slots are padding is carried by
// the attention mask the caller passes, not by the cache.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "model/config.h"

namespace kanana::model {

class KVCache {
 public:
  KVCache() = default;
  KVCache(const LlamaConfig& config, int64_t batch, int64_t max_seq, torch::ScalarType dtype,
          torch::Device device);

  // Write k/v (batch, kv_heads, seq, head_dim) of `layer` at positions [length, length + seq)
  // and return views of everything cached so far for that layer: (batch, kv_heads, length + seq, head_dim).
  std::pair<torch::Tensor, torch::Tensor> update(int64_t layer, const torch::Tensor& k, const torch::Tensor& v);
  // Called once per forward after every layer wrote its `seq` new positions.
  void advance(int64_t seq) { length_ += seq; }
  void reset() { length_ = 0; }
  // Keep only the rows in `index` (batch,) int64, e.g. after some sequences finished.
  void select_rows(const torch::Tensor& index);

  int64_t length() const { return length_; }
  int64_t max_seq() const { return max_seq_; }
  int64_t batch() const { return batch_; }
  bool allocated() const { return !keys_.empty(); }

 private:
  std::vector<torch::Tensor> keys_;    // per layer (batch, kv_heads, max_seq, head_dim)
  std::vector<torch::Tensor> values_;  // per layer (batch, kv_heads, max_seq, head_dim)
  int64_t length_ = 0;
  int64_t max_seq_ = 0;
  int64_t batch_ = 0;
};

}  // namespace kanana::model
