// KVCache: in-place writes into preallocated buffers (see kv_cache.h).
#include "model/kv_cache.h"

namespace kanana::model {

KVCache::KVCache(const LlamaConfig& config, int64_t batch, int64_t max_seq, torch::ScalarType dtype,
                 torch::Device device)
    : max_seq_(max_seq), batch_(batch) {
  auto options = torch::TensorOptions().dtype(dtype).device(device);
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    keys_.push_back(torch::zeros({batch, config.num_key_value_heads, max_seq, config.head_dim}, options));
    values_.push_back(torch::zeros({batch, config.num_key_value_heads, max_seq, config.head_dim}, options));
  }
}

std::pair<torch::Tensor, torch::Tensor> KVCache::update(int64_t layer, const torch::Tensor& k,
                                                        const torch::Tensor& v) {
  const int64_t seq = k.size(2);
  TORCH_CHECK(layer >= 0 && layer < static_cast<int64_t>(keys_.size()), "KVCache: layer ", layer,
              " out of range");
  TORCH_CHECK(length_ + seq <= max_seq_, "KVCache: ", length_ + seq, " positions exceed the cache size ",
              max_seq_);
  TORCH_CHECK(k.size(0) == batch_, "KVCache: batch ", k.size(0), " != cache batch ", batch_);
  keys_[layer].narrow(2, length_, seq).copy_(k);
  values_[layer].narrow(2, length_, seq).copy_(v);
  return {keys_[layer].narrow(2, 0, length_ + seq), values_[layer].narrow(2, 0, length_ + seq)};
}

void KVCache::select_rows(const torch::Tensor& index) {
  for (auto& t : keys_) t = t.index_select(0, index.to(t.device()));
  for (auto& t : values_) t = t.index_select(0, index.to(t.device()));
  batch_ = index.size(0);
}

}  // namespace kanana::model
