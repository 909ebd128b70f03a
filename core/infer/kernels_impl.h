// Internal to core/infer: the interface between the dispatcher (kernels.cpp) and the
// ISA-specific kernels (kernels_avx2.cpp, compiled with -mavx2 -mfma -mf16c).
//
// Only plain data and declarations here, on purpose: an inline function or template from a
// shared header, instantiated in the AVX2 translation unit, may be emitted there with AVX2
// encodings and then picked by the linker for every caller (ODR/COMDAT folding) -- which would
// crash the portable path on a CPU without AVX2. So kernels_avx2.cpp sees no QuantMatrix and
// no std:: templates, only this struct.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kanana::infer::detail {

enum class Fmt : int { kF32 = 0, kBF16 = 1, kInt8 = 2, kQ4 = 3 };

struct MatView {
  Fmt fmt;
  int64_t rows, cols, kpad;  // kpad = padded columns, a multiple of 32
  const uint8_t* data;       // row r at data + r * row_stride
  size_t row_stride;
  const uint8_t* scales;     // kInt8: float[rows]; kQ4: uint16 fp16[rows][kpad / 32]
};

// y[r] = W[r] . x for r in [r0, r1); x holds cols floats.
void matvec_scalar(const MatView& w, const float* x, float* y, int64_t r0, int64_t r1);
// Y[i * ldy + r] = W[r] . X[i * ldx ...] for i in [0, n), r in [r0, r1).
void matmul_scalar(const MatView& w, const float* X, int64_t ldx, int64_t n, float* Y,
                   int64_t ldy, int64_t r0, int64_t r1);

// False when kernels_avx2.cpp was built without AVX2/FMA/F16C (non-x86 targets): then the
// two functions below are never called.
bool avx2_compiled();
void matvec_avx2(const MatView& w, const float* x, float* y, int64_t r0, int64_t r1);
void matmul_avx2(const MatView& w, const float* X, int64_t ldx, int64_t n, float* Y,
                 int64_t ldy, int64_t r0, int64_t r1);

}  // namespace kanana::infer::detail
