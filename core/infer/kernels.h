// Matrix-vector (decode) and matrix-matrix (prefill) products with a QuantMatrix, fp32 in and
// out: y = W x, dequantizing the weights in registers (never the whole matrix).
//
// Two implementations, picked at run time: AVX2+FMA+F16C (kernels_avx2.cpp) and portable C++
// (kernels.cpp) for any other CPU. KANANA_INFER_ISA=scalar forces the portable one (for tests
// and for ruling the kernels out when hunting a bug); =avx2 asks for AVX2 when the CPU has it.
//
// Numerics, per output element and the same in matvec and matmul, so that matmul of n rows is
// bit-identical to n matvecs, and any thread count gives bit-identical results:
//   eight fp32 lanes; weight vector k of each 32-block goes to lane accumulator k % 2 (f32,
//   bf16, int8) or into a per-block partial sum that is then scaled by the block's d (q4);
//   the lanes are summed pairwise at the end; int8 multiplies its row scale last.
// The AVX2 path uses fused multiply-adds, the portable one separate multiply and add, and the
// AVX2 q4 kernel sums offset levels (q + 8) and removes the offset per block, so the two paths
// differ in the last bits (both stay within the bounds in weights.h and test_infer_kernels).
//
// No allocation per call: per-call scratch (the zero-padded last block of x; for q4 on AVX2,
// x pre-scaled per nibble position, <= 66 KB) lives on the calling thread's stack.
#pragma once

#include <cstdint>

#include "infer/weights.h"

namespace kanana::infer {

class ThreadPool;

enum class Isa { kScalar, kAvx2 };

const char* isa_name(Isa isa);
// What this CPU (and this build) can run, probed once.
Isa detected_isa();
// detected_isa() overridden by KANANA_INFER_ISA, read once. The only global state here.
Isa active_isa();
// The KANANA_INFER_ISA rule, exposed for tests: "scalar" -> kScalar; "avx2" or unset/other ->
// `detected` (the env var can only take features away, never claim ones the CPU lacks).
Isa isa_from_setting(const char* setting, Isa detected);

// y[r] = sum_j W[r, j] * x[j] for r in [row_begin, row_end). x holds W.cols() floats (no
// alignment needed); y is indexed by row, so y[row_begin] is the first one written.
void matvec_rows(const QuantMatrix& w, const float* x, float* y, int64_t row_begin,
                 int64_t row_end, Isa isa = active_isa());

// Y[i * ldy + r] = sum_j W[r, j] * X[i * ldx + j] for i in [0, n), r in [row_begin, row_end).
// Each weight block is decoded once for up to 4 input rows, and a band of weight rows stays in
// L2 while all input rows pass over it.
void matmul_rows(const QuantMatrix& w, const float* X, int64_t ldx, int64_t n, float* Y,
                 int64_t ldy, int64_t row_begin, int64_t row_end, Isa isa = active_isa());

// Whole matrix, output rows split over `pool` (nullptr or a 1-thread pool: inline).
// x: cols floats, y: rows floats. X: n x cols row-major, Y: n x rows row-major.
void matvec(const QuantMatrix& w, const float* x, float* y, ThreadPool* pool = nullptr,
            Isa isa = active_isa());
void matmul(const QuantMatrix& w, const float* X, int64_t n, float* Y, ThreadPool* pool = nullptr,
            Isa isa = active_isa());

}  // namespace kanana::infer
