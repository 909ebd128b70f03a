// Training windows over a packed ShardSet: the standard GPT packing. The split's token
// stream (documents joined by their EOS) is cut into windows of seq_len + 1 tokens with
// stride seq_len: window w = tokens [w*seq_len, w*seq_len + seq_len + 1), so inputs are
// window[0:seq_len] and targets window[1:seq_len+1]. num_windows = (tokens - 1) / seq_len.
//
// Order: an endless stream of positions 0, 1, 2, ...; position p is window
// order_e[p mod n] of epoch e = p / n, where order_e is a seeded pseudo-random permutation
// of [0, n) (a Feistel network with cycle walking: O(1) memory for any n, a fresh
// permutation per epoch) or the identity when shuffle is off. Batches may straddle epochs.
//
// Data parallel: a global batch is batch_size * world_size consecutive positions; rank r
// takes rows [r*batch_size, (r+1)*batch_size) of it. So the union of all ranks' batches at
// step k is exactly the batch that one rank with batch_size * world_size would see at step k,
// and ranks never share a window within an epoch.
//
// Resume: cursor() is a small JSON (seed, seq_len, window count, global position); restore()
// continues with the identical next batch, and works with a different world_size as long as
// the global batch size divides the position.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "shards/shard.h"

namespace kanana::shards {

struct SamplerOptions {
  int64_t seq_len = 2048;
  int64_t batch_size = 8;     // per rank
  uint64_t seed = 0;
  int rank = 0;
  int world_size = 1;
  bool shuffle = true;        // false: windows in stream order (validation, evaluation)
};

// A pseudo-random bijection of [0, n) chosen by (seed, epoch); identity when !shuffle.
class WindowOrder {
 public:
  WindowOrder(uint64_t n, uint64_t seed, bool shuffle);
  uint64_t size() const { return n_; }
  // Window index at global position p (epoch p / n, slot p % n). n must be > 0.
  uint64_t at(uint64_t position) const;

 private:
  uint64_t permute(uint64_t x, uint64_t epoch) const;
  uint64_t n_ = 0;
  uint64_t seed_ = 0;
  bool shuffle_ = true;
  int half_bits_ = 1;   // Feistel halves cover 2^(2*half_bits) >= n
};

class SequenceSampler {
 public:
  // Errors: invalid options (seq_len < 1, rank outside [0, world_size)), or a split with
  // fewer than seq_len + 1 tokens (names the pack folder).
  static Result<std::unique_ptr<SequenceSampler>> create(std::shared_ptr<const ShardSet> data,
                                                         const SamplerOptions& options);

  uint64_t num_windows() const { return order_.size(); }
  int64_t seq_len() const { return options_.seq_len; }
  int64_t batch_size() const { return options_.batch_size; }
  uint64_t global_batch_size() const { return uint64_t(options_.batch_size) * options_.world_size; }
  uint64_t position() const { return position_; }           // windows consumed by all ranks
  uint64_t epoch() const { return position_ / order_.size(); }
  uint64_t steps() const { return position_ / global_batch_size(); }

  // This rank's rows of the next global batch: (batch_size, seq_len + 1) row-major.
  Status next_batch(int32_t* out);
  Status next_batch(int64_t* out);
  Status next_batch(std::vector<int32_t>* out);  // resized to batch_size * (seq_len + 1)
  // One window by index (for evaluation loops and tests): seq_len + 1 tokens.
  Status window(uint64_t index, int32_t* out) const;

  Json cursor() const;
  // Errors name the mismatching field (seed, seq_len, num_windows) when the cursor came from
  // another dataset or configuration.
  Status restore(const Json& cursor);

 private:
  SequenceSampler(std::shared_ptr<const ShardSet> data, const SamplerOptions& options, uint64_t n);
  std::shared_ptr<const ShardSet> data_;
  SamplerOptions options_;
  WindowOrder order_;
  uint64_t position_ = 0;
  std::vector<int32_t> scratch_;
};

// 64-bit mixing (splitmix64 finaliser); shared by the samplers for counter-based randomness.
uint64_t mix64(uint64_t x);

}  // namespace kanana::shards
