#include "infer/widen.h"

#include <cstring>

#include "infer/weights.h"

namespace kanana::infer {

bool widens_to_f32(st::DType dtype) {
  return dtype == st::DType::F32 || dtype == st::DType::BF16 || dtype == st::DType::F16;
}

void widen_to_f32(const uint8_t* src, st::DType dtype, int64_t n, float* out) {
  if (dtype == st::DType::F32) {
    std::memcpy(out, src, size_t(n) * 4);
    return;
  }
  if (dtype == st::DType::BF16) {
    // bf16 is the high half of an fp32: the 16-bit shift vectorises; memcpy keeps unaligned
    // mappings legal.
    for (int64_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, src + 2 * i, 2);
      const uint32_t bits = uint32_t(h) << 16;
      std::memcpy(out + i, &bits, 4);
    }
    return;
  }
  for (int64_t i = 0; i < n; ++i) {  // F16, through the IEEE conversion
    uint16_t h;
    std::memcpy(&h, src + 2 * i, 2);
    out[i] = fp16_to_fp32(h);
  }
}

}  // namespace kanana::infer
