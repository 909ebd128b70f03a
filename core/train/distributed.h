// Data-parallel communication for the trainer: a c10d process group built from torchrun's
// environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT). Gloo on CPU (this
// build compiles it when LibTorch ships ProcessGroupGloo.hpp, see CMakeLists.txt); NCCL for
// CUDA tensors when LibTorch has CUDA and USE_C10D_NCCL is defined. With WORLD_SIZE unset or
// 1 the communicator is local and every collective is a no-op.
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
};

// Local (world_size 1) or a process group over a TCPStore at master_addr:master_port that
// rank 0 hosts. kUnavailable when this build has no backend for `device`.
Result<std::unique_ptr<Communicator>> make_communicator(const DistEnv& env, torch::Device device,
                                                        int64_t bucket_bytes = 25 << 20);

// Backends this build was compiled with, for `kanana doctor`-style messages: "gloo nccl".
std::string available_backends();

}  // namespace kanana::train
