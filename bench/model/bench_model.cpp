// Decode and prefill speed of the Llama forward on CPU, against the memory-bandwidth roof:
// decoding one token must read every weight once, so tokens/s <= bandwidth / weight bytes.
// Prints which BLAS LibTorch runs on, since that decides prefill speed here.
//
//   bench_model [--presets tiny,small-100m] [--threads 1,0] [--prompt 128] [--tokens 64]
// (--threads 0 = all hardware threads). Not part of CTest.
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/strings.h"
#include "model/config.h"
#include "model/kv_cache.h"
#include "model/llama.h"
#include "model/presets.h"

using namespace kanana;
using namespace kanana::model;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string blas_in_use() {
  // Full paths: Debian's libblas.so.3 is an alternative that may point at OpenBLAS or at the
  // slow reference BLAS, and only the folder tells which.
  std::ifstream maps("/proc/self/maps");
  std::string line, found;
  for (; std::getline(maps, line);) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    for (const char* lib : {"libopenblas", "libmkl", "libblis", "libblas.so"}) {
      if (path.find(lib) != std::string::npos && found.find(path) == std::string::npos) {
        found += (found.empty() ? "" : ", ") + path;
      }
    }
  }
  return found.empty() ? "none found in /proc/self/maps" : found;
}

// Read bandwidth: the best of a torch sum (current thread count) and a plain 64-bit read loop
// with independent accumulators (one thread; a torch fp32 sum on one thread can be compute
// bound and under-state the roof) over a buffer far larger than the caches.
double read_bandwidth_gbs() {
  auto buf = torch::ones({int64_t(64) << 20}, torch::kFloat32);  // 256 MB
  volatile float sink = buf.sum().item<float>();                  // warm up, fault pages in
  double best = 0;
  for (int i = 0; i < 5; ++i) {
    auto t = Clock::now();
    sink = buf.sum().item<float>();
    best = std::max(best, buf.nbytes() / since(t) / 1e9);
  }
  (void)sink;
  const auto* words = static_cast<const uint64_t*>(buf.data_ptr());
  const size_t n = buf.nbytes() / sizeof(uint64_t);
  volatile uint64_t isink = 0;
  for (int i = 0; i < 5; ++i) {
    auto t = Clock::now();
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (size_t k = 0; k + 4 <= n; k += 4) {
      a += words[k];
      b ^= words[k + 1];
      c += words[k + 2];
      d ^= words[k + 3];
    }
    isink = a + b + c + d;
    best = std::max(best, buf.nbytes() / since(t) / 1e9);
  }
  (void)isink;
  return best;
}

double memcpy_bandwidth_gbs() {
  std::vector<char> a(size_t(256) << 20, 1), b(size_t(256) << 20, 0);
  std::memcpy(b.data(), a.data(), a.size());
  double best = 0;
  for (int i = 0; i < 3; ++i) {
    auto t = Clock::now();
    std::memcpy(b.data(), a.data(), a.size());
    best = std::max(best, 2.0 * a.size() / since(t) / 1e9);  // read + write
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  std::string presets = "tiny,small-100m", threads_arg = "1,0";
  int64_t prompt = 128, tokens = 64;
  for (int i = 1; i < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--help" || k == "-h") {
      std::printf("usage: bench_model [--presets tiny,small-100m] [--threads 1,0] [--prompt 128] [--tokens 64]\n"
                  "  decode and prefill tokens/s (batch 1) against the memory-bandwidth roof; --threads 0 = all\n");
      return 0;
    }
    if (i + 1 >= argc) { std::fprintf(stderr, "flag %s needs a value (see --help)\n", k.c_str()); return 2; }
    std::string v = argv[i + 1];
    if (k == "--presets") presets = v;
    else if (k == "--threads") threads_arg = v;
    else if (k == "--prompt") prompt = std::stoll(v);
    else if (k == "--tokens") tokens = std::stoll(v);
    else { std::fprintf(stderr, "unknown flag %s\n", k.c_str()); return 2; }
  }
  c10::InferenceMode inference;
  {
    // Touch a matmul first so the BLAS library is loaded before reading /proc/self/maps.
    auto a = torch::randn({64, 64});
    (void)torch::mm(a, a);
  }
  std::printf("libtorch %s, BLAS mapped: %s\n", TORCH_VERSION, blas_in_use().c_str());
  std::printf("hardware threads: %u\n", std::thread::hardware_concurrency());
  std::printf("memcpy bandwidth (1 thread, read+write): %.1f GB/s\n", memcpy_bandwidth_gbs());
  for (const auto& name : split(presets, ',')) {
    auto config = preset_config(name);
    if (!config.is_ok()) { std::fprintf(stderr, "%s\n", config.status().message().c_str()); return 2; }
    auto model = init_model(*config, 0);
    if (!model.is_ok()) { std::fprintf(stderr, "%s\n", model.status().message().c_str()); return 1; }
    auto& m = *model;
    m->eval();
    // Decode reads every non-embedding weight plus the (tied or untied) output matrix once.
    const int64_t read_params = non_embedding_parameter_count(*config) + config->vocab_size * config->hidden_size;
    const double weight_bytes = read_params * 4.0;
    for (const auto& t : split(threads_arg, ',')) {
      int n = std::stoi(t);
      if (n <= 0) n = static_cast<int>(std::thread::hardware_concurrency());
      torch::set_num_threads(n);
      const double bw = read_bandwidth_gbs();
      auto ids = torch::randint(3, config->vocab_size, {1, prompt}, torch::kInt64);
      // Prefill: best of 3.
      double prefill_s = 1e30;
      for (int rep = 0; rep < 3; ++rep) {
        KVCache cache(*config, 1, prompt + tokens, torch::kFloat32, torch::kCPU);
        ForwardOptions fo;
        fo.cache = &cache;
        fo.logits_to_keep = 1;
        auto t0 = Clock::now();
        (void)m->forward(ids, fo);
        prefill_s = std::min(prefill_s, since(t0));
      }
      // Decode: greedy, one token at a time with the cache.
      KVCache cache(*config, 1, prompt + tokens, torch::kFloat32, torch::kCPU);
      ForwardOptions fo;
      fo.cache = &cache;
      fo.logits_to_keep = 1;
      auto logits = m->forward(ids, fo).logits;
      auto next = logits.select(1, 0).argmax(-1).view({1, 1});
      for (int i = 0; i < 4; ++i) {  // warm-up steps
        next = m->forward(next, fo).logits.select(1, 0).argmax(-1).view({1, 1});
      }
      auto t0 = Clock::now();
      const int64_t steps = tokens - 4;
      for (int64_t i = 0; i < steps; ++i) {
        next = m->forward(next, fo).logits.select(1, 0).argmax(-1).view({1, 1});
      }
      const double decode_tps = steps / since(t0);
      const double roof = bw * 1e9 / weight_bytes;
      const double flops = forward_flops_per_token(*config, prompt / 2) * prompt;
      std::printf(
          "%-11s params %6.1fM threads %d | prefill %lld tok: %8.1f tok/s (%.1f GFLOP/s) | decode: %7.1f tok/s | "
          "roof %.1f tok/s (%.0f MB weights @ %.1f GB/s read) = %.0f%% of roof\n",
          name.c_str(), parameter_count(*config) / 1e6, n, static_cast<long long>(prompt), prompt / prefill_s,
          flops / prefill_s / 1e9, decode_tps, roof, weight_bytes / 1e6, bw, 100.0 * decode_tps / roof);
      std::fflush(stdout);
    }
  }
  return 0;
}
