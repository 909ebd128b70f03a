// Correctness of the inference weight formats, kernels and thread pool (a plain executable under
// CTest: exit code 0 when every check passes). Runs every check on the portable path and, when
// the CPU has it, on AVX2.
//
// Bounds, per output element y_r = sum_j w_j x_j (reference in double):
//  (a) kernel vs the dequantized weights w'_j (QuantMatrix::dequantize_row, a separate decoder):
//        |y - sum_j w'_j x_j| <= (2 * blocks + 10) * 2^-24 * sum_j m_j |x_j|
//      fp32 summation error only (each lane accumulates <= 2 * blocks products, then <= 10
//      more roundings: q4 block partials and offset, lane merge, pairwise hsum, int8 scale),
//      with m_j = |w'_j| the magnitude accumulated -- for q4, (|q_j| + 8) |d|, as the AVX2
//      kernel sums (q + 8) x and takes the offset out per block. Tight: any decoding error (a
//      wrong nibble, scale or block) is far larger.
//  (b) kernel vs the original fp32 weights, the format's bound plus (a)'s slack:
//        |y - sum_j w_j x_j| <= sum_j |x_j| e_j + slack,   e_j = 0 (f32), 2^-8 |w_j| (bf16),
//        s_r / 2 (int8, per-row scale), |d_b| / 2 (q4, scale of j's block).
//  (c) per weight: |w_j - w'_j| <= e_j (times 1 + 2^-20 for the rounding of w / s itself).
// Also: matmul == n matvecs bit for bit; 1, 2 and 3 threads bit-identical; x is read only up
// to cols (NaN after it would poison the result); bf16/fp16 conversions match references.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>  // _cvtsh_ss, to compare the fp16 decoder with F16C
#endif

#include "infer/kernels.h"
#include "infer/thread_pool.h"
#include "infer/weights.h"

using namespace kanana;
using namespace kanana::infer;

namespace {

int g_failures = 0;
int g_checks = 0;

#define CHECK(cond, ...)                                   \
  do {                                                     \
    ++g_checks;                                            \
    if (!(cond)) {                                         \
      ++g_failures;                                        \
      std::fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      std::fprintf(stderr, __VA_ARGS__);                   \
      std::fprintf(stderr, "\n");                          \
      if (g_failures > 50) std::exit(1);                   \
    }                                                      \
  } while (0)

constexpr WeightFormat kFormats[] = {WeightFormat::kF32, WeightFormat::kBF16, WeightFormat::kInt8,
                                     WeightFormat::kQ4};

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

std::vector<Isa> isas() {
  std::vector<Isa> v{Isa::kScalar};
  if (detected_isa() == Isa::kAvx2) v.push_back(Isa::kAvx2);
  return v;
}

// Gaussian weights with a few 10x outliers (as real checkpoints have), an all-zero row and a
// row with one large weight, so the scale logic sees its edge cases.
std::vector<float> random_matrix(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.f, 0.05f);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::vector<float> w(static_cast<size_t>(rows * cols));
  for (auto& v : w) v = u(rng) < 0.01f ? 10.f * g(rng) : g(rng);
  if (rows > 2) std::fill(w.begin() + cols, w.begin() + 2 * cols, 0.f);
  if (rows > 3) w[size_t(2 * cols + cols / 2)] = 3.f;
  return w;
}

// x followed by NaN: a kernel reading past cols returns NaN.
struct Input {
  std::vector<float> buf;
  float* x() { return buf.data(); }
};
Input random_input(int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.f, 1.f);
  Input in;
  in.buf.assign(size_t(cols + 64), std::numeric_limits<float>::quiet_NaN());
  for (int64_t j = 0; j < cols; ++j) in.buf[size_t(j)] = g(rng);
  return in;
}

// e_j of weights.h for weight j of `row`.
double weight_bound(const QuantMatrix& m, int64_t row, int64_t j, float w) {
  switch (m.format()) {
    case WeightFormat::kF32: return 0.0;
    case WeightFormat::kBF16: return std::max(std::ldexp(std::fabs(double(w)), -8), std::ldexp(1.0, -134));
    case WeightFormat::kInt8: return m.int8_row_scale(row) / 2.0;
    case WeightFormat::kQ4: return std::fabs(m.q4_block_scale(row, j / kBlock)) / 2.0;
  }
  return 0.0;
}

// ---- conversions -------------------------------------------------------------------------

uint16_t bf16_reference(float f) {
  const uint32_t u = bits_of(f);
  if (std::isnan(f)) return uint16_t((u >> 16) | 0x40);
  const uint32_t lo = u & 0xFFFF0000u;      // truncated toward zero
  const uint32_t hi = lo + 0x10000u;        // next magnitude up
  const double v = std::fabs(double(f));
  const double a = std::fabs(double(float_of(lo)));
  const double b = (hi & 0x7FFFFFFFu) == 0x7F800000u ? std::ldexp(1.0, 128)
                                                      : std::fabs(double(float_of(hi)));
  if (std::isinf(f)) return uint16_t(u >> 16);
  if (v - a < b - v) return uint16_t(lo >> 16);
  if (v - a > b - v) return uint16_t(hi >> 16);
  return uint16_t(((lo >> 16) & 1u) ? hi >> 16 : lo >> 16);  // tie: even
}

double fp16_value(uint16_t h) {  // independent decoder
  const int e = (h >> 10) & 31, m = h & 1023;
  const double s = (h & 0x8000) ? -1.0 : 1.0;
  if (e == 0) return s * std::ldexp(double(m), -24);
  if (e == 31) return m ? std::numeric_limits<double>::quiet_NaN() : s * INFINITY;
  return s * std::ldexp(double(1024 + m), e - 25);
}

#if defined(__x86_64__)
__attribute__((target("f16c"))) float fp16_hw(uint16_t h) {
  return _cvtsh_ss(h);
}
#endif

void test_conversions() {
  // bf16: every low half for a few high halves (all ties, signs, zero, subnormals, the
  // overflow to infinity, NaN), then random patterns.
  const uint32_t highs[] = {0x0000, 0x0001, 0x0080, 0x3F80, 0x3F81, 0x4049, 0x7F7E, 0x7F7F,
                            0x7F80, 0x7FC0, 0x8000, 0x8001, 0xBF80, 0xFF7F, 0xFF80};
  int bad = 0;
  for (uint32_t hi : highs) {
    for (uint32_t lo = 0; lo < 0x10000; ++lo) {
      const float f = float_of((hi << 16) | lo);
      const uint16_t got = fp32_to_bf16(f), want = bf16_reference(f);
      if (got != want && bad++ < 5) CHECK(false, "bf16(%08x) = %04x, want %04x", bits_of(f), got, want);
    }
  }
  std::mt19937 rng(1);
  for (int i = 0; i < 1 << 22; ++i) {
    const float f = float_of(rng());
    const uint16_t got = fp32_to_bf16(f), want = bf16_reference(f);
    if (got != want && bad++ < 5) CHECK(false, "bf16(%08x) = %04x, want %04x", bits_of(f), got, want);
  }
  CHECK(bad == 0, "%d bf16 conversions differ from the reference", bad);
  CHECK(bf16_to_fp32(fp32_to_bf16(1.f)) == 1.f, "bf16 1.0");
  CHECK(fp32_to_bf16(std::numeric_limits<float>::max()) == 0x7F80, "FLT_MAX rounds to bf16 inf");

  // fp16: decode all 65536 codes (against an independent decoder and F16C), and encode
  // must pick the nearest code, ties to even.
  bad = 0;
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const double want = fp16_value(uint16_t(h));
    const float got = fp16_to_fp32(uint16_t(h));
    const bool same = std::isnan(want) ? std::isnan(got) : double(got) == want;
    if (!same && bad++ < 5) CHECK(false, "fp16_to_fp32(%04x) = %g, want %g", h, got, want);
#if defined(__x86_64__)
    if (detected_isa() == Isa::kAvx2) {
      const float hw = fp16_hw(uint16_t(h));
      if (bits_of(hw) != bits_of(got) && !(std::isnan(hw) && std::isnan(got)) && bad++ < 5) {
        CHECK(false, "fp16_to_fp32(%04x) = %08x, F16C says %08x", h, bits_of(got), bits_of(hw));
      }
    }
#endif
    if (std::isnan(want) || std::isinf(want)) continue;
    // Every fp32 between this code and the next (sampled) must encode to the nearer one.
    const uint16_t next = uint16_t(h + 1);
    if ((h & 0x7FFF) >= 0x7BFF) continue;
    const double a = want, b = fp16_value(next);
    for (int k = 1; k < 8; ++k) {
      const float f = float(a + (b - a) * k / 8.0);
      const double da = std::fabs(double(f) - a), db = std::fabs(double(f) - b);
      const uint16_t expect = da < db ? uint16_t(h) : da > db ? next : ((h & 1) ? next : uint16_t(h));
      if (fp32_to_fp16(f) != expect && bad++ < 5) {
        CHECK(false, "fp32_to_fp16(%.9g) = %04x, want %04x", f, fp32_to_fp16(f), expect);
      }
    }
  }
  CHECK(fp32_to_fp16(65520.f) == 0x7C00 && fp32_to_fp16(65519.f) == 0x7BFF, "fp16 overflow edge");
  CHECK(bad == 0, "%d fp16 conversions wrong", bad);
}

// ---- quantization ------------------------------------------------------------------------

void test_formats_and_errors() {
  for (const char* n : {"f32", "bf16", "int8", "q4"}) {
    auto f = parse_weight_format(n);
    CHECK(f.is_ok() && std::string(weight_format_name(*f)) == n, "parse/name %s", n);
  }
  CHECK(!parse_weight_format("q3").is_ok(), "q3 must be refused");

  std::vector<float> w = random_matrix(4, 40, 7);
  w[size_t(1 * 40 + 5)] = std::numeric_limits<float>::quiet_NaN();
  for (WeightFormat f : kFormats) {
    auto r = quantize(w.data(), 4, 40, f, "model.layers.3.mlp.up_proj");
    CHECK(!r.is_ok() && r.status().message().find("model.layers.3.mlp.up_proj") != std::string::npos &&
              r.status().message().find("[1, 5]") != std::string::npos,
          "NaN weight must be refused naming layer and position (%s): %s", weight_format_name(f),
          r.status().to_string().c_str());
  }
  std::vector<float> huge(64, 1e6f);
  auto r = quantize(huge.data(), 1, 64, WeightFormat::kQ4, "big.layer");
  CHECK(!r.is_ok() && r.status().message().find("big.layer") != std::string::npos,
        "q4 scale overflow must be refused with the layer name: %s", r.status().to_string().c_str());
  CHECK(quantize(huge.data(), 1, 64, WeightFormat::kInt8, "big.layer").is_ok(), "int8 takes 1e6");
  auto empty = quantize(huge.data(), 0, 64, WeightFormat::kQ4, "empty.layer");
  CHECK(!empty.is_ok() && empty.status().message().find("empty.layer") != std::string::npos, "0 rows");

  // The q4 nibble order, against the formula in weights.h computed here independently:
  // weight 64g + 8k + l is nibble k of little-endian word l of group g; q + 8 below nibble 7.
  {
    std::vector<uint8_t> row(64, 0);
    bool ok = true;
    for (int i = 0; i < 128; ++i) {
      const int q = (i * 5) % 16 - 8;
      q4_set_level(row.data(), i, q);
      const int g = i / 64, k = (i % 64) / 8, l = i % 8;
      uint32_t word;
      std::memcpy(&word, row.data() + 32 * g + 4 * l, 4);
      const uint32_t nib = (word >> (4 * k)) & 0xF;
      ok = ok && nib == uint32_t((k == 7 ? q : q + 8) & 0xF) && q4_level(row.data(), i) == q;
    }
    for (int i = 0; i < 128; ++i) ok = ok && q4_level(row.data(), i) == (i * 5) % 16 - 8;
    CHECK(ok, "q4 nibble order differs from the documented layout");
  }

  // Padding: width 40 in q4 is one 64-group: a full block, then 8 weights and 24 of padding
  // that must hold level 0 (the kernels multiply them with zeros anyway).
  std::vector<float> w2 = random_matrix(3, 40, 8);
  auto q = quantize(w2.data(), 3, 40, WeightFormat::kQ4, "pad");
  CHECK(q.is_ok() && q->padded_cols() == 64 && q->blocks_per_row() == 2, "q4 40 -> 64 cols");
  auto q96 = quantize(random_matrix(2, 96, 4).data(), 2, 96, WeightFormat::kQ4, "pad96");
  CHECK(q96.is_ok() && q96->padded_cols() == 128 && q96->blocks_per_row() == 4, "q4 96 -> 128");
  if (q.is_ok()) {
    for (int64_t row = 0; row < 3; ++row) {
      bool zero = true;
      for (int i = 40; i < 64; ++i) zero = zero && q4_level(q->row_data(row), i) == 0;
      CHECK(zero, "q4 padding levels of row %lld must be 0", (long long)row);
    }
    // from_parts round trip, and its checks.
    std::span<const uint8_t> data(q->row_data(0), size_t(3) * q->row_stride_bytes());
    std::span<const uint8_t> scales(q->scale_data(), q->scale_bytes());
    auto back = QuantMatrix::from_parts(3, 40, WeightFormat::kQ4, data, scales, "pad");
    CHECK(back.is_ok() && std::memcmp(back->row_data(0), q->row_data(0), data.size()) == 0 &&
              std::memcmp(back->scale_data(), q->scale_data(), scales.size()) == 0,
          "from_parts round trip");
    auto short_data = QuantMatrix::from_parts(3, 40, WeightFormat::kQ4, data.subspan(1), scales,
                                              "model.embed_tokens");
    CHECK(!short_data.is_ok() &&
              short_data.status().message().find("model.embed_tokens") != std::string::npos,
          "from_parts size mismatch names the layer");
  }
  auto f = quantize(w2.data(), 3, 40, WeightFormat::kF32, "padf");
  if (f.is_ok()) {
    std::vector<uint8_t> dirty(f->row_data(0), f->row_data(0) + 3 * f->row_stride_bytes());
    dirty[4 * 45] = 0x3F;  // a padding column of row 0
    auto bad_pad = QuantMatrix::from_parts(3, 40, WeightFormat::kF32, dirty, {}, "model.norm");
    CHECK(!bad_pad.is_ok() && bad_pad.status().message().find("model.norm") != std::string::npos,
          "from_parts must refuse non-zero padding");
  }

  // bytes(): storage is at least the format's size, and the accounting is not wildly off.
  std::vector<float> big = random_matrix(256, 1024, 9);
  for (WeightFormat f : kFormats) {
    auto m = quantize(big.data(), 256, 1024, f, "acct");
    const double ideal = 256.0 * 1024.0 * weight_format_bytes_per_weight(f);
    CHECK(m.is_ok() && double(m->stream_bytes()) >= ideal && double(m->bytes()) < ideal * 1.02 + 4096,
          "%s bytes %zu for ideal %.0f", weight_format_name(f), m.is_ok() ? m->bytes() : 0, ideal);
  }
}

// ---- kernels -----------------------------------------------------------------------------

struct Shape {
  int64_t rows, cols;
};

void check_matvec(const std::vector<float>& w, const QuantMatrix& m, Input& in,
                  const std::vector<float>& y, const char* what) {
  const int64_t rows = m.rows(), cols = m.cols();
  std::vector<float> deq(static_cast<size_t>(cols));
  int reported = 0;
  double worst_a = 0, worst_b = 0;  // worst error as a fraction of its bound
  for (int64_t r = 0; r < rows; ++r) {
    m.dequantize_row(r, deq.data());
    double ref_deq = 0, ref = 0, abs_deq = 0, fmt_bound = 0;
    for (int64_t j = 0; j < cols; ++j) {
      const double xj = in.x()[j], wj = w[size_t(r * cols + j)];
      ref_deq += double(deq[size_t(j)]) * xj;
      ref += wj * xj;
      // What the kernel accumulates: |w'| (q4 on AVX2: (q + 8) * d, the offset removed per block)
      const double mag = m.format() == WeightFormat::kQ4
                             ? (std::abs(q4_level(m.row_data(r), j)) + 8.0) *
                                   std::fabs(double(m.q4_block_scale(r, j / kBlock)))
                             : std::fabs(double(deq[size_t(j)]));
      abs_deq += mag * std::fabs(xj);
      const double e = weight_bound(m, r, j, w[size_t(r * cols + j)]);
      fmt_bound += std::fabs(xj) * e;
      // (c) per weight
      const double err = std::fabs(wj - double(deq[size_t(j)]));
      if (err > e * (1 + std::ldexp(1.0, -20)) && reported++ < 3) {
        CHECK(false, "%s: |w - w'| at [%lld, %lld] = %g > %g", what, (long long)r, (long long)j, err, e);
      }
    }
    const double slack = double(2 * m.blocks_per_row() + 10) * std::ldexp(1.0, -24) * abs_deq;
    const double ea = std::fabs(double(y[size_t(r)]) - ref_deq);
    const double eb = std::fabs(double(y[size_t(r)]) - ref);
    if (slack > 0) worst_a = std::max(worst_a, ea / slack);
    if (fmt_bound + slack > 0) worst_b = std::max(worst_b, eb / (fmt_bound + slack));
    if (!(ea <= slack) && reported++ < 3) {
      CHECK(false, "%s row %lld: y = %.9g, dequantized reference %.9g, |err| %.3g > slack %.3g",
            what, (long long)r, y[size_t(r)], ref_deq, ea, slack);
    }
    if (!(eb <= fmt_bound + slack) && reported++ < 3) {
      CHECK(false, "%s row %lld: y = %.9g, fp32 reference %.9g, |err| %.3g > bound %.3g", what,
            (long long)r, y[size_t(r)], ref, eb, fmt_bound + slack);
    }
  }
  CHECK(reported == 0, "%s: %d errors", what, reported);
  if (std::getenv("TEST_INFER_VERBOSE")) {
    std::printf("  %-34s worst err/bound: vs dequantized %.3f, vs fp32 %.3f\n", what, worst_a, worst_b);
  }
}

void test_kernels() {
  // Includes widths past the q4 fast path's scratch (16384 columns): the wide decoder.
  const Shape shapes[] = {{1, 1},     {1, 32},    {3, 31},     {5, 33},    {7, 64},
                          {4, 96},    {17, 100},  {64, 256},   {33, 1000}, {130, 1792},
                          {9, 8064},  {1, 4097},  {2, 16384},  {3, 16400}, {1, 20001}};
  uint32_t seed = 100;
  for (const Shape& s : shapes) {
    const std::vector<float> w = random_matrix(s.rows, s.cols, ++seed);
    Input in = random_input(s.cols, ++seed);
    for (WeightFormat f : kFormats) {
      auto q = quantize(w.data(), s.rows, s.cols, f, "test");
      CHECK(q.is_ok(), "quantize %s %lldx%lld: %s", weight_format_name(f), (long long)s.rows,
            (long long)s.cols, q.status().to_string().c_str());
      if (!q.is_ok()) continue;
      std::vector<std::vector<float>> per_isa;
      for (Isa isa : isas()) {
        char what[96];
        std::snprintf(what, sizeof(what), "%s/%s %lldx%lld", isa_name(isa), weight_format_name(f),
                      (long long)s.rows, (long long)s.cols);
        std::vector<float> y(size_t(s.rows), -1.f);
        matvec_rows(*q, in.x(), y.data(), 0, s.rows, isa);
        check_matvec(w, *q, in, y, what);

        // Row sub-ranges write only their rows and give the same values.
        if (s.rows >= 3) {
          std::vector<float> y2(size_t(s.rows), 12345.f);
          matvec_rows(*q, in.x(), y2.data(), 1, s.rows - 1, isa);
          bool same = y2.front() == 12345.f && y2.back() == 12345.f;
          for (int64_t r = 1; r < s.rows - 1; ++r) same = same && y2[size_t(r)] == y[size_t(r)];
          CHECK(same, "%s: row range [1, rows-1) differs or writes outside", what);
        }

        // matmul of n rows == n matvecs, bit for bit, with ld > cols and ldy > rows.
        for (int64_t n : {1, 2, 3, 4, 5, 7, 9}) {
          const int64_t ldx = s.cols + 3, ldy = s.rows + 2;
          std::vector<float> X(size_t(n * ldx + 64), std::numeric_limits<float>::quiet_NaN());
          std::mt19937 rng(uint32_t(n * 7 + s.cols));
          std::normal_distribution<float> g(0.f, 1.f);
          for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < s.cols; ++j) X[size_t(i * ldx + j)] = g(rng);
          std::vector<float> Y(size_t(n * ldy), -7.f);
          matmul_rows(*q, X.data(), ldx, n, Y.data(), ldy, 0, s.rows, isa);
          bool same = true;
          std::vector<float> yi(size_t(s.rows));
          for (int64_t i = 0; i < n && same; ++i) {
            matvec_rows(*q, X.data() + i * ldx, yi.data(), 0, s.rows, isa);
            same = std::memcmp(yi.data(), Y.data() + i * ldy, size_t(s.rows) * 4) == 0 &&
                   Y[size_t(i * ldy + s.rows)] == -7.f;
          }
          CHECK(same, "%s: matmul n=%lld differs from n matvecs", what, (long long)n);
        }
        per_isa.push_back(std::move(y));
      }
      // Portable vs AVX2: both within (a); they may differ by FMA rounding only.
      if (per_isa.size() == 2) {
        double worst = 0;
        for (int64_t r = 0; r < s.rows; ++r) {
          worst = std::max(worst, double(std::fabs(per_isa[0][size_t(r)] - per_isa[1][size_t(r)])));
        }
        CHECK(worst < 1e-2, "%s %lldx%lld: scalar vs avx2 differ by %g", weight_format_name(f),
              (long long)s.rows, (long long)s.cols, worst);
      }
    }
  }
}

void test_threads() {
  // Bit-identical results for 1, 2 and 3 threads (and row counts that do not split evenly).
  const int64_t rows = 1000, cols = 777;
  const std::vector<float> w = random_matrix(rows, cols, 55);
  Input in = random_input(cols, 56);
  const int64_t n = 6;
  std::vector<float> X(static_cast<size_t>(n * cols));
  for (size_t i = 0; i < X.size(); ++i) X[i] = in.x()[i % size_t(cols)] * float(1 + i % 3);
  ThreadPool p1(1), p2(2), p3(3);
  for (WeightFormat f : kFormats) {
    auto q = quantize(w.data(), rows, cols, f, "threads", &p3);
    auto q1 = quantize(w.data(), rows, cols, f, "threads");
    CHECK(q.is_ok() && q1.is_ok() &&
              std::memcmp(q->row_data(0), q1->row_data(0), q->stream_bytes()) == 0,
          "%s: threaded quantization differs", weight_format_name(f));
    for (Isa isa : isas()) {
      std::vector<float> ref(static_cast<size_t>(rows)), refm(static_cast<size_t>(n * rows));
      matvec(*q, in.x(), ref.data(), &p1, isa);
      matmul(*q, X.data(), n, refm.data(), &p1, isa);
      for (ThreadPool* p : {&p2, &p3}) {
        for (int rep = 0; rep < 20; ++rep) {
          std::vector<float> y(static_cast<size_t>(rows)), Y(static_cast<size_t>(n * rows));
          matvec(*q, in.x(), y.data(), p, isa);
          matmul(*q, X.data(), n, Y.data(), p, isa);
          CHECK(std::memcmp(y.data(), ref.data(), y.size() * 4) == 0 &&
                    std::memcmp(Y.data(), refm.data(), Y.size() * 4) == 0,
                "%s/%s: %d threads differ from 1", isa_name(isa), weight_format_name(f), p->size());
        }
      }
    }
  }

  // parallel_for covers every index exactly once, chunks aligned, many calls in a row, and
  // wake-ups from sleep.
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads, 20);
    for (int64_t total : {0, 1, 15, 16, 17, 100, 1000, 4097}) {
      std::vector<std::atomic<int>> hits(size_t(total) + 1);
      std::atomic<int> misaligned{0};
      pool.parallel_for(1, total + 1, [&](int64_t b, int64_t e) {
        if ((b - 1) % 16 != 0) misaligned.fetch_add(1);
        for (int64_t i = b; i < e; ++i) hits[size_t(i)].fetch_add(1);
      });
      int bad = misaligned.load() + (total >= 0 ? hits[0].load() : 0);
      for (int64_t i = 1; i <= total; ++i) bad += hits[size_t(i)].load() != 1;
      CHECK(bad == 0, "parallel_for(%d threads, %lld): coverage/alignment wrong", threads, (long long)total);
    }
    std::atomic<int64_t> sum{0};
    for (int call = 0; call < 3000; ++call) {
      pool.parallel_for(0, 64, [&](int64_t b, int64_t e) { sum.fetch_add(e - b); }, 1);
      if (call % 1000 == 999) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    CHECK(sum.load() == 3000 * 64, "pool %d: %lld", threads, (long long)sum.load());
  }
  ThreadPool one(1);
  std::thread::id where;
  one.parallel_for(0, 100, [&](int64_t, int64_t) { where = std::this_thread::get_id(); });
  CHECK(where == std::this_thread::get_id(), "a 1-thread pool runs on the caller");
}

}  // namespace

int main() {
  std::printf("test_infer_kernels: detected %s, active %s (KANANA_INFER_ISA=%s)\n",
              isa_name(detected_isa()), isa_name(active_isa()),
              std::getenv("KANANA_INFER_ISA") ? std::getenv("KANANA_INFER_ISA") : "");
  CHECK(isa_from_setting("scalar", Isa::kAvx2) == Isa::kScalar, "env scalar");
  CHECK(isa_from_setting(nullptr, Isa::kAvx2) == Isa::kAvx2, "env unset");
  CHECK(isa_from_setting("avx2", Isa::kScalar) == Isa::kScalar, "env cannot add features");
  CHECK(active_isa() == isa_from_setting(std::getenv("KANANA_INFER_ISA"), detected_isa()),
        "active ISA follows KANANA_INFER_ISA");
  if (detected_isa() != Isa::kAvx2) std::printf("  (no AVX2 here: portable path only)\n");

  test_conversions();
  test_formats_and_errors();
  test_kernels();
  test_threads();
  std::printf("%d checks, %d failures\n", g_checks, g_failures);
  return g_failures == 0 ? 0 : 1;
}
