// The Torch-free CPU engine (core/infer/llama_engine.h) on a real checkpoint folder: load time
// and peak memory of loading, prefill and decode tokens/s, resident memory while decoding, and
// the share of the read-bandwidth roof decode reaches (weight bytes per token / measured GB/s).
// One format per process, so the peak resident memory is that format's alone
// (bench/model/run_engine_bench.sh loops over formats and thread counts).
//
//   bench_engine DIR --weights q4 [--threads 1] [--prompt 64] [--tokens 32] [--reps 3]
//
// Token ids are fixed pseudo-random ids (the speed does not depend on them). Timings: best of
// --reps runs (the least disturbed by other processes), each from an empty KV cache.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "base/process_memory.h"
#include "infer/kernels.h"
#include "infer/llama_engine.h"

using namespace kanana;
using namespace kanana::infer;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
double gib(uint64_t b) { return double(b) / (1024.0 * 1024.0 * 1024.0); }

const char* arg(int argc, char** argv, const char* name, const char* fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') {
    std::fprintf(stderr, "usage: bench_engine DIR --weights f32|bf16|int8|q4 [--threads N] [--prompt N] [--tokens N] [--reps N]\n");
    return 2;
  }
  auto format = parse_weight_format(arg(argc, argv, "--weights", "q4"));
  if (!format.is_ok()) {
    std::fprintf(stderr, "%s\n", format.status().message().c_str());
    return 2;
  }
  EngineOptions o;
  o.weights = *format;
  o.threads = std::atoi(arg(argc, argv, "--threads", "1"));
  const int prompt_len = std::atoi(arg(argc, argv, "--prompt", "64"));
  const int tokens = std::atoi(arg(argc, argv, "--tokens", "32"));
  const int reps = std::max(1, std::atoi(arg(argc, argv, "--reps", "3")));
  o.context = prompt_len + tokens + 1;
  o.prefill_chunk = std::min(prompt_len, 64);

  auto loaded = LlamaEngine::load(argv[1], o);
  if (!loaded.is_ok()) {
    std::fprintf(stderr, "%s\n", loaded.status().message().c_str());
    return 1;
  }
  LlamaEngine& e = **loaded;
  const auto& st = e.load_stats();
  const int64_t vocab = e.config().vocab_size;
  std::vector<int32_t> prompt(static_cast<size_t>(prompt_len));
  for (int i = 0; i < prompt_len; ++i) prompt[size_t(i)] = int32_t((uint64_t(i) * 2654435761u + 17) % uint64_t(vocab));

  double best_prefill = 1e30, best_decode = 1e30;
  for (int r = 0; r < reps; ++r) {
    e.reset();
    auto t = Clock::now();
    auto logits = e.forward(prompt);
    if (!logits.is_ok()) {
      std::fprintf(stderr, "%s\n", logits.status().message().c_str());
      return 1;
    }
    best_prefill = std::min(best_prefill, seconds_since(t));
    t = Clock::now();
    for (int i = 0; i < tokens; ++i) {
      const int32_t next = int32_t(std::max_element(logits->begin(), logits->end()) - logits->begin());
      logits = e.forward(std::span<const int32_t>(&next, 1));
      if (!logits.is_ok()) return 1;
    }
    best_decode = std::min(best_decode, seconds_since(t));
  }
  const auto mem = process_memory();
  const double decode_tps = tokens / best_decode, prefill_tps = prompt_len / best_prefill;
  // Bytes each decoded token streams: the weights (embedding row reads are negligible).
  const double gb_per_s = double(st.weight_bytes) * decode_tps / 1e9;
  std::printf("%-5s threads %d isa %s | load %.2f s, peak RSS while loading %.2f GiB, checkpoint %.2f GiB | "
              "weights %.2f GiB, KV %.3f GiB | prefill %d tok: %.1f tok/s | decode %d tok: %.2f tok/s "
              "(%.1f GB/s of weights) | resident %.2f GiB, peak %.2f GiB\n",
              weight_format_name(*format), e.threads(), isa_name(active_isa()), st.seconds,
              gib(st.peak_resident_bytes), gib(st.checkpoint_bytes), gib(st.weight_bytes), gib(st.kv_cache_bytes),
              prompt_len, prefill_tps, tokens, decode_tps, gb_per_s, gib(mem.resident_bytes),
              gib(mem.peak_resident_bytes));
  return 0;
}
