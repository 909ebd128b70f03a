// c10d process groups (Gloo / NCCL) behind Communicator; see distributed.h.
#include "train/distributed.h"

#include <chrono>
#include <cstdlib>
#include <unordered_set>
#include <utility>

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
// c10d's Reducer (DDP's engine, in libtorch_cpu). Debian's libtorch-dev ships reducer.hpp but
// not the distributed-autograd header it includes; CMakeLists.txt then adds c10d_shim/ for
// this file only (see the header there).
#include <torch/csrc/distributed/c10d/reducer.hpp>
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
  Status allgather(const torch::Tensor& local, const torch::Tensor& out) override {
    torch::NoGradGuard no_grad;
    if (out.numel() != local.numel()) return invalid_argument("allgather: output size differs from the input's");
    out.view({-1}).copy_(local.reshape({-1}));
    return Status::ok();
  }
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

  Status allgather(const torch::Tensor& local, const torch::Tensor& out) override {
    try {
      torch::NoGradGuard no_grad;
      const int64_t n = local.numel();
      if (out.numel() != n * world_) return invalid_argument("allgather: output is not world_size × the input");
      std::vector<std::vector<torch::Tensor>> outputs(1);
      torch::Tensor flat = out.view({-1});
      for (int r = 0; r < world_; ++r) outputs[0].push_back(flat.narrow(0, r * n, n));
      std::vector<torch::Tensor> inputs{local.reshape({-1}).contiguous()};
      pg_->allgather(outputs, inputs)->wait();
      return Status::ok();
    } catch (const std::exception& e) {
      return unavailable(backend_ + " allgather failed on rank " + std::to_string(rank_) + ": " + e.what());
    }
  }

  const c10::intrusive_ptr<c10d::ProcessGroup>& process_group() const { return pg_; }

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

using Clock = std::chrono::steady_clock;

// Reduces after backward: one allreduce_mean over every gradient (buckets of bucket_bytes).
class AfterBackwardReducer : public GradientReducer {
 public:
  AfterBackwardReducer(Communicator& comm, std::vector<torch::Tensor> params) : comm_(comm), params_(std::move(params)) {}
  void expect_sync(const torch::Tensor&) override {}
  Status finish() override {
    if (comm_.world_size() <= 1) return Status::ok();
    const auto t0 = Clock::now();
    std::vector<torch::Tensor> grads;
    for (auto& p : params_) {
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      grads.push_back(p.grad());
    }
    Status s = comm_.allreduce_mean(grads);
    exposed_ += std::chrono::duration<double>(Clock::now() - t0).count();
    return s;
  }
  bool overlapped() const override { return false; }
  size_t bucket_count() const override { return 0; }
  double take_exposed_seconds() override { return std::exchange(exposed_, 0.0); }

 private:
  Communicator& comm_;
  std::vector<torch::Tensor> params_;
  double exposed_ = 0;
};

#if defined(USE_C10D_GLOO) || defined(USE_C10D_NCCL)
// c10d::Reducer driven the way torch.nn.parallel.DistributedDataParallel drives it.
class OverlappedReducer : public GradientReducer {
 public:
  OverlappedReducer(std::unique_ptr<c10d::Reducer> reducer, size_t buckets)
      : reducer_(std::move(reducer)), buckets_(buckets) {}
  void expect_sync(const torch::Tensor& loss) override {
    // After the first reduced backward the Reducer knows the order gradients became ready in
    // and re-buckets by it (DDP calls this at the start of each forward; a no-op afterwards).
    if (reducer_->rebuild_buckets()) buckets_ = reducer_->get_grad_buckets(/*return_zero_tensors=*/false).size();
    reducer_->prepare_for_backward({loss});
    synced_ = true;
  }
  Status finish() override {
    if (!synced_) return failed_precondition("gradient reducer: no backward pass was marked with expect_sync");
    synced_ = false;
    return Status::ok();
  }
  bool overlapped() const override { return true; }
  size_t bucket_count() const override { return buckets_; }
  double take_exposed_seconds() override { return 0; }

 private:
  std::unique_ptr<c10d::Reducer> reducer_;
  size_t buckets_;
  bool synced_ = false;
};
#endif

}  // namespace

GradBucketPlan plan_gradient_buckets(const std::vector<torch::Tensor>& params, int64_t bucket_bytes,
                                     int64_t first_bucket_bytes) {
  GradBucketPlan plan;
  if (params.empty()) return plan;
  // Assigned in forward (declaration) order, then reversed, exactly as DDP does.
  auto [buckets, limits] = c10d::compute_bucket_assignment_by_size(
      params, {size_t(first_bucket_bytes), size_t(bucket_bytes)}, std::vector<bool>(params.size(), false));
  plan.buckets.assign(buckets.rbegin(), buckets.rend());
  plan.size_limits.assign(limits.rbegin(), limits.rend());
  return plan;
}

Result<std::string> select_backend(torch::Device device, int world_size, const std::string& available) {
  if (world_size <= 1) return std::string("local");
  auto has = [&](const std::string& name) {
    size_t at = 0;
    while ((at = available.find(name, at)) != std::string::npos) {
      const bool starts = at == 0 || available[at - 1] == ' ';
      const bool ends = at + name.size() == available.size() || available[at + name.size()] == ' ';
      if (starts && ends) return true;
      at += name.size();
    }
    return false;
  };
  if (device.is_cuda()) {
    if (has("nccl")) return std::string("nccl");
    return unavailable("WORLD_SIZE=" + std::to_string(world_size) +
                       " on a CUDA device needs NCCL, which this build lacks (backends: " + available + ")");
  }
  if (device.is_cpu()) {
    if (has("gloo")) return std::string("gloo");
    return unavailable("WORLD_SIZE=" + std::to_string(world_size) +
                       " on CPU needs Gloo, which this build lacks (backends: " + available + ")");
  }
  return unavailable("no c10d backend for device " + device.str());
}

Result<std::unique_ptr<GradientReducer>> make_gradient_reducer(Communicator& comm,
                                                               const std::vector<torch::Tensor>& params,
                                                               const GradReduceOptions& options) {
  std::vector<torch::Tensor> trainable;
  std::unordered_set<const void*> seen;
  for (const auto& p : params)
    if (p.requires_grad() && seen.insert(p.unsafeGetTensorImpl()).second) trainable.push_back(p);
  if (trainable.empty()) return invalid_argument("gradient reducer: no trainable parameters");
  if (options.bucket_bytes <= 0 || options.first_bucket_bytes <= 0)
    return invalid_argument("gradient reducer: bucket sizes must be positive");
  if (!options.overlap || comm.world_size() <= 1)
    return std::unique_ptr<GradientReducer>(std::make_unique<AfterBackwardReducer>(comm, std::move(trainable)));
#if defined(USE_C10D_GLOO) || defined(USE_C10D_NCCL)
  auto* pgc = dynamic_cast<ProcessGroupCommunicator*>(&comm);
  if (!pgc) return invalid_argument("gradient reducer: overlap needs a c10d process group (" + comm.backend() + ")");
  try {
    GradBucketPlan plan = plan_gradient_buckets(trainable, options.bucket_bytes, options.first_bucket_bytes);
    const size_t n = plan.buckets.size();
    auto reducer = std::make_unique<c10d::Reducer>(
        trainable, std::move(plan.buckets), std::move(plan.size_limits), pgc->process_group(),
        std::vector<bool>(trainable.size(), false), options.bucket_bytes, /*find_unused_parameters=*/false,
        /*gradient_as_bucket_view=*/false, std::unordered_map<size_t, std::string>{}, options.first_bucket_bytes);
    return std::unique_ptr<GradientReducer>(std::make_unique<OverlappedReducer>(std::move(reducer), n));
  } catch (const std::exception& e) {
    return internal_error(std::string("c10d::Reducer could not be set up: ") + e.what());
  }
#else
  return unavailable("gradient reducer: this build has no c10d backend");
#endif
}

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
  KANANA_ASSIGN_OR_RETURN(const std::string chosen, select_backend(device, env.world_size, available_backends()));
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
    const std::string backend = chosen;
#ifdef USE_C10D_NCCL
    if (backend == "nccl") pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, env.rank, env.world_size);
#endif
#ifdef USE_C10D_GLOO
    if (backend == "gloo") {
      auto opts = c10d::ProcessGroupGloo::Options::create(std::chrono::seconds(300));
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(env.master_addr));
      opts->threads = 2;
      pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, env.rank, env.world_size, opts);
    }
#endif
    if (!pg) return internal_error("backend " + backend + " was selected but not built");
    return std::unique_ptr<Communicator>(std::make_unique<ProcessGroupCommunicator>(
        store, pg, backend, env.rank, env.world_size, bucket_bytes));
  } catch (const std::exception& e) {
    return unavailable("could not join the process group at " + env.master_addr + ":" + std::to_string(env.master_port) +
                       " as rank " + std::to_string(env.rank) + " of " + std::to_string(env.world_size) + ": " + e.what());
  }
#else
  (void)bucket_bytes;
  (void)chosen;
  return unavailable("WORLD_SIZE=" + std::to_string(env.world_size) + " but this build has no c10d backend");
#endif
}

}  // namespace kanana::train
