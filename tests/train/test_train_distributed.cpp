// Data-parallel building blocks without a second process: the gradient bucket layout DDP's
// c10d::compute_bucket_assignment_by_size gives (sizes, dtypes, reversed order), the c10d
// backend choice (Gloo on CPU, NCCL on CUDA, clear errors when a build lacks one — checked
// here with CUDA absent), ZeRO-1's flat shard ranges, ShardedAdamW against the unsharded AdamW
// (bit-identical at 1 rank; each rank's range within an ulp at 2), and sharded optimizer state
// read back by flat range at another world size and into the unsharded layout.
#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>

#include "safetensors/safetensors.h"
#include "test_support.h"
#include "train/checkpoints.h"
#include "train/distributed.h"
#include "train/optimizer.h"
#include "train/zero_optimizer.h"

using namespace kanana;
using namespace kanana::train;
namespace fs = std::filesystem;

namespace {

// A stand-in for rank `rank` of `world`: allgather puts this rank's part in its slot and
// leaves the others' slots zero, so only this rank's range of the parameters is meaningful.
class OneRankOfMany : public Communicator {
 public:
  OneRankOfMany(int rank, int world) : rank_(rank), world_(world) {}
  int rank() const override { return rank_; }
  int world_size() const override { return world_; }
  std::string backend() const override { return "test"; }
  Status allreduce_mean(const std::vector<torch::Tensor>&) override { return Status::ok(); }
  Status barrier() override { return Status::ok(); }
  Status allgather(const torch::Tensor& local, const torch::Tensor& out) override {
    out.zero_();
    out.view({-1}).narrow(0, rank_ * local.numel(), local.numel()).copy_(local.reshape({-1}));
    ++calls;
    return Status::ok();
  }
  int calls = 0;

 private:
  int rank_, world_;
};

using Params = std::vector<std::pair<std::string, torch::Tensor>>;

// Three parameters (a matrix, a vector that is not decayed, a 3-D tensor): 12 + 5 + 24 = 41.
Params make_params() {
  torch::manual_seed(3);
  return {{"w", torch::randn({3, 4})}, {"norm", torch::randn({5})}, {"k", torch::randn({2, 3, 4})}};
}
Params clone(const Params& ps) {
  Params out;
  for (const auto& [n, p] : ps) out.emplace_back(n, p.clone());
  return out;
}
// Fixed gradients per step (the same for every copy).
void set_grads(Params& ps, int step) {
  for (size_t i = 0; i < ps.size(); ++i) {
    auto g = torch::sin(torch::arange(ps[i].second.numel(), torch::kFloat32) * (0.37 + 0.11 * double(i)) + step);
    ps[i].second.mutable_grad() = g.reshape(ps[i].second.sizes());
  }
}
torch::Tensor flat_params(const Params& ps) {
  std::vector<torch::Tensor> parts;
  for (const auto& [n, p] : ps) parts.push_back(p.reshape({-1}));
  return torch::cat(parts);
}
torch::Tensor flat_moment(const AdamW& o, const std::string& which) {
  std::vector<torch::Tensor> parts;
  for (const auto& [n, t] : o.state_tensors())
    if (n.rfind(which + ".", 0) == 0) parts.push_back(t.reshape({-1}));
  return torch::cat(parts);
}

}  // namespace

class TestTrainDistributed : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void bucketLayout() {
    // 4 KB, 1.2 MB, 40 B, 2 MB of fp32, then an fp64 tensor: DDP's assignment closes the first
    // bucket at >= 1 MB and later ones at >= 1.5 MB, keeps dtypes apart, and is reduced in
    // reverse (the last parameters' gradients are ready first).
    std::vector<torch::Tensor> ps = {torch::zeros({1000}), torch::zeros({300000}), torch::zeros({10}),
                                     torch::zeros({500000}), torch::zeros({7}, torch::kFloat64)};
    const GradBucketPlan plan = plan_gradient_buckets(ps, 1536 * 1024, 1 << 20);
    QCOMPARE(plan.buckets.size(), plan.size_limits.size());
    std::vector<int> seen(ps.size(), 0);
    for (const auto& b : plan.buckets) {
      QVERIFY(!b.empty());
      for (size_t i : b) {
        ++seen[i];
        QCOMPARE(ps[i].scalar_type(), ps[b.front()].scalar_type());  // one dtype per bucket
      }
    }
    for (int n : seen) QCOMPARE(n, 1);  // every parameter exactly once
    // The fp32 tensors: [0, 1] (closed at 1 MB), [2, 3]; the fp64 one alone. Reversed order.
    std::vector<std::vector<size_t>> fp32;
    for (const auto& b : plan.buckets)
      if (ps[b.front()].scalar_type() == torch::kFloat32) fp32.push_back(b);
    QCOMPARE(fp32.size(), size_t(2));
    QCOMPARE(fp32[0], (std::vector<size_t>{2, 3}));
    QCOMPARE(fp32[1], (std::vector<size_t>{0, 1}));
    // A cap larger than the model: one bucket per dtype.
    QCOMPARE(plan_gradient_buckets(ps, int64_t(1) << 30, int64_t(1) << 30).buckets.size(), size_t(2));
    // A tiny cap: one bucket per tensor.
    QCOMPARE(plan_gradient_buckets(ps, 4, 4).buckets.size(), ps.size());
    QVERIFY(plan_gradient_buckets({}, 1 << 20, 1 << 20).buckets.empty());
  }

  void backendSelection() {
    QCOMPARE(*select_backend(torch::kCPU, 1, "none"), std::string("local"));
    QCOMPARE(*select_backend(torch::kCPU, 2, "gloo"), std::string("gloo"));
    QCOMPARE(*select_backend(torch::kCPU, 2, "gloo nccl"), std::string("gloo"));
    QCOMPARE(*select_backend(torch::Device(torch::kCUDA, 0), 2, "gloo nccl"), std::string("nccl"));
    QCOMPARE(*select_backend(torch::Device(torch::kCUDA, 1), 4, "nccl"), std::string("nccl"));
    auto no_nccl = select_backend(torch::Device(torch::kCUDA, 0), 2, "gloo");
    QCOMPARE(no_nccl.status().code(), StatusCode::kUnavailable);
    QVERIFY(QString::fromStdString(no_nccl.status().message()).contains("needs NCCL"));
    QVERIFY(QString::fromStdString(no_nccl.status().message()).contains("backends: gloo"));
    auto no_gloo = select_backend(torch::kCPU, 2, "none");
    QVERIFY(QString::fromStdString(no_gloo.status().message()).contains("needs Gloo"));
    // Names are whole words: "ncclx" is not "nccl".
    QVERIFY(!select_backend(torch::Device(torch::kCUDA, 0), 2, "gloo ncclx").is_ok());
    // This build (CPU LibTorch) has Gloo.
    QVERIFY(QString::fromStdString(available_backends()).contains("gloo"));
  }

  void afterBackwardReducerIsLocalNoOp() {
    auto comm = make_communicator(DistEnv{}, torch::kCPU);
    QVERIFY(comm.is_ok());
    Params ps = make_params();
    for (auto& [n, p] : ps) p.set_requires_grad(true);
    std::vector<torch::Tensor> ts;
    for (auto& [n, p] : ps) ts.push_back(p);
    ts.push_back(ps[0].second);  // a tied duplicate is counted once
    auto r = make_gradient_reducer(**comm, ts, {});
    QVERIFY(r.is_ok());
    QVERIFY(!(*r)->overlapped());  // one rank: nothing to overlap
    QVERIFY((*r)->finish().is_ok());
    GradReduceOptions bad;
    bad.bucket_bytes = 0;
    QCOMPARE(make_gradient_reducer(**comm, ts, bad).status().code(), StatusCode::kInvalidArgument);
  }

  void shardRanges() {
    for (int64_t total : {0, 1, 7, 41, 1000}) {
      for (int world : {1, 2, 3, 8}) {
        int64_t at = 0, biggest = 0, smallest = total;
        for (int r = 0; r < world; ++r) {
          const FlatRange fr = zero_shard_range(total, r, world);
          QCOMPARE(fr.begin, std::min(at, total));
          QVERIFY(fr.end >= fr.begin);
          at = fr.end;
          biggest = std::max(biggest, fr.size());
          smallest = std::min(smallest, fr.size());
        }
        QCOMPARE(at, total);  // the ranges tile [0, total)
        QVERIFY(biggest <= (total + world - 1) / world);
      }
    }
  }

  void shardedAdamWMatchesAdamW() {
    AdamWOptions opts;
    opts.weight_decay = 0.1;
    Params ref = make_params();
    AdamW dense(ref, opts);
    // 1 rank: the same arithmetic on the same ranges, bit for bit.
    Params one = clone(ref);
    auto s1 = ShardedAdamW::create(one, opts, 0, 1);
    QVERIFY(s1.is_ok());
    OneRankOfMany solo(0, 1);
    // 2 ranks: each rank's range matches.
    std::vector<Params> two = {clone(ref), clone(ref)};
    std::vector<ShardedAdamW> shards;
    std::vector<OneRankOfMany> comms = {OneRankOfMany(0, 2), OneRankOfMany(1, 2)};
    for (int r = 0; r < 2; ++r) shards.push_back(*ShardedAdamW::create(two[size_t(r)], opts, r, 2, /*gather_bytes=*/40));
    QCOMPARE(shards[0].range().begin, int64_t(0));
    QCOMPARE(shards[0].range().end, int64_t(21));
    QCOMPARE(shards[1].range().end, int64_t(41));
    QCOMPARE(shards[0].state_bytes(), int64_t(2 * 21 * 4));
    for (int step = 1; step <= 4; ++step) {
      const double lr = 0.01 * step;
      set_grads(ref, step);
      dense.step(lr);
      set_grads(one, step);
      QVERIFY(s1->step(lr, solo).is_ok());
      for (int r = 0; r < 2; ++r) {
        set_grads(two[size_t(r)], step);
        QVERIFY(shards[size_t(r)].step(lr, comms[size_t(r)]).is_ok());
      }
    }
    QVERIFY(torch::equal(flat_params(one), flat_params(ref)));
    QVERIFY(torch::equal(s1->state_tensors()[0].second, flat_moment(dense, "exp_avg")));
    const torch::Tensor want = flat_params(ref);
    for (int r = 0; r < 2; ++r) {
      const FlatRange fr = shards[size_t(r)].range();
      torch::Tensor got = flat_params(two[size_t(r)]).narrow(0, fr.begin, fr.size());
      QVERIFY(torch::allclose(got, want.narrow(0, fr.begin, fr.size()), /*rtol=*/1e-6, /*atol=*/1e-7));
      QVERIFY(torch::allclose(shards[size_t(r)].state_tensors()[1].second,
                              flat_moment(dense, "exp_avg_sq").narrow(0, fr.begin, fr.size()), 1e-6, 1e-9));
    }
    // gather_bytes 40 over 2 ranks = 5 elements per chunk: ceil(21 / 5) = 5 all-gathers a step.
    QCOMPARE(comms[0].calls, 4 * 5);
    // Mixed dtypes are refused by name.
    Params mixed = make_params();
    mixed[1].second = mixed[1].second.to(torch::kFloat64);
    auto bad = ShardedAdamW::create(mixed, opts, 0, 2);
    QVERIFY(!bad.is_ok());
    QVERIFY(QString::fromStdString(bad.status().message()).contains("'norm'"));
  }

  // Shards written by 2 ranks are read back by 3 ranks and into the unsharded layout; the
  // unsharded file is read back by a sharded optimizer.
  void shardedStateChangesWorldSize() {
    QTemporaryDir tmp;
    const fs::path run = tmp.path().toStdString();
    AdamWOptions opts;
    Params ref = make_params();
    AdamW dense(ref, opts);
    std::vector<Params> two = {clone(ref), clone(ref)};
    std::vector<ShardedAdamW> shards;
    for (int r = 0; r < 2; ++r) shards.push_back(*ShardedAdamW::create(two[size_t(r)], opts, r, 2));
    for (int step = 1; step <= 3; ++step) {
      set_grads(ref, step);
      dense.step(0.01);
      for (int r = 0; r < 2; ++r) {
        OneRankOfMany c(r, 2);
        set_grads(two[size_t(r)], step);
        QVERIFY(shards[size_t(r)].step(0.01, c).is_ok());
      }
    }
    QVERIFY(prepare_checkpoint_staging(run, 3).is_ok());
    for (const auto& s : shards) QVERIFY(save_optimizer_shard(run, 3, s).is_ok());
    const fs::path dir = checkpoints_dir(run) / ".tmp-step-0000003";
    QVERIFY(fs::exists(dir / "optimizer-shard-00000-of-00002.safetensors"));
    std::vector<std::pair<std::string, int64_t>> layout;
    for (const auto& [n, p] : ref) layout.emplace_back(n, p.numel());
    auto reader = open_moment_reader(dir, layout);
    QVERIFY2(reader.is_ok(), reader.status().message().c_str());
    for (const char* which : {"exp_avg", "exp_avg_sq"}) {
      auto all = (*reader)(which, 0, 41);
      QVERIFY(all.is_ok());
      QVERIFY(torch::allclose(*all, flat_moment(dense, which), 1e-6, 1e-9));
    }
    // 3 ranks load their ranges.
    for (int r = 0; r < 3; ++r) {
      Params ps = clone(ref);
      auto s = ShardedAdamW::create(ps, opts, r, 3);
      QVERIFY(s->load_state(*reader, 3).is_ok());
      QCOMPARE(s->step_count(), int64_t(3));
      const FlatRange fr = s->range();
      QVERIFY(torch::allclose(s->state_tensors()[0].second, flat_moment(dense, "exp_avg").narrow(0, fr.begin, fr.size()),
                              1e-6, 1e-9));
    }
    // The unsharded layout read by range (what a sharded resume of an unsharded run does).
    fs::create_directories(run / "dense");
    const auto state = dense.state_tensors();
    std::vector<std::pair<std::string, at::Tensor>> moments(state.begin(), state.end());
    QVERIFY(st::save_safetensors_file(run / "dense" / "optimizer.safetensors", moments, {{"format", "pt"}}).is_ok());
    auto dreader = open_moment_reader(run / "dense", layout);
    QVERIFY(dreader.is_ok());
    auto piece = (*dreader)("exp_avg_sq", 10, 30);  // spans all three parameters
    QVERIFY(piece.is_ok());
    QVERIFY(torch::equal(*piece, flat_moment(dense, "exp_avg_sq").narrow(0, 10, 20)));
    // A layout that does not match the shards is refused by name.
    auto wrong = open_moment_reader(dir, {{"w", 12}});
    QVERIFY(!wrong.is_ok());
    QVERIFY(QString::fromStdString(wrong.status().message()).contains("covers 41 parameter elements"));
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestTrainDistributed)
#include "test_train_distributed.moc"
