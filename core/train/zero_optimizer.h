// ZeRO stage 1 (Rajbhandari et al., "ZeRO: Memory Optimizations Toward Training Trillion
// Parameter Models", 2020): AdamW whose moments are sharded across data-parallel ranks.
//
// The parameters are seen as one flat vector of N elements in their given order. Rank r of w
// owns the range [r·S, min((r+1)·S, N)) with S = ceil(N / w); it keeps exp_avg and exp_avg_sq
// for that range only (2·S floats instead of 2·N), applies adamw_update (optimizer.h) to the
// matching slices of the parameters and their (already all-reduced) gradients, and then every
// rank all-gathers the updated ranges so all ranks hold the same full parameters again. The
// gather runs in chunks of gather_bytes so its buffer stays small.
//
// Each element sees exactly the arithmetic of the unsharded AdamW; only the element ranges
// handed to the vectorised kernels differ, which can move results by an ulp where a kernel's
// scalar tail contracts to FMA: trajectories agree within fp32 tolerance (tests: 1e-6
// relative on the loss), not necessarily bit for bit.
//
// Checkpoints (checkpoints.h) hold one file per rank, optimizer-shard-RRRRR-of-WWWWW.safetensors
// with the flat "exp_avg"/"exp_avg_sq" of its range; a run resumes with any number of ranks
// (and with or without sharding) because state is read back by flat range.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "train/distributed.h"
#include "train/optimizer.h"

namespace kanana::train {

// Rank `rank`'s range of a flat vector of `total` elements split over `world` ranks.
struct FlatRange {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
};
FlatRange zero_shard_range(int64_t total, int rank, int world);

// Reads [begin, end) of the flattened "exp_avg" or "exp_avg_sq" (checkpoints.h opens one on
// either checkpoint layout).
using MomentRangeReader = std::function<Result<torch::Tensor>(const std::string& which, int64_t begin, int64_t end)>;

class ShardedAdamW {
 public:
  // Every parameter must be contiguous and share one dtype and device.
  static Result<ShardedAdamW> create(std::vector<std::pair<std::string, torch::Tensor>> params, AdamWOptions options,
                                     int rank, int world, int64_t gather_bytes = 25 << 20);

  // Updates this rank's range from the gradients, then all-gathers the parameters.
  Status step(double lr, Communicator& comm);
  void zero_grad();

  int64_t step_count() const { return step_; }
  const AdamWOptions& options() const { return options_; }
  FlatRange range() const { return range_; }
  int64_t total_elements() const { return total_; }
  int rank() const { return rank_; }
  int world() const { return world_; }
  // (name, numel) of every parameter, in flat order.
  std::vector<std::pair<std::string, int64_t>> layout() const;
  // Bytes of moment state this rank holds.
  int64_t state_bytes() const;

  // This rank's flat moments: "exp_avg", "exp_avg_sq" (live references; 1-D, range().size()).
  std::vector<std::pair<std::string, torch::Tensor>> state_tensors() const;
  // Fills this rank's moments from read(which, begin, end) (a 1-D tensor of end − begin
  // elements) and sets the step count.
  Status load_state(const MomentRangeReader& read, int64_t step);

 private:
  ShardedAdamW() = default;
  // Calls fn(param index, offset in the parameter, offset in [begin, end), count) for each
  // parameter piece inside the flat range [begin, end).
  void for_each_piece(int64_t begin, int64_t end, const std::function<void(size_t, int64_t, int64_t, int64_t)>& fn) const;
  Status gather(Communicator& comm);

  std::vector<std::pair<std::string, torch::Tensor>> params_;
  std::vector<int64_t> offsets_;  // flat start of each parameter
  AdamWOptions options_;
  int rank_ = 0, world_ = 1;
  int64_t total_ = 0, gather_elems_ = 0;
  FlatRange range_;
  torch::Tensor exp_avg_, exp_avg_sq_;  // (range_.size(),)
  int64_t step_ = 0;
};

}  // namespace kanana::train
