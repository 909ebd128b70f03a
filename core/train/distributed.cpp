// c10d process groups (Gloo / NCCL) behind Communicator; see distributed.h.
#include "train/distributed.h"

#include <chrono>
#include <cstdlib>

// Gloo is compiled in when LibTorch ships the c10d header and libgloo-dev its headers (the
// symbols are in Debian's libtorch_cpu). Defined here rather than with -D so the shared
// precompiled LibTorch header stays valid for this file.
#if !defined(USE_C10D_GLOO) && __has_include(<torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>) && \
    __has_include(<gloo/algorithm.h>)
#define USE_C10D_GLOO
#endif
#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace kanana::train {
namespace {

Result<int> env_int(const char* name, int fallback, int min_value) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (*end != '\0' || x < min_value || x > 1 << 30)
    return invalid_argument(std::string("environment variable ") + name + "='" + v + "' is not an integer >= " +
                            std::to_string(min_value));
  return int(x);
}

class LocalCommunicator : public Communicator {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  std::string backend() const override { return "local"; }
  Status allreduce_mean(const std::vector<torch::Tensor>&) override { return Status::ok(); }
  Status barrier() override { return Status::ok(); }
};

#if defined(USE_C10D_GLOO) || defined(USE_C10D_NCCL)
class ProcessGroupCommunicator : public Communicator {
 public:
  ProcessGroupCommunicator(c10::intrusive_ptr<c10d::Store> store, c10::intrusive_ptr<c10d::ProcessGroup> pg,
                           std::string backend, int rank, int world, int64_t bucket_bytes)
      : store_(std::move(store)), pg_(std::move(pg)), backend_(std::move(backend)), rank_(rank), world_(world),
        bucket_bytes_(bucket_bytes) {}
  int rank() const override { return rank_; }
  int world_size() const override { return world_; }
  std::string backend() const override { return backend_; }

  Status allreduce_mean(const std::vector<torch::Tensor>& tensors) override {
    try {
      torch::NoGradGuard no_grad;
      // Bucket consecutive tensors of one dtype: flatten, allreduce once, scatter back.
      size_t i = 0;
      while (i < tensors.size()) {
        std::vector<torch::Tensor> bucket;
        int64_t bytes = 0;
        const auto dtype = tensors[i].scalar_type();
        while (i < tensors.size() && tensors[i].scalar_type() == dtype &&
               (bucket.empty() || bytes + int64_t(tensors[i].nbytes()) <= bucket_bytes_)) {
          bytes += int64_t(tensors[i].nbytes());
          bucket.push_back(tensors[i++]);
        }
        std::vector<torch::Tensor> flat_parts;
        for (const auto& t : bucket) flat_parts.push_back(t.reshape({-1}));
        std::vector<torch::Tensor> flat{torch::cat(flat_parts)};
        pg_->allreduce(flat)->wait();
        flat[0].div_(double(world_));
        int64_t offset = 0;
        for (const auto& t : bucket) {
          const int64_t n = t.numel();
          t.copy_(flat[0].narrow(0, offset, n).view(t.sizes()));
          offset += n;
        }
      }
      return Status::ok();
    } catch (const std::exception& e) {
      return unavailable(backend_ + " allreduce failed on rank " + std::to_string(rank_) + ": " + e.what());
    }
  }

  Status barrier() override {
    try {
      pg_->barrier()->wait();
      return Status::ok();
    } catch (const std::exception& e) {
      return unavailable(backend_ + " barrier failed on rank " + std::to_string(rank_) + ": " + e.what());
    }
  }

 private:
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroup> pg_;
  std::string backend_;
  int rank_, world_;
  int64_t bucket_bytes_;
};
#endif

}  // namespace

Result<DistEnv> dist_env_from_environment() {
  DistEnv env;
  KANANA_ASSIGN_OR_RETURN(env.world_size, env_int("WORLD_SIZE", 1, 1));
  KANANA_ASSIGN_OR_RETURN(env.rank, env_int("RANK", 0, 0));
  KANANA_ASSIGN_OR_RETURN(env.local_rank, env_int("LOCAL_RANK", env.rank, 0));
  KANANA_ASSIGN_OR_RETURN(env.master_port, env_int("MASTER_PORT", 29500, 1));
  if (const char* a = std::getenv("MASTER_ADDR"); a && *a) env.master_addr = a;
  if (env.rank >= env.world_size)
    return invalid_argument("RANK=" + std::to_string(env.rank) + " is not below WORLD_SIZE=" + std::to_string(env.world_size));
  if (env.master_port > 65535) return invalid_argument("MASTER_PORT=" + std::to_string(env.master_port) + " is not a port");
  return env;
}

std::string available_backends() {
  std::string s;
#ifdef USE_C10D_GLOO
  s += "gloo";
#endif
#ifdef USE_C10D_NCCL
  s += s.empty() ? "nccl" : " nccl";
#endif
  return s.empty() ? "none" : s;
}

Result<std::unique_ptr<Communicator>> make_communicator(const DistEnv& env, torch::Device device, int64_t bucket_bytes) {
  if (env.world_size <= 1) return std::unique_ptr<Communicator>(std::make_unique<LocalCommunicator>());
#if defined(USE_C10D_GLOO) || defined(USE_C10D_NCCL)
  try {
    c10d::TCPStoreOptions so;
    so.port = uint16_t(env.master_port);
    so.isServer = env.rank == 0;
    so.numWorkers = size_t(env.world_size);
    so.waitWorkers = true;
    so.timeout = std::chrono::seconds(300);
    auto store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
    c10::intrusive_ptr<c10d::ProcessGroup> pg;
    std::string backend;
    if (device.is_cuda()) {
#ifdef USE_C10D_NCCL
      pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, env.rank, env.world_size);
      backend = "nccl";
#else
      return unavailable("WORLD_SIZE=" + std::to_string(env.world_size) +
                         " on a CUDA device needs NCCL, which this build lacks (backends: " + available_backends() + ")");
#endif
    } else {
#ifdef USE_C10D_GLOO
      auto opts = c10d::ProcessGroupGloo::Options::create(std::chrono::seconds(300));
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(env.master_addr));
      opts->threads = 2;
      pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, env.rank, env.world_size, opts);
      backend = "gloo";
#else
      return unavailable("WORLD_SIZE > 1 on CPU needs Gloo, which this build lacks (backends: " + available_backends() + ")");
#endif
    }
    return std::unique_ptr<Communicator>(std::make_unique<ProcessGroupCommunicator>(
        store, pg, backend, env.rank, env.world_size, bucket_bytes));
  } catch (const std::exception& e) {
    return unavailable("could not join the process group at " + env.master_addr + ":" + std::to_string(env.master_port) +
                       " as rank " + std::to_string(env.rank) + " of " + std::to_string(env.world_size) + ": " + e.what());
  }
#else
  (void)device;
  (void)bucket_bytes;
  return unavailable("WORLD_SIZE=" + std::to_string(env.world_size) + " but this build has no c10d backend");
#endif
}

}  // namespace kanana::train
