// Decode kernels against the memory-bandwidth roof (Torch-free; core/infer only). Build by
// hand until it is in CMake, e.g.:
//   g++ -O2 -std=c++20 -Icore bench/model/bench_matvec.cpp core/infer/{weights,thread_pool,kernels}.cpp
//       core/base/status.cpp kernels_avx2.o -pthread   (kernels_avx2.cpp: -mavx2 -mfma -mf16c)
//
// Decoding one token reads every weight once, so a matvec can at best stream its weights at
// the machine's read bandwidth. For each format this runs the 7 matvecs of a Llama layer
// (q, k, v, o, gate, up, down) over several distinct copies of a layer (>= --gib GiB in all,
// so nothing is served from L3) and the tied output head, at each thread count, and prints:
//   GB/s     weight bytes streamed per second (data + scales)
//   % roof   of the read bandwidth with the same threads: the best of a streaming-sum probe
//            over 1 GiB (1/2/4/8 streams) and of the f32 matvec, whichever read faster
//   tok/s    implied decode speed of the whole model, layers x t(layer) + t(head) (weights
//            only: no attention, norms or sampling)
// plus the thread pool's per-call overhead, prefill (matmul) throughput, and the q4 / int8
// quantization error of the formats chosen here against the GGUF-style alternatives.
//
//   bench_matvec [--presets 2.1b,100m] [--threads 1,2] [--formats f32,bf16,int8,q4]
//                [--gib 1] [--reps 12]
// Timings: best and median of --reps passes (best = least disturbed by other processes).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <immintrin.h>  // the bandwidth probe: SSE2, and AVX2 in a target("avx2") function

#include "base/strings.h"
#include "infer/kernels.h"
#include "infer/thread_pool.h"
#include "infer/weights.h"

using namespace kanana;
using namespace kanana::infer;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Stats {
  double best = 0, median = 0;  // of the per-pass rates
};
Stats stats(std::vector<double> rates) {
  std::sort(rates.begin(), rates.end());
  return {rates.back(), rates[rates.size() / 2]};
}

// Llama shapes (core/model/presets.cpp).
struct ModelShape {
  const char* name;
  int64_t hidden, inter, layers, heads, kv_heads, head_dim, vocab;
};
constexpr ModelShape kShapes[] = {
    {"kanana-nano-2.1b", 1792, 8064, 32, 24, 8, 128, 128256},
    {"small-100m", 768, 2048, 12, 12, 4, 64, 32000},
};

struct MatShape {
  const char* name;
  int64_t rows, cols;
};
std::vector<MatShape> layer_mats(const ModelShape& s) {
  const int64_t q = s.heads * s.head_dim, kv = s.kv_heads * s.head_dim;
  return {{"q_proj", q, s.hidden},        {"k_proj", kv, s.hidden},
          {"v_proj", kv, s.hidden},       {"o_proj", s.hidden, q},
          {"gate_proj", s.inter, s.hidden}, {"up_proj", s.inter, s.hidden},
          {"down_proj", s.hidden, s.inter}};
}

// Fast reproducible fill (uniform in [-0.05, 0.05)); the distribution does not matter for speed.
void fill(std::vector<float>& v, uint64_t seed) {
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& f : v) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    f = (float((x >> 40) & 0xFFFFFF) / 16777216.f - 0.5f) * 0.1f;
  }
}

QuantMatrix copy_of(const QuantMatrix& m) {
  auto r = QuantMatrix::from_parts(
      m.rows(), m.cols(), m.format(), {m.row_data(0), size_t(m.rows()) * m.row_stride_bytes()},
      {m.scale_data(), m.scale_bytes()}, m.name());
  if (!r.is_ok()) {
    std::fprintf(stderr, "%s\n", r.status().to_string().c_str());
    std::exit(1);
  }
  return std::move(r).value();
}

// ---- read bandwidth ------------------------------------------------------------------------
// The probe: the best of a few ways to read a 1 GiB buffer (each thread its own contiguous
// part): one sequential stream, and S in {2, 4, 8} sequential streams side by side (stream s
// reads the s-th 1/S of the part) with a software prefetch 1 KiB ahead in each -- a single
// stream leaves the prefetchers short of requests on this machine, and the kernels read
// several streams too. 32-byte AVX2 loads where the CPU has them (a function-level target,
// so this file needs no ISA flags), SSE2 otherwise: far from compute-bound either way.
// Which pattern reads fastest varies a lot on a shared VM, so the roof used for "% roof" is
// the best of the probe and of the f32 matvec (a pure stream with one FMA per 8 floats).

template <int S, bool Prefetch>
__attribute__((target("avx2"))) uint64_t sum_streams_avx2(const uint64_t* p, int64_t n) {
  const int64_t per = n / S / 8 * 8;
  __m256i acc[S];
  for (int s = 0; s < S; ++s) acc[s] = _mm256_setzero_si256();
  for (int64_t i = 0; i < per; i += 8) {
    for (int s = 0; s < S; ++s) {
      const uint64_t* q = p + s * per + i;
      if (Prefetch) _mm_prefetch(reinterpret_cast<const char*>(q) + 1024, _MM_HINT_T0);
      acc[s] = _mm256_add_epi64(acc[s], _mm256_add_epi64(
                                            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q)),
                                            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 4))));
    }
  }
  uint64_t out[4], total = 0;
  for (int s = 0; s < S; ++s) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), acc[s]);
    total += out[0] + out[1] + out[2] + out[3];
  }
  for (int64_t i = S * per; i < n; ++i) total += p[i];
  return total;
}

template <int S, bool Prefetch>
uint64_t sum_streams(const uint64_t* p, int64_t n) {
  if (detected_isa() == Isa::kAvx2) return sum_streams_avx2<S, Prefetch>(p, n);
  const int64_t per = n / S / 8 * 8;
  __m128i acc[S];
  for (int s = 0; s < S; ++s) acc[s] = _mm_setzero_si128();
  for (int64_t i = 0; i < per; i += 8) {
    for (int s = 0; s < S; ++s) {
      const uint64_t* q = p + s * per + i;
      if (Prefetch) _mm_prefetch(reinterpret_cast<const char*>(q) + 1024, _MM_HINT_T0);
      const __m128i a = _mm_add_epi64(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)),
                                      _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 2)));
      const __m128i b = _mm_add_epi64(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 4)),
                                      _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 6)));
      acc[s] = _mm_add_epi64(acc[s], _mm_add_epi64(a, b));
    }
  }
  uint64_t out[2], total = 0;
  for (int s = 0; s < S; ++s) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), acc[s]);
    total += out[0] + out[1];
  }
  for (int64_t i = S * per; i < n; ++i) total += p[i];
  return total;
}

using SumFn = uint64_t (*)(const uint64_t*, int64_t);
struct ReadMethod {
  const char* name;
  SumFn fn;
};
constexpr ReadMethod kReadMethods[] = {{"1 stream", sum_streams<1, false>},
                                       {"2 streams+pf", sum_streams<2, true>},
                                       {"4 streams+pf", sum_streams<4, true>},
                                       {"8 streams+pf", sum_streams<8, true>}};

Stats read_bandwidth(ThreadPool& pool, const std::vector<uint64_t>& buf, int reps, SumFn fn) {
  std::vector<double> rates;
  std::atomic<uint64_t> sink{0};
  const int64_t n = int64_t(buf.size());
  for (int r = 0; r < reps + 1; ++r) {
    const auto t0 = Clock::now();
    pool.parallel_for(0, n, [&](int64_t b, int64_t e) {
      sink.fetch_add(fn(buf.data() + b, e - b), std::memory_order_relaxed);
    }, 4096);
    const double s = since(t0);
    if (r > 0) rates.push_back(double(n) * 8 / s / 1e9);
  }
  if (sink.load() == 42) std::printf(" ");
  return stats(rates);
}

// ---- pool overhead -----------------------------------------------------------------------

void pool_overhead(int threads) {
  ThreadPool pool(threads);
  std::atomic<int64_t> sink{0};
  auto body = [&](int64_t b, int64_t e) { sink.fetch_add(e - b, std::memory_order_relaxed); };
  for (int i = 0; i < 1000; ++i) pool.parallel_for(0, 64, body, 1);
  std::vector<double> hot;
  for (int rep = 0; rep < 5; ++rep) {
    const int calls = 20000;
    const auto t0 = Clock::now();
    for (int i = 0; i < calls; ++i) pool.parallel_for(0, 64, body, 1);
    hot.push_back(since(t0) / calls * 1e6);
  }
  // Cold: workers asleep on the futex (past their spin) when the call comes.
  std::vector<double> cold;
  for (int i = 0; i < 200; ++i) {
    std::this_thread::sleep_for(std::chrono::microseconds(300));
    const auto t0 = Clock::now();
    pool.parallel_for(0, 64, body, 1);
    cold.push_back(since(t0) * 1e6);
  }
  std::sort(hot.begin(), hot.end());
  std::sort(cold.begin(), cold.end());
  std::printf("  %d threads: %.2f us/call hot (best of 5 x 20000; median %.2f), %.1f us/call "
              "waking from sleep (median of 200; best %.1f)\n",
              threads, hot.front(), hot[hot.size() / 2], cold[cold.size() / 2], cold.front());
}

// ---- quantization error of the chosen formats vs. GGUF-style alternatives ------------------

void format_error_report() {
  const int64_t rows = 256, cols = 1792;
  std::mt19937 rng(3);
  std::normal_distribution<float> g(0.f, 0.02f);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::vector<float> w(static_cast<size_t>(rows * cols));
  for (auto& v : w) v = u(rng) < 0.002f ? 8.f * g(rng) : g(rng);  // a few outliers
  double sq = 0;
  for (float v : w) sq += double(v) * v;
  const double rms_w = std::sqrt(sq / double(w.size()));

  auto rms_of = [&](const QuantMatrix& m) {
    std::vector<float> d(static_cast<size_t>(cols));
    double e = 0;
    for (int64_t r = 0; r < rows; ++r) {
      m.dequantize_row(r, d.data());
      for (int64_t j = 0; j < cols; ++j) {
        const double diff = double(d[size_t(j)]) - w[size_t(r * cols + j)];
        e += diff * diff;
      }
    }
    return std::sqrt(e / double(w.size())) / rms_w;
  };
  // GGUF Q4_0 reference quantizer: d = (signed max) / -8, q = clamp(round(w/d) + 8, 0, 15).
  double e40 = 0, e80 = 0;
  for (int64_t b = 0; b < rows * cols / 32; ++b) {
    const float* v = &w[size_t(b * 32)];
    float amax = 0, mx = 0;
    for (int i = 0; i < 32; ++i)
      if (std::fabs(v[i]) > amax) amax = std::fabs(v[i]), mx = v[i];
    const float d4 = fp16_to_fp32(fp32_to_fp16(mx / -8.f));
    const float d8 = fp16_to_fp32(fp32_to_fp16(amax / 127.f));
    for (int i = 0; i < 32; ++i) {
      const float q4 = d4 != 0 ? std::clamp(std::nearbyint(v[i] / d4), -8.f, 7.f) : 0.f;
      const float q8 = d8 != 0 ? std::nearbyint(v[i] / d8) : 0.f;
      e40 += std::pow(double(q4 * d4 - v[i]), 2);
      e80 += std::pow(double(q8 * d8 - v[i]), 2);
    }
  }
  e40 = std::sqrt(e40 / double(w.size())) / rms_w;
  e80 = std::sqrt(e80 / double(w.size())) / rms_w;
  auto q4 = quantize(w.data(), rows, cols, WeightFormat::kQ4, "err");
  auto i8 = quantize(w.data(), rows, cols, WeightFormat::kInt8, "err");
  auto b16 = quantize(w.data(), rows, cols, WeightFormat::kBF16, "err");
  std::printf("quantization error, rms(w' - w) / rms(w), Gaussian %lldx%lld with 0.2%% 8x outliers:\n",
              (long long)rows, (long long)cols);
  std::printf("  q4 (this, min-max-error scale) %.4f   GGUF Q4_0 (d = max/-8) %.4f\n", rms_of(*q4), e40);
  std::printf("  int8 (this, per row)           %.4f   GGUF Q8_0 (per 32)     %.4f\n", rms_of(*i8), e80);
  std::printf("  bf16                           %.4f\n", rms_of(*b16));
}

// ---- the model benchmark -----------------------------------------------------------------

struct Layer {
  std::vector<QuantMatrix> mats;
};

void bench_model(const ModelShape& s, const std::vector<WeightFormat>& formats,
                 const std::vector<int>& threads, const std::vector<Stats>& roof, double gib,
                 int reps) {
  const auto mats = layer_mats(s);
  int64_t layer_weights = 0;
  for (const auto& m : mats) layer_weights += m.rows * m.cols;
  const int64_t model_weights = layer_weights * s.layers + s.vocab * s.hidden;
  std::printf("\n== %s: hidden %lld, ffn %lld, %lld layers, %lldq/%lldkv x %lld, vocab %lld "
              "(tied head): %.3fG weights in matvecs per token\n",
              s.name, (long long)s.hidden, (long long)s.inter, (long long)s.layers,
              (long long)s.heads, (long long)s.kv_heads, (long long)s.head_dim,
              (long long)s.vocab, double(model_weights) / 1e9);

  std::vector<std::vector<float>> src(mats.size());
  for (size_t i = 0; i < mats.size(); ++i) {
    src[i].resize(size_t(mats[i].rows * mats[i].cols));
    fill(src[i], 11 + i);
  }
  std::vector<float> head_src(static_cast<size_t>(s.vocab * s.hidden));
  fill(head_src, 99);
  const int64_t q_dim = s.heads * s.head_dim;
  std::vector<float> x_h(static_cast<size_t>(s.hidden)), x_q(static_cast<size_t>(q_dim)), x_i(static_cast<size_t>(s.inter));
  fill(x_h, 1);
  fill(x_q, 2);
  fill(x_i, 3);
  std::vector<float> y(static_cast<size_t>(std::max({s.inter, s.vocab, q_dim})));

  struct Row {
    WeightFormat f;
    int threads;
    Stats layer, head;
    double tok_best, tok_med, token_gb;
  };
  std::vector<Row> rows_out;
  std::vector<std::string> notes;
  ThreadPool quant_pool(2);
  for (WeightFormat f : formats) {
    // Distinct copies of one layer so that a pass streams >= gib GiB from DRAM.
    std::vector<Layer> layers(1);
    size_t layer_bytes = 0;
    for (size_t i = 0; i < mats.size(); ++i) {
      auto q = quantize(src[i].data(), mats[i].rows, mats[i].cols, f, mats[i].name, &quant_pool);
      if (!q.is_ok()) {
        std::fprintf(stderr, "%s\n", q.status().to_string().c_str());
        std::exit(1);
      }
      layer_bytes += q->stream_bytes();
      layers[0].mats.push_back(std::move(q).value());
    }
    const int64_t copies = std::clamp<int64_t>(
        int64_t(std::ceil(gib * double(1ull << 30) / double(layer_bytes))), 2, 256);
    for (int64_t c = 1; c < copies; ++c) {
      Layer l;
      for (const auto& m : layers[0].mats) l.mats.push_back(copy_of(m));
      layers.push_back(std::move(l));
    }
    auto head = quantize(head_src.data(), s.vocab, s.hidden, f, "lm_head", &quant_pool);
    const size_t head_bytes = head->stream_bytes();
    const double token_bytes = double(layer_bytes) * double(s.layers) + double(head_bytes);

    for (size_t ti = 0; ti < threads.size(); ++ti) {
      ThreadPool pool(threads[ti]);
      auto layer_pass = [&] {
        for (const Layer& l : layers) {
          for (size_t i = 0; i < l.mats.size(); ++i) {
            const float* x = i == 3 ? x_q.data() : i == 6 ? x_i.data() : x_h.data();
            matvec(l.mats[i], x, y.data(), &pool);
          }
        }
      };
      layer_pass();  // warm-up (page faults, pool spin-up)
      std::vector<double> layer_rates, head_rates, layer_secs, head_secs;
      for (int r = 0; r < reps; ++r) {
        auto t0 = Clock::now();
        layer_pass();
        const double tl = since(t0) / double(copies);
        layer_secs.push_back(tl);
        layer_rates.push_back(double(layer_bytes) / tl / 1e9);
        // At 100M the head fits in L3 on its own, so it is timed right after a layer pass
        // has flushed it.
        t0 = Clock::now();
        matvec(*head, x_h.data(), y.data(), &pool);
        const double th = since(t0);
        head_secs.push_back(th);
        head_rates.push_back(double(head_bytes) / th / 1e9);
      }
      std::sort(layer_secs.begin(), layer_secs.end());
      std::sort(head_secs.begin(), head_secs.end());
      const double tok_best = 1.0 / (double(s.layers) * layer_secs.front() + head_secs.front());
      const double tok_med = 1.0 / (double(s.layers) * layer_secs[layer_secs.size() / 2] +
                                    head_secs[head_secs.size() / 2]);
      rows_out.push_back({f, threads[ti], stats(layer_rates), stats(head_rates), tok_best, tok_med,
                          token_bytes / 1e9});
    }
    char note[200];
    std::snprintf(note, sizeof(note), "%s: %zu distinct layer copies (%.2f GB), %.3f GB per token incl. head, %.4f B/weight",
                  weight_format_name(f), layers.size(), double(layer_bytes) * double(copies) / 1e9,
                  token_bytes / 1e9, token_bytes / double(model_weights));
    notes.push_back(note);
  }
  // The roof per thread count: the probe, or the f32 stream when that read faster.
  std::vector<double> roof_gbs;
  for (size_t ti = 0; ti < threads.size(); ++ti) {
    double r = roof[ti].best;
    for (const Row& row : rows_out)
      if (row.f == WeightFormat::kF32 && row.threads == threads[ti]) r = std::max({r, row.layer.best, row.head.best});
    roof_gbs.push_back(r);
    std::printf("roof, %d thread%s: %.2f GB/s (%s)\n", threads[ti], threads[ti] > 1 ? "s" : "", r,
                r > roof[ti].best ? "the f32 matvec read faster than the probe" : "probe");
  }
  std::printf("%-5s %3s | %-31s | %-31s | %s\n", "fmt", "thr", "layers: GB/s best (med)  % roof",
              "head: GB/s best (med)  % roof", "implied decode tok/s (roof tok/s)");
  for (const Row& row : rows_out) {
    size_t ti = 0;
    while (threads[ti] != row.threads) ++ti;
    const double r = roof_gbs[ti];
    std::printf("%-5s %3d | %6.2f (%6.2f)  %5.1f%%        | %6.2f (%6.2f)  %5.1f%%       | "
                "%6.2f best, %6.2f median (%.2f)\n",
                weight_format_name(row.f), row.threads, row.layer.best, row.layer.median,
                100 * row.layer.best / r, row.head.best, row.head.median, 100 * row.head.best / r,
                row.tok_best, row.tok_med, r / row.token_gb);
  }
  for (const auto& n : notes) std::printf("  (%s)\n", n.c_str());
}

// The kernels' compute ceiling: a matvec on a matrix that stays in L2 (~200-600 KB), so the
// rate is what the instructions allow, not what DRAM delivers. A format whose ceiling is far
// above the roof is bandwidth-bound; one below it is compute-bound.
void bench_in_cache(const std::vector<WeightFormat>& formats) {
  const int64_t rows = 64, cols = 1792;
  std::vector<float> w(static_cast<size_t>(rows * cols)), x(static_cast<size_t>(cols)),
      y(static_cast<size_t>(rows));
  fill(w, 8);
  fill(x, 9);
  std::printf("\ncompute ceiling, 1 thread (%lld x %lld matrix in L2): weight GB/s, Gweights/s, "
              "best of 7, for isa %s\n", (long long)rows, (long long)cols, isa_name(active_isa()));
  for (WeightFormat f : formats) {
    auto q = quantize(w.data(), rows, cols, f, "l2");
    const int calls = int(std::max<int64_t>(200, (int64_t(400) << 20) / int64_t(q->stream_bytes())));
    double best = 1e30;
    for (int r = 0; r < 7; ++r) {
      const auto t0 = Clock::now();
      for (int i = 0; i < calls; ++i) matvec(*q, x.data(), y.data());
      best = std::min(best, since(t0) / calls);
    }
    std::printf("  %-5s %7.2f GB/s  %6.2f Gweights/s\n", weight_format_name(f),
                double(q->stream_bytes()) / best / 1e9, double(rows * cols) / best / 1e9);
  }
}

// Prefill: n rows through the gate_proj-sized matrix, GFLOP/s (2 flops per weight per row).
void bench_prefill(const ModelShape& s, const std::vector<WeightFormat>& formats,
                   const std::vector<int>& threads) {
  const int64_t rows = s.inter, cols = s.hidden, n = 64;
  std::vector<float> w(static_cast<size_t>(rows * cols)), X(static_cast<size_t>(n * cols)), Y(static_cast<size_t>(n * rows));
  fill(w, 5);
  fill(X, 6);
  std::printf("\nprefill (matmul), %lld x %lld weights, %lld input rows: GFLOP/s best of 5\n",
              (long long)rows, (long long)cols, (long long)n);
  for (WeightFormat f : formats) {
    auto q = quantize(w.data(), rows, cols, f, "gate");
    std::printf("  %-5s", weight_format_name(f));
    for (int t : threads) {
      ThreadPool pool(t);
      matmul(*q, X.data(), n, Y.data(), &pool);
      double best = 1e30;
      for (int r = 0; r < 5; ++r) {
        const auto t0 = Clock::now();
        matmul(*q, X.data(), n, Y.data(), &pool);
        best = std::min(best, since(t0));
      }
      // The same work as n matvecs, for comparison.
      double mv = 1e30;
      for (int r = 0; r < 3; ++r) {
        const auto t0 = Clock::now();
        for (int64_t i = 0; i < n; ++i) matvec(*q, X.data() + i * cols, Y.data() + i * rows, &pool);
        mv = std::min(mv, since(t0));
      }
      std::printf("   %d thr: %6.1f GFLOP/s (%.1fx the %lld matvecs)", t,
                  2.0 * double(rows * cols * n) / best / 1e9, mv / best, (long long)n);
    }
    std::printf("\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> presets{"2.1b", "100m"};
  std::vector<int> threads{1, 2};
  std::vector<WeightFormat> formats{WeightFormat::kF32, WeightFormat::kBF16, WeightFormat::kInt8,
                                    WeightFormat::kQ4};
  double gib = 1.0;
  int reps = 12;
  bool prefill = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const std::string v = i + 1 < argc ? argv[i + 1] : "";
    if (a == "--presets") presets = split(v, ','), ++i;
    else if (a == "--threads") {
      threads.clear();
      for (const auto& t : split(v, ',')) threads.push_back(std::atoi(t.c_str()));
      ++i;
    } else if (a == "--formats") {
      formats.clear();
      for (const auto& t : split(v, ',')) {
        auto f = parse_weight_format(t);
        if (!f.is_ok()) return std::fprintf(stderr, "%s\n", f.status().to_string().c_str()), 2;
        formats.push_back(*f);
      }
      ++i;
    } else if (a == "--gib") gib = std::atof(v.c_str()), ++i;
    else if (a == "--reps") reps = std::max(1, std::atoi(v.c_str())), ++i;
    else if (a == "--no-prefill") prefill = false;
    else {
      std::fprintf(stderr, "usage: bench_matvec [--presets 2.1b,100m] [--threads 1,2] "
                           "[--formats f32,bf16,int8,q4] [--gib 1] [--reps 12] [--no-prefill]\n");
      return 2;
    }
  }
  std::printf("bench_matvec: ISA %s (detected %s), %u hardware threads\n", isa_name(active_isa()),
              isa_name(detected_isa()), std::thread::hardware_concurrency());

  std::printf("\nthread pool overhead (empty parallel_for over 64 items):\n");
  for (int t : threads)
    if (t > 1) pool_overhead(t);

  std::vector<uint64_t> buf(size_t(1) << 27);  // 1 GiB
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = i * 0x9E3779B97F4A7C15ull;  // (aligned: 16 B)
  std::vector<Stats> roof;
  std::printf("\nread bandwidth probe (sum over 1 GiB), GB/s best (median) of %d:\n", reps);
  for (int t : threads) {
    ThreadPool pool(t);
    Stats best;
    std::printf("  %d thread%s:", t, t > 1 ? "s" : " ");
    for (const auto& m : kReadMethods) {
      const Stats st = read_bandwidth(pool, buf, std::max(3, reps / 2), m.fn);
      std::printf("  %s %.2f (%.2f)", m.name, st.best, st.median);
      if (st.best > best.best) best = st;
    }
    roof.push_back(best);
    std::printf("  -> probe %.2f\n", best.best);
  }
  buf = {};
  buf.shrink_to_fit();

  format_error_report();
  bench_in_cache(formats);
  for (const auto& p : presets) {
    for (const auto& s : kShapes) {
      if (std::string(s.name).find(p) != std::string::npos) bench_model(s, formats, threads, roof, gib, reps);
    }
  }
  if (prefill) bench_prefill(kShapes[0], formats, threads);
  return 0;
}
