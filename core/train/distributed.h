// Data-parallel communication for the trainer: a c10d process group built from torchrun's
// environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT). Gloo on CPU (this
// build compiles it when LibTorch ships ProcessGroupGloo.hpp, see CMakeLists.txt); NCCL for
// CUDA tensors when LibTorch has CUDA and USE_C10D_NCCL is defined. With WORLD_SIZE unset or
// 1 the communicator is local and every collective is a no-op.
//
// Gradients are reduced the way torch DDP reduces them, by c10d's own Reducer: it hooks every
// parameter's gradient accumulator, copies each gradient (divided by world_size) into a flat
// bucket of up to bucket_bytes as soon as autograd produces it, and starts that bucket's
// all-reduce while the rest of the backward pass runs; the backward pass ends by waiting for
// every bucket and copying the means back into .grad(). With gradient accumulation only the
// last micro-batch's backward is reduced (DDP's no_sync). For world sizes that are powers of
// two, x/w + y/w equals (x + y)/w exactly, so the overlapped path gives bit-identical
// gradients to reducing after backward (allreduce_mean) for w = 2, 4, ...
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace kanana::train {

struct DistEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
};

// Reads torchrun's variables; errors name the variable and its bad value.
Result<DistEnv> dist_env_from_environment();

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  virtual std::string backend() const = 0;  // "local", "gloo", "nccl"
  // Sums every tensor across ranks in place, then divides by world_size. Tensors are packed
  // into flat buckets of up to bucket_bytes so each bucket is one collective.
  virtual Status allreduce_mean(const std::vector<torch::Tensor>& tensors) = 0;
  virtual Status barrier() = 0;
  // out = the concatenation over ranks of every rank's `local` (same numel on every rank), in
  // rank order. ZeRO-1 gathers updated parameter shards with it.
  virtual Status allgather(const torch::Tensor& local, const torch::Tensor& out) = 0;
};

// Which parameters share one all-reduce, in the order buckets are reduced (last parameters
// first: backward produces their gradients first). c10d::compute_bucket_assignment_by_size
// decides it, as for DDP: a bucket holds one dtype and device, the first closes at
// first_bucket_bytes (so communication starts early), the others at bucket_bytes.
struct GradBucketPlan {
  std::vector<std::vector<size_t>> buckets;  // indices into the parameter list
  std::vector<size_t> size_limits;           // bytes, per bucket
};
GradBucketPlan plan_gradient_buckets(const std::vector<torch::Tensor>& params, int64_t bucket_bytes,
                                     int64_t first_bucket_bytes);

// Reduces the trainable parameters' gradients across ranks (see the top of this file).
// Contract per optimizer step: for each micro-batch, call expect_sync(loss) right before the
// backward pass whose gradients are to be reduced (the last one), then loss.backward(); after
// the last backward, call finish(). Without overlap (or with one rank) finish() reduces
// every gradient with allreduce_mean; with overlap the backward pass already did.
class GradientReducer {
 public:
  virtual ~GradientReducer() = default;
  virtual void expect_sync(const torch::Tensor& loss) = 0;
  virtual Status finish() = 0;
  virtual bool overlapped() const = 0;
  virtual size_t bucket_count() const = 0;
  // Seconds finish() spent reducing since the last call (0 when overlapped: that time is
  // inside backward and partly hidden by it).
  virtual double take_exposed_seconds() = 0;
};

struct GradReduceOptions {
  int64_t bucket_bytes = 25 << 20;        // DDP's bucket_cap_mb = 25
  int64_t first_bucket_bytes = 1 << 20;   // DDP's first bucket (1 MB)
  bool overlap = true;                    // false: reduce after backward, one call
};

// `params` are the trainable parameters (duplicates, e.g. tied weights, are counted once;
// parameters without requires_grad are skipped); every one must receive a gradient in each
// reduced backward pass. Overlap needs a c10d process group; the local communicator always
// gets the non-overlapped reducer (whose finish() is then free).
Result<std::unique_ptr<GradientReducer>> make_gradient_reducer(Communicator& comm,
                                                               const std::vector<torch::Tensor>& params,
                                                               const GradReduceOptions& options);

// The c10d backend for tensors on `device` given the backends this build has ("gloo nccl",
// as available_backends() says): "nccl" for CUDA, "gloo" for CPU, or kUnavailable naming
// what is missing. world_size 1 needs none ("local").
Result<std::string> select_backend(torch::Device device, int world_size, const std::string& available);

// Local (world_size 1) or a process group over a TCPStore at master_addr:master_port that
// rank 0 hosts. kUnavailable when this build has no backend for `device`.
Result<std::unique_ptr<Communicator>> make_communicator(const DistEnv& env, torch::Device device,
                                                        int64_t bucket_bytes = 25 << 20);

// Backends this build was compiled with, for `kanana doctor`-style messages: "gloo nccl".
std::string available_backends();

}  // namespace kanana::train
