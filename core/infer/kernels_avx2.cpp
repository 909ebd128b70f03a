// AVX2 + FMA + F16C kernels (this file alone is compiled with -mavx2 -mfma -mf16c; it is only
// entered after kernels.cpp checked the CPU). Layouts: weights.h. Order of operations: kernels.h.
//
// Per 8 weights the inner loops issue:
//   f32   1 load + 1 FMA                         (memory-bound by far)
//   bf16  vpmovzxwd (load) + vpslld 16 + FMA      (the bf16 bits are the high half of an fp32)
//   int8  vpmovsxbd (load) + vcvtdq2ps + FMA      (row scale applied once, after the sum)
//   q4    vpand + vcvtdq2ps + FMA, one 256-bit load per 64 weights (see the q4 section);
//         a block's 4 products are summed first (t, starting from -cb), then acc += t * d
//         (one FMA per block), the 8 fp16 scales of 8 blocks converted by one vcvtph2ps.
// Register tiles: matvec runs 4 weight rows x 1 input (the x vector is loaded once for 4 rows,
// 8 independent accumulator chains hide the FMA latency), the 4 rows taken from the 4 quarters
// of the row range so the tile reads 4 long sequential streams; matmul runs 1 weight row x 4
// inputs (each weight vector is decoded once and used 4 times) over an L2-sized band of rows.
//
// Nothing from std:: and no inline function from a shared header is used here (see
// kernels_impl.h for why); all helpers have internal linkage.
#include "infer/kernels_impl.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)

#include <immintrin.h>

// Software prefetch distance into each weight stream, in bytes (0 = hardware prefetchers
// only). On the AMD EPYC (Zen 5) VM this was tuned on, 1 KiB beat 0, 512, 2048 and 4096:
// f32 layers 39-40 GB/s vs 36 without, bf16 35 vs 32-35 (bench_matvec, 1 thread); q4 is
// compute-bound and does not care.
#ifndef KANANA_INFER_PREFETCH_BYTES
#define KANANA_INFER_PREFETCH_BYTES 1024
#endif

namespace kanana::infer::detail {
namespace {

constexpr int64_t kB = 32;
constexpr int64_t kPrefetch = KANANA_INFER_PREFETCH_BYTES;

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// Pairwise: (l0+l4 + l1+l5) + (l2+l6 + l3+l7); kernels.cpp mirrors this order.
inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehdup_ps(s));     // [s0+s1, _, s2+s3, _]
  s = _mm_add_ss(s, _mm_movehl_ps(s, s));    // (s0+s1) + (s2+s3)
  return _mm_cvtss_f32(s);
}

template <int64_t BlockBytes>
inline void prefetch_block(const uint8_t* row, int64_t b) {
  if constexpr (kPrefetch > 0) {
    if constexpr (BlockBytes >= 64) {
      for (int64_t off = 0; off < BlockBytes; off += 64) {
        _mm_prefetch(reinterpret_cast<const char*>(row + b * BlockBytes + off + kPrefetch),
                     _MM_HINT_T0);
      }
    } else if (b % (64 / BlockBytes) == 0) {
      _mm_prefetch(reinterpret_cast<const char*>(row + b * BlockBytes + kPrefetch), _MM_HINT_T0);
    }
  }
}

// ---- dense formats: vector v (8 weights) of block b ---------------------------------------

struct F32 {
  static constexpr int64_t kBlockBytes = 4 * kB;
  static __m256 load(const uint8_t* row, int64_t b, int v) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(row + b * kBlockBytes + v * 32));
  }
};

struct BF16 {
  static constexpr int64_t kBlockBytes = 2 * kB;
  static __m256 load(const uint8_t* row, int64_t b, int v) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + b * kBlockBytes + v * 16));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
};

struct Int8 {
  static constexpr int64_t kBlockBytes = kB;
  static __m256 load(const uint8_t* row, int64_t b, int v) {
    const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(row + b * kBlockBytes + v * 8));
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q));
  }
};

// What a tile needs of one input: the activations and an auxiliary array (see prepare()).
struct In {
  const float* x;
  const float* aux;
};

// R weight rows x C inputs; out[r * C + c]. in[c].x is input c (cols floats), in[c].aux its
// last partial block zero-padded to 32 (used only when cols % 32 != 0).
template <class L, int R, int C>
inline void dense_tile(const MatView& m, const uint8_t* const* wr, const In* in, float* out) {
  __m256 acc[R][C][2];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) acc[r][c][0] = acc[r][c][1] = _mm256_setzero_ps();

  auto block = [&](int64_t b, const float* const* xb) {
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) prefetch_block<L::kBlockBytes>(wr[r], b);
#pragma GCC unroll 4
    for (int v = 0; v < 4; ++v) {
      __m256 xv[C];
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) xv[c] = _mm256_loadu_ps(xb[c] + 8 * v);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const __m256 w = L::load(wr[r], b, v);
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) acc[r][c][v & 1] = _mm256_fmadd_ps(w, xv[c], acc[r][c][v & 1]);
      }
    }
  };

  const int64_t nfull = m.cols / kB;
  for (int64_t b = 0; b < nfull; ++b) {
    const float* xb[C];
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) xb[c] = in[c].x + b * kB;
    block(b, xb);
  }
  if (nfull * kB < m.kpad) {
    const float* xt[C];
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) xt[c] = in[c].aux;
    block(nfull, xt);
  }

#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) out[r * C + c] = hsum(_mm256_add_ps(acc[r][c][0], acc[r][c][1]));
}

// ---- q4 --------------------------------------------------------------------------------
// One 256-bit load per row brings a 64-weight group: eight 32-bit words, vector k (weights
// 8k..8k+7) in nibble k of each word (weights.h). So vector k is one AND away:
//   word & (0xF << 4k) = (q + 8) * 2^4k for k < 7 (offset binary), q * 2^28 for k = 7,
// exact as an int32 and after vcvtdq2ps. The per-call preparation of the input absorbs the
// rest: xs = x * 2^-4k (a power of two: exact), and cb[b] = the sum of x over the block's
// offset-binary weights, so that per block
//   sum_j q_j x_j = sum over the 8 lanes of t,   t = -cb[b] + sum_j value_j * xs_j
// (four vectors: one fused multiply-subtract, 3 FMA; the offset 8 * sum x is 8 lanes x cb)
// and acc += t * d_b. Per 8 weights: AND, convert, FMA -- three vector ops and no shift (a
// broadcast-and-shift decoding of a plain nibble order took four and ran ~30% slower).
// xs and cb live on the stack: this needs (kpad + kpad / 32) floats per input, so rows wider
// than kQ4FastCols take the wide path, which decodes with a shift, AND and XOR instead.

constexpr int64_t kQ4FastCols = 16384;
constexpr int64_t kScratchFloats = kQ4FastCols + kQ4FastCols / kB;  // ~66 KB

inline bool q4_fast(const MatView& m) { return m.kpad <= kQ4FastCols; }

inline const uint16_t* q4_scales(const MatView& m, int64_t r) {
  return reinterpret_cast<const uint16_t*>(m.scales) + r * (m.kpad / kB);
}

// xs[kpad] and cb[kpad / 32] for input x (see above).
inline void q4_prepare(const MatView& m, const float* x, float* xs, float* cb) {
  const int64_t groups = m.kpad / 64, full = m.cols / 64;
  for (int64_t g = 0; g < groups; ++g) {
    alignas(32) float tail[64];
    const float* xg = x + g * 64;
    if (g >= full) {
      for (int64_t j = 0; j < 64; ++j) tail[j] = g * 64 + j < m.cols ? x[g * 64 + j] : 0.f;
      xg = tail;
    }
    __m256 v[8];
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) {
      v[k] = _mm256_loadu_ps(xg + 8 * k);
      _mm256_storeu_ps(xs + g * 64 + 8 * k, _mm256_mul_ps(v[k], _mm256_set1_ps(1.0f / float(1u << (4 * k)))));
    }
    const __m256 a = _mm256_add_ps(_mm256_add_ps(v[0], v[1]), _mm256_add_ps(v[2], v[3]));
    const __m256 b = _mm256_add_ps(_mm256_add_ps(v[4], v[5]), v[6]);
    cb[2 * g] = hsum(a);  // (x 8 for the offset, / 8 as it is taken from each of the 8 lanes)
    cb[2 * g + 1] = hsum(b);
  }
}

// Scales of blocks 2*g4 .. 2*g4 + 7 as fp32 times `mul` (the load may run past the row's
// last scale into the next row or the allocation's slack; those lanes are not used).
template <int R>
inline void q4_load_scales(const uint16_t* const* sr, int64_t g4, __m256 mul, float (*ds)[8]) {
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sr[r] + 2 * g4)));
    _mm256_store_ps(ds[r], _mm256_mul_ps(d, mul));
  }
}

// Fast path: in[c].x = xs, in[c].aux = cb.
template <int R, int C>
inline void q4_tile(const MatView& m, const uint8_t* const* wr, const uint16_t* const* sr,
                    const In* in, float* out) {
  __m256 acc[R][C];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();

  const int64_t groups = m.kpad / 64;
  for (int64_t g4 = 0; g4 < groups; g4 += 4) {  // 4 groups = 8 blocks = one load of scales
    alignas(32) float ds[R][8];
    q4_load_scales<R>(sr, g4, _mm256_set1_ps(1.f), ds);
    const int64_t gend = min64(groups, g4 + 4);
    for (int64_t g = g4; g < gend; ++g) {
      __m256i wv[R];
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        if ((g & 1) == 0) prefetch_block<64>(wr[r], g / 2);
        wv[r] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wr[r] + g * 32));
      }
#pragma GCC unroll 2
      for (int h = 0; h < 2; ++h) {
        const int64_t b = 2 * g + h;
        __m256 cb[C];
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c) cb[c] = _mm256_broadcast_ss(in[c].aux + b);
        __m256 t[R][C];
#pragma GCC unroll 4
        for (int v = 0; v < 4; ++v) {
          const int k = 4 * h + v;
          const __m256i mask = _mm256_set1_epi32(int(0xFu << (4 * k)));
          __m256 xv[C];
#pragma GCC unroll 4
          for (int c = 0; c < C; ++c) xv[c] = _mm256_loadu_ps(in[c].x + g * 64 + 8 * k);
#pragma GCC unroll 4
          for (int r = 0; r < R; ++r) {
            const __m256 q = _mm256_cvtepi32_ps(_mm256_and_si256(wv[r], mask));
#pragma GCC unroll 4
            for (int c = 0; c < C; ++c) {  // the offset goes out with the first product
              t[r][c] = v == 0 ? _mm256_fmsub_ps(q, xv[c], cb[c]) : _mm256_fmadd_ps(q, xv[c], t[r][c]);
            }
          }
        }
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
          const __m256 d = _mm256_broadcast_ss(&ds[r][b - 2 * g4]);
#pragma GCC unroll 4
          for (int c = 0; c < C; ++c) acc[r][c] = _mm256_fmadd_ps(t[r][c], d, acc[r][c]);
        }
      }
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) out[r * C + c] = hsum(acc[r][c]);
}

// Wide path (kpad > kQ4FastCols): in[c].x = x, in[c].aux = its last partial group zero-padded
// to 64. Vector k is shifted up to the sign end, masked, and (offset binary) its top bit
// flipped: q * 2^28 as an int32; the 2^-28 goes into the block scale (exact).
template <int R, int C>
inline void q4_tile_wide(const MatView& m, const uint8_t* const* wr, const uint16_t* const* sr,
                         const In* in, float* out) {
  const __m256i top = _mm256_set1_epi32(int(0xF0000000u));
  const __m256i flip = _mm256_set1_epi32(int(0x80000000u));
  __m256 acc[R][C];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();

  const int64_t groups = m.kpad / 64, full = m.cols / 64;
  for (int64_t g4 = 0; g4 < groups; g4 += 4) {
    alignas(32) float ds[R][8];
    q4_load_scales<R>(sr, g4, _mm256_set1_ps(1.0f / 268435456.0f), ds);
    const int64_t gend = min64(groups, g4 + 4);
    for (int64_t g = g4; g < gend; ++g) {
      const float* xg[C];
#pragma GCC unroll 4
      for (int c = 0; c < C; ++c) xg[c] = g < full ? in[c].x + g * 64 : in[c].aux;
      __m256i wv[R];
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        if ((g & 1) == 0) prefetch_block<64>(wr[r], g / 2);
        wv[r] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wr[r] + g * 32));
      }
#pragma GCC unroll 2
      for (int h = 0; h < 2; ++h) {
        __m256 t[R][C];
#pragma GCC unroll 4
        for (int v = 0; v < 4; ++v) {
          const int k = 4 * h + v;
          __m256 xv[C];
#pragma GCC unroll 4
          for (int c = 0; c < C; ++c) xv[c] = _mm256_loadu_ps(xg[c] + 8 * k);
#pragma GCC unroll 4
          for (int r = 0; r < R; ++r) {
            __m256i n = _mm256_and_si256(_mm256_slli_epi32(wv[r], 28 - 4 * k), top);
            if (k < 7) n = _mm256_xor_si256(n, flip);
            const __m256 q = _mm256_cvtepi32_ps(n);
#pragma GCC unroll 4
            for (int c = 0; c < C; ++c) {
              t[r][c] = v == 0 ? _mm256_mul_ps(q, xv[c]) : _mm256_fmadd_ps(q, xv[c], t[r][c]);
            }
          }
        }
        const int64_t b = 2 * g + h;
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
          const __m256 d = _mm256_broadcast_ss(&ds[r][b - 2 * g4]);
#pragma GCC unroll 4
          for (int c = 0; c < C; ++c) acc[r][c] = _mm256_fmadd_ps(t[r][c], d, acc[r][c]);
        }
      }
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) out[r * C + c] = hsum(acc[r][c]);
}

// ---- drivers ---------------------------------------------------------------------------

inline float row_scale(const MatView& m, int64_t r) {
  if (m.fmt != Fmt::kInt8) return 1.f;
  float s;
  __builtin_memcpy(&s, m.scales + 4 * r, 4);
  return s;
}

// Floats of scratch one input needs (see prepare()).
inline int64_t scratch_per_input(const MatView& m) {
  if (m.fmt != Fmt::kQ4) return kB;
  return q4_fast(m) ? m.kpad + m.kpad / kB : 64;
}

// Zero-padded copy of x from column `start` to the next multiple of `width`.
inline void make_tail(const MatView& m, const float* x, int64_t width, float* xt) {
  const int64_t start = (m.cols / width) * width;
  for (int64_t j = 0; j < width; ++j) xt[j] = start + j < m.cols ? x[start + j] : 0.f;
}

// Everything per input that does not depend on the weight row, computed once per call into
// `space` (scratch_per_input(m) floats, 32-byte aligned).
inline In prepare(const MatView& m, const float* x, float* space) {
  if (m.fmt != Fmt::kQ4) {
    make_tail(m, x, kB, space);
    return {x, space};
  }
  if (!q4_fast(m)) {
    make_tail(m, x, 64, space);
    return {x, space};
  }
  q4_prepare(m, x, space, space + m.kpad);
  return {space, space + m.kpad};
}

// Rows r, r + step, ..., r + (R-1) * step.
template <int R, int C>
inline void tile(const MatView& m, int64_t r, int64_t step, const In* in, float* out) {
  const uint8_t* wr[R];
#pragma GCC unroll 4
  for (int i = 0; i < R; ++i) wr[i] = m.data + (r + i * step) * m.row_stride;
  switch (m.fmt) {
    case Fmt::kF32: dense_tile<F32, R, C>(m, wr, in, out); break;
    case Fmt::kBF16: dense_tile<BF16, R, C>(m, wr, in, out); break;
    case Fmt::kInt8: dense_tile<Int8, R, C>(m, wr, in, out); break;
    case Fmt::kQ4:
    default: {  // (every Fmt is handled; `default` tells the compiler out[] is always written)
      const uint16_t* sr[R];
#pragma GCC unroll 4
      for (int i = 0; i < R; ++i) sr[i] = q4_scales(m, r + i * step);
      if (q4_fast(m)) {
        q4_tile<R, C>(m, wr, sr, in, out);
      } else {
        q4_tile_wide<R, C>(m, wr, sr, in, out);
      }
      break;
    }
  }
}

template <int C>
inline void matmul_group(const MatView& m, const In* in, float* Y, int64_t ldy, int64_t r0,
                         int64_t r1) {
  for (int64_t r = r0; r < r1; ++r) {
    float out[C];
    tile<1, C>(m, r, 1, in, out);
    const float s = row_scale(m, r);
#pragma GCC unroll 4
    for (int c = 0; c < C; ++c) Y[c * ldy + r] = m.fmt == Fmt::kInt8 ? out[c] * s : out[c];
  }
}

}  // namespace

bool avx2_compiled() { return true; }

void matvec_avx2(const MatView& m, const float* x, float* y, int64_t r0, int64_t r1) {
  alignas(32) float space[kScratchFloats];
  const In in[1] = {prepare(m, x, space)};
  const bool int8 = m.fmt == Fmt::kInt8;
  // The 4 rows of a tile come from the 4 quarters of the range, so the tile reads 4 long
  // sequential streams (what hardware prefetchers track well) instead of 4 short rows.
  const int64_t q = (r1 - r0) / 4;
  for (int64_t i = 0; i < q; ++i) {
    float out[4];
    tile<4, 1>(m, r0 + i, q, in, out);
    for (int k = 0; k < 4; ++k) {
      const int64_t r = r0 + i + k * q;
      y[r] = int8 ? out[k] * row_scale(m, r) : out[k];
    }
  }
  for (int64_t r = r0 + 4 * q; r < r1; ++r) {
    float out[1];
    tile<1, 1>(m, r, 1, in, out);
    y[r] = int8 ? out[0] * row_scale(m, r) : out[0];
  }
}

void matmul_avx2(const MatView& m, const float* X, int64_t ldx, int64_t n, float* Y, int64_t ldy,
                 int64_t r0, int64_t r1) {
  // A band of weight rows (~256 KiB) stays in L2 while every group of inputs passes over it.
  const int64_t row_bytes = int64_t(m.row_stride) + (m.fmt == Fmt::kQ4 ? 2 * (m.kpad / kB) : 0);
  int64_t band = (int64_t(256) << 10) / (row_bytes > 0 ? row_bytes : 1);
  band = band < 4 ? 4 : band;
  // Up to 4 inputs per tile, as many as their prepared data fits in the scratch (the result
  // per element does not depend on how many share a tile).
  const int64_t per = (scratch_per_input(m) + 7) / 8 * 8;
  const int64_t cmax = min64(4, kScratchFloats / per);
  alignas(32) float space[kScratchFloats];
  for (int64_t rb = r0; rb < r1; rb += band) {
    const int64_t re = min64(r1, rb + band);
    for (int64_t i = 0; i < n; i += cmax) {
      const int64_t c = min64(cmax, n - i);
      In in[4];
      for (int64_t k = 0; k < c; ++k) in[k] = prepare(m, X + (i + k) * ldx, space + k * per);
      float* Yi = Y + i * ldy;
      switch (c) {
        case 4: matmul_group<4>(m, in, Yi, ldy, rb, re); break;
        case 3: matmul_group<3>(m, in, Yi, ldy, rb, re); break;
        case 2: matmul_group<2>(m, in, Yi, ldy, rb, re); break;
        default: matmul_group<1>(m, in, Yi, ldy, rb, re); break;
      }
    }
  }
}

}  // namespace kanana::infer::detail

#else  // no AVX2/FMA/F16C in this build (e.g. not x86): never dispatched to

namespace kanana::infer::detail {
bool avx2_compiled() { return false; }
void matvec_avx2(const MatView&, const float*, float*, int64_t, int64_t) {}
void matmul_avx2(const MatView&, const float*, int64_t, int64_t, float*, int64_t, int64_t, int64_t) {}
}  // namespace kanana::infer::detail

#endif
