// ZeRO-1 sharded AdamW; see zero_optimizer.h.
#include "train/zero_optimizer.h"

#include <algorithm>

namespace kanana::train {

FlatRange zero_shard_range(int64_t total, int rank, int world) {
  const int64_t per = world > 0 ? (total + world - 1) / world : total;
  FlatRange r;
  r.begin = std::min<int64_t>(total, per * rank);
  r.end = std::min<int64_t>(total, per * (rank + 1));
  return r;
}

Result<ShardedAdamW> ShardedAdamW::create(std::vector<std::pair<std::string, torch::Tensor>> params,
                                          AdamWOptions options, int rank, int world, int64_t gather_bytes) {
  if (world < 1 || rank < 0 || rank >= world)
    return invalid_argument("ZeRO-1: rank " + std::to_string(rank) + " of " + std::to_string(world));
  if (params.empty()) return invalid_argument("ZeRO-1: no parameters");
  ShardedAdamW o;
  o.options_ = options;
  o.rank_ = rank;
  o.world_ = world;
  const auto dtype = params.front().second.scalar_type();
  const auto device = params.front().second.device();
  for (const auto& [name, p] : params) {
    if (p.scalar_type() != dtype || p.device() != device)
      return invalid_argument("ZeRO-1 needs every parameter in one dtype and device; '" + name + "' differs from '" +
                              params.front().first + "'");
    if (!p.is_contiguous()) return invalid_argument("ZeRO-1: parameter '" + name + "' is not contiguous");
    o.offsets_.push_back(o.total_);
    o.total_ += p.numel();
  }
  o.params_ = std::move(params);
  o.range_ = zero_shard_range(o.total_, rank, world);
  const int64_t elem = int64_t(c10::elementSize(dtype));
  o.gather_elems_ = std::max<int64_t>(1, gather_bytes / elem / world);
  auto opts = torch::TensorOptions().dtype(dtype).device(device);
  o.exp_avg_ = torch::zeros({o.range_.size()}, opts);
  o.exp_avg_sq_ = torch::zeros({o.range_.size()}, opts);
  return o;
}

std::vector<std::pair<std::string, int64_t>> ShardedAdamW::layout() const {
  std::vector<std::pair<std::string, int64_t>> out;
  for (const auto& [name, p] : params_) out.emplace_back(name, p.numel());
  return out;
}

int64_t ShardedAdamW::state_bytes() const { return int64_t(exp_avg_.nbytes() + exp_avg_sq_.nbytes()); }

void ShardedAdamW::for_each_piece(int64_t begin, int64_t end,
                                  const std::function<void(size_t, int64_t, int64_t, int64_t)>& fn) const {
  if (begin >= end) return;
  // First parameter whose range ends after `begin`.
  size_t i = size_t(std::upper_bound(offsets_.begin(), offsets_.end(), begin) - offsets_.begin()) - 1;
  for (; i < params_.size() && offsets_[i] < end; ++i) {
    const int64_t p_begin = offsets_[i], p_end = p_begin + params_[i].second.numel();
    const int64_t a = std::max(begin, p_begin), b = std::min(end, p_end);
    if (a < b) fn(i, a - p_begin, a - begin, b - a);
  }
}

Status ShardedAdamW::step(double lr, Communicator& comm) {
  {
    torch::NoGradGuard no_grad;
    ++step_;
    for_each_piece(range_.begin, range_.end, [&](size_t i, int64_t at, int64_t local, int64_t n) {
      const torch::Tensor& whole = params_[i].second;
      const torch::Tensor& grad = whole.grad();
      if (!grad.defined()) {
        // Every rank holds every reduced gradient; a parameter without one is left alone, as
        // AdamW does (its moments do not advance).
        return;
      }
      torch::Tensor p = whole.view({-1}).narrow(0, at, n);
      torch::Tensor g = grad.reshape({-1}).narrow(0, at, n);
      torch::Tensor m = exp_avg_.narrow(0, local, n), v = exp_avg_sq_.narrow(0, local, n);
      adamw_update(p, g, m, v, options_, lr, step_, adamw_decays(options_, whole.dim()));
    });
  }
  return gather(comm);
}

Status ShardedAdamW::gather(Communicator& comm) {
  if (world_ == 1) return Status::ok();
  torch::NoGradGuard no_grad;
  const int64_t per = (total_ + world_ - 1) / world_;  // every rank sends `per` (the last pads)
  const auto opts = params_.front().second.options().requires_grad(false);
  for (int64_t k = 0; k < per; k += gather_elems_) {
    const int64_t len = std::min(gather_elems_, per - k);
    torch::Tensor local = torch::zeros({len}, opts);
    for_each_piece(range_.begin + k, std::min(range_.end, range_.begin + k + len),
                   [&](size_t i, int64_t at, int64_t off, int64_t n) {
                     local.narrow(0, off, n).copy_(params_[i].second.view({-1}).narrow(0, at, n));
                   });
    torch::Tensor all = torch::empty({len * world_}, opts);
    KANANA_RETURN_IF_ERROR(comm.allgather(local, all));
    for (int r = 0; r < world_; ++r) {
      if (r == rank_) continue;
      const FlatRange theirs = zero_shard_range(total_, r, world_);
      for_each_piece(theirs.begin + k, std::min(theirs.end, theirs.begin + k + len),
                     [&](size_t i, int64_t at, int64_t off, int64_t n) {
                       params_[i].second.view({-1}).narrow(0, at, n).copy_(all.narrow(0, r * len + off, n));
                     });
    }
  }
  return Status::ok();
}

void ShardedAdamW::zero_grad() {
  for (auto& [name, p] : params_)
    if (p.grad().defined()) p.mutable_grad() = torch::Tensor();
}

std::vector<std::pair<std::string, torch::Tensor>> ShardedAdamW::state_tensors() const {
  return {{"exp_avg", exp_avg_}, {"exp_avg_sq", exp_avg_sq_}};
}

Status ShardedAdamW::load_state(const MomentRangeReader& read, int64_t step) {
  torch::NoGradGuard no_grad;
  for (auto* t : {&exp_avg_, &exp_avg_sq_}) {
    const std::string which = t == &exp_avg_ ? "exp_avg" : "exp_avg_sq";
    KANANA_ASSIGN_OR_RETURN(torch::Tensor got, read(which, range_.begin, range_.end));
    if (got.numel() != range_.size())
      return data_loss("optimizer state '" + which + "' [" + std::to_string(range_.begin) + ", " +
                       std::to_string(range_.end) + ") has " + std::to_string(got.numel()) + " elements");
    t->copy_(got.reshape({-1}));
  }
  step_ = step;
  return Status::ok();
}

}  // namespace kanana::train
