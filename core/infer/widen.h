// Checkpoint elements (safetensors F32, BF16 or F16, in a memory mapping) to fp32 rows, without
// LibTorch: what the CPU engine converts from at load and what the GGUF export writes from.
#pragma once

#include <cstdint>

#include "safetensors/reader.h"

namespace kanana::infer {

// True for the dtypes widen_to_f32 reads.
bool widens_to_f32(st::DType dtype);

// n elements of `dtype` at src (any alignment) -> out[0, n) fp32. dtype: one widens_to_f32 accepts.
void widen_to_f32(const uint8_t* src, st::DType dtype, int64_t n, float* out);

}  // namespace kanana::infer
