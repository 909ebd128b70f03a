// Dispatch, the public entry points, and the portable kernels (plain C++, compiled without ISA
// flags so it runs on any x86-64 and beyond). The portable kernels keep the AVX2 path's
// structure -- 8 lanes, two lane accumulators, q4 partial sums per block, the same pairwise
// final sum -- so the compiler can vectorize them with whatever the baseline ISA offers (SSE2
// on x86-64: ~3-4 Gweights/s on the Zen 5 VM, vs 25-30 for AVX2), and so their rounding
// differs from AVX2's only in FMA vs separate multiply-add (and q4's offset levels).
#include "infer/kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <bit>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "infer/kernels_impl.h"
#include "infer/thread_pool.h"

// The q4 layout is defined on little-endian 32-bit words (weights.h).
static_assert(std::endian::native == std::endian::little, "core/infer assumes a little-endian CPU");

namespace kanana::infer {
namespace detail {
namespace {

constexpr int64_t kB = 32;

// Same association as hsum() in kernels_avx2.cpp.
inline float hsum8(const float* s) {
  return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

// Block b of row `r` as 32 floats (the exact dequantized values without the int8 row scale;
// for q4 the integer levels, *d = the block scale).
template <Fmt F>
inline void decode_block(const MatView& m, int64_t r, int64_t b, float* w, float* d) {
  const uint8_t* row = m.data + size_t(r) * m.row_stride;
  switch (F) {
    case Fmt::kF32: std::memcpy(w, row + b * 4 * kB, 4 * kB); break;
    case Fmt::kBF16: {
      uint16_t h[kB];
      std::memcpy(h, row + b * 2 * kB, sizeof(h));
      for (int i = 0; i < kB; ++i) {
        const uint32_t u = uint32_t(h[i]) << 16;
        std::memcpy(&w[i], &u, 4);
      }
      break;
    }
    case Fmt::kInt8: {
      const auto* q = reinterpret_cast<const int8_t*>(row + b * kB);
      for (int i = 0; i < kB; ++i) w[i] = float(q[i]);
      break;
    }
    case Fmt::kQ4: {
      // Block b is half b % 2 of group b / 2: vectors k = 4 * (b % 2) .. + 3, vector k in
      // nibble k of the group's eight little-endian words (weights.h).
      uint32_t wd[8];
      std::memcpy(wd, row + (b / 2) * 32, sizeof(wd));
      const int k0 = 4 * int(b & 1);
      for (int v = 0; v < 4; ++v)
        for (int l = 0; l < 8; ++l) w[8 * v + l] = float(int((wd[l] >> (4 * (k0 + v))) & 0xF) - 8);
      if (b & 1) {  // nibble 7 is two's complement, not offset binary
        for (int l = 0; l < 8; ++l) w[24 + l] = float(int((wd[l] >> 28) ^ 8) - 8);
      }
      uint16_t h;
      std::memcpy(&h, m.scales + 2 * size_t(r * (m.kpad / kB) + b), 2);
      *d = fp16_to_fp32(h);
      break;
    }
  }
}

inline float row_scale(const MatView& m, int64_t r) {
  if (m.fmt != Fmt::kInt8) return 1.f;
  float s;
  std::memcpy(&s, m.scales + 4 * size_t(r), 4);
  return s;
}

// One weight row against C inputs; out[c].
template <Fmt F, int C>
void scalar_row_fmt(const MatView& m, int64_t r, const float* const* x, const float* const* xt,
                    float* out) {
  const int64_t nb = m.kpad / kB, nfull = m.cols / kB;
  constexpr bool q4 = F == Fmt::kQ4;
  static constexpr float kZeros[kB] = {};
  float acc[C][2][8] = {};
  for (int64_t b = 0; b < nb; ++b) {
    float w[kB], d = 1.f;
    decode_block<F>(m, r, b, w, &d);
    for (int c = 0; c < C; ++c) {
      // Past cols: the zero-padded partial block, then (q4 pads to 64) whole zero blocks.
      const float* xb = b < nfull ? x[c] + b * kB : b == nfull ? xt[c] : kZeros;
      if constexpr (q4) {
        float t[8];
        for (int l = 0; l < 8; ++l) t[l] = w[l] * xb[l];
        for (int v = 1; v < 4; ++v)
          for (int l = 0; l < 8; ++l) t[l] += w[8 * v + l] * xb[8 * v + l];
        for (int l = 0; l < 8; ++l) acc[c][0][l] += t[l] * d;
      } else {
        for (int v = 0; v < 4; ++v)
          for (int l = 0; l < 8; ++l) acc[c][v & 1][l] += w[8 * v + l] * xb[8 * v + l];
      }
    }
  }
  const float s = row_scale(m, r);
  for (int c = 0; c < C; ++c) {
    float lanes[8];
    for (int l = 0; l < 8; ++l) lanes[l] = q4 ? acc[c][0][l] : acc[c][0][l] + acc[c][1][l];
    const float dot = hsum8(lanes);
    out[c] = F == Fmt::kInt8 ? dot * s : dot;
  }
}

template <int C>
void scalar_row(const MatView& m, int64_t r, const float* const* x, const float* const* xt,
                float* out) {
  switch (m.fmt) {
    case Fmt::kF32: scalar_row_fmt<Fmt::kF32, C>(m, r, x, xt, out); break;
    case Fmt::kBF16: scalar_row_fmt<Fmt::kBF16, C>(m, r, x, xt, out); break;
    case Fmt::kInt8: scalar_row_fmt<Fmt::kInt8, C>(m, r, x, xt, out); break;
    case Fmt::kQ4: scalar_row_fmt<Fmt::kQ4, C>(m, r, x, xt, out); break;
  }
}

void make_tail(const MatView& m, const float* x, float* xt) {
  const int64_t start = (m.cols / kB) * kB;
  for (int64_t j = 0; j < kB; ++j) xt[j] = start + j < m.cols ? x[start + j] : 0.f;
}

}  // namespace

void matvec_scalar(const MatView& m, const float* x, float* y, int64_t r0, int64_t r1) {
  float xt[kB];
  make_tail(m, x, xt);
  const float* xs[1] = {x};
  const float* xts[1] = {xt};
  for (int64_t r = r0; r < r1; ++r) scalar_row<1>(m, r, xs, xts, &y[r]);
}

void matmul_scalar(const MatView& m, const float* X, int64_t ldx, int64_t n, float* Y,
                   int64_t ldy, int64_t r0, int64_t r1) {
  float xt[4][kB];
  for (int64_t i = 0; i < n; i += 4) {
    const int64_t c = n - i < 4 ? n - i : 4;
    const float* xs[4];
    const float* xts[4];
    for (int64_t k = 0; k < c; ++k) {
      xs[k] = X + (i + k) * ldx;
      make_tail(m, xs[k], xt[k]);
      xts[k] = xt[k];
    }
    for (int64_t r = r0; r < r1; ++r) {
      float out[4];
      switch (c) {
        case 4: scalar_row<4>(m, r, xs, xts, out); break;
        case 3: scalar_row<3>(m, r, xs, xts, out); break;
        case 2: scalar_row<2>(m, r, xs, xts, out); break;
        default: scalar_row<1>(m, r, xs, xts, out); break;
      }
      for (int64_t k = 0; k < c; ++k) Y[(i + k) * ldy + r] = out[k];
    }
  }
}

}  // namespace detail

// ---- dispatch ---------------------------------------------------------------------------

namespace {

#if defined(__x86_64__) || defined(__i386__)
// CPUID leaf 1, ECX bit 29. clang before 15 does not know __builtin_cpu_supports("f16c"), and
// the fuzz build (clang 14) compiles this file too.
bool cpu_has_f16c() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
}
#endif

Isa probe_isa() {
#if defined(__x86_64__) || defined(__i386__)
  if (!detail::avx2_compiled()) return Isa::kScalar;
  __builtin_cpu_init();
  // __builtin_cpu_supports also checks that the OS saves the YMM state (XCR0).
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c()) return Isa::kAvx2;
#endif
  return Isa::kScalar;
}

detail::MatView view_of(const QuantMatrix& w) {
  detail::MatView v;
  v.fmt = static_cast<detail::Fmt>(static_cast<int>(w.format()));
  v.rows = w.rows();
  v.cols = w.cols();
  v.kpad = w.padded_cols();
  v.data = w.row_data(0);
  v.row_stride = w.row_stride_bytes();
  v.scales = w.scale_data();
  return v;
}

static_assert(int(WeightFormat::kF32) == int(detail::Fmt::kF32) &&
              int(WeightFormat::kBF16) == int(detail::Fmt::kBF16) &&
              int(WeightFormat::kInt8) == int(detail::Fmt::kInt8) &&
              int(WeightFormat::kQ4) == int(detail::Fmt::kQ4));

// Below this many weights a matvec is a few microseconds: not worth waking threads.
constexpr int64_t kMinParallelWeights = int64_t(1) << 16;

}  // namespace

const char* isa_name(Isa isa) { return isa == Isa::kAvx2 ? "avx2" : "scalar"; }

Isa detected_isa() {
  static const Isa isa = probe_isa();
  return isa;
}

Isa isa_from_setting(const char* setting, Isa detected) {
  if (setting != nullptr && std::string_view(setting) == "scalar") return Isa::kScalar;
  return detected;
}

Isa active_isa() {
  static const Isa isa = isa_from_setting(std::getenv("KANANA_INFER_ISA"), detected_isa());
  return isa;
}

void matvec_rows(const QuantMatrix& w, const float* x, float* y, int64_t row_begin,
                 int64_t row_end, Isa isa) {
  assert(!w.empty() && 0 <= row_begin && row_begin <= row_end && row_end <= w.rows());
  if (row_begin >= row_end) return;
  const detail::MatView v = view_of(w);
  if (isa == Isa::kAvx2 && detected_isa() == Isa::kAvx2) {
    detail::matvec_avx2(v, x, y, row_begin, row_end);
  } else {
    detail::matvec_scalar(v, x, y, row_begin, row_end);
  }
}

void matmul_rows(const QuantMatrix& w, const float* X, int64_t ldx, int64_t n, float* Y,
                 int64_t ldy, int64_t row_begin, int64_t row_end, Isa isa) {
  assert(!w.empty() && 0 <= row_begin && row_begin <= row_end && row_end <= w.rows());
  assert(ldx >= w.cols() && ldy >= w.rows() && n >= 0);
  if (row_begin >= row_end || n <= 0) return;
  const detail::MatView v = view_of(w);
  if (isa == Isa::kAvx2 && detected_isa() == Isa::kAvx2) {
    detail::matmul_avx2(v, X, ldx, n, Y, ldy, row_begin, row_end);
  } else {
    detail::matmul_scalar(v, X, ldx, n, Y, ldy, row_begin, row_end);
  }
}

void matvec(const QuantMatrix& w, const float* x, float* y, ThreadPool* pool, Isa isa) {
  if (pool == nullptr || pool->size() <= 1 || w.rows() * w.padded_cols() < kMinParallelWeights) {
    matvec_rows(w, x, y, 0, w.rows(), isa);
    return;
  }
  pool->parallel_for(0, w.rows(), [&](int64_t b, int64_t e) { matvec_rows(w, x, y, b, e, isa); });
}

void matmul(const QuantMatrix& w, const float* X, int64_t n, float* Y, ThreadPool* pool, Isa isa) {
  if (pool == nullptr || pool->size() <= 1 || n * w.rows() * w.padded_cols() < kMinParallelWeights) {
    matmul_rows(w, X, w.cols(), n, Y, w.rows(), 0, w.rows(), isa);
    return;
  }
  pool->parallel_for(0, w.rows(), [&](int64_t b, int64_t e) {
    matmul_rows(w, X, w.cols(), n, Y, w.rows(), b, e, isa);
  });
}

}  // namespace kanana::infer
