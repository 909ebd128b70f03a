#include "posttrain/batching.h"

#include <algorithm>

namespace kanana::posttrain {

LmBatch make_lm_batch(const std::vector<ReplyRef>& rows, int32_t pad_id, torch::Device device) {
  int64_t width = 1;
  for (const auto& r : rows) width = std::max<int64_t>(width, int64_t(r.prompt->size() + r.reply->size()) - 1);
  const int64_t n = int64_t(rows.size());
  torch::Tensor input = torch::full({n, width}, int64_t(pad_id), torch::kInt64);
  torch::Tensor labels = torch::full({n, width}, int64_t(-100), torch::kInt64);
  auto in = input.accessor<int64_t, 2>();
  auto lb = labels.accessor<int64_t, 2>();
  LmBatch b;
  for (int64_t i = 0; i < n; ++i) {
    const auto& p = *rows[size_t(i)].prompt;
    const auto& y = *rows[size_t(i)].reply;
    const auto& m = *rows[size_t(i)].reply_mask;
    const int64_t np = int64_t(p.size()), total = np + int64_t(y.size());
    auto tok = [&](int64_t t) -> int64_t { return t < np ? p[size_t(t)] : y[size_t(t - np)]; };
    for (int64_t t = 0; t + 1 < total; ++t) {
      in[i][t] = tok(t);
      const int64_t next = t + 1;
      if (next >= np && m[size_t(next - np)]) lb[i][t] = tok(next);
    }
    b.tokens += std::max<int64_t>(total - 1, 0);
  }
  b.input = input.to(device);
  b.labels = labels.to(device);
  return b;
}

SeqBatch make_seq_batch(const std::vector<const std::vector<int32_t>*>& rows, int32_t pad_id, torch::Device device) {
  int64_t width = 1;
  for (const auto* r : rows) width = std::max<int64_t>(width, int64_t(r->size()));
  const int64_t n = int64_t(rows.size());
  torch::Tensor ids = torch::full({n, width}, int64_t(pad_id), torch::kInt64);
  torch::Tensor lengths = torch::empty({n}, torch::kInt64);
  auto a = ids.accessor<int64_t, 2>();
  auto l = lengths.accessor<int64_t, 1>();
  SeqBatch b;
  for (int64_t i = 0; i < n; ++i) {
    const auto& r = *rows[size_t(i)];
    for (size_t t = 0; t < r.size(); ++t) a[i][int64_t(t)] = r[t];
    l[i] = int64_t(r.size());
    b.tokens += int64_t(r.size());
  }
  b.ids = ids.to(device);
  b.lengths = lengths.to(device);
  return b;
}

}  // namespace kanana::posttrain
