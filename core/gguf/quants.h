// ggml tensor types as GGUF stores them, and conversion of fp32 rows to and from the four
// that the exporter writes, in ggml's exact block layouts:
//
//   F32   4 B/weight.
//   F16   IEEE binary16, round to nearest even.
//   Q8_0  blocks of 32: { fp16 d; int8 qs[32]; }  w = qs[j] * d   (34 bytes)
//         d = max|w| / 127, qs = round(w / d) with the unrounded d, as ggml's reference
//         quantize_row_q8_0_ref does.  |w - w'| <= d/2 + 127 |d - fp16(d)|.
//   Q4_0  blocks of 32: { fp16 d; uint8 qs[16]; }  (18 bytes)
//         weight j < 16 is the low nibble of qs[j], weight j + 16 its high nibble;
//         w = (nibble - 8) * d. The scale and levels come from the project's own q4 format
//         (infer/weights.h: the smallest |d| with every weight within half a step of a level,
//         no clamping), so |w - w'| <= |d| / 2, tighter than ggml's reference d = max/-8; only
//         the nibble order differs from infer's interleaved layout, and is repacked here.
//
// A row's length must be a multiple of the block (32) for the quantized types.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"

namespace kanana::gguf {

// ggml_type values (ggml.h). Only types whose block layout this file knows are listed; the
// reader refuses the others by number.
enum class GgmlType : uint32_t {
  kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ4_1 = 3, kQ5_0 = 6, kQ5_1 = 7, kQ8_0 = 8, kQ8_1 = 9,
  kQ2_K = 10, kQ3_K = 11, kQ4_K = 12, kQ5_K = 13, kQ6_K = 14, kQ8_K = 15,
  kI8 = 24, kI16 = 25, kI32 = 26, kI64 = 27, kF64 = 28, kBF16 = 30,
};

struct GgmlTypeTraits {
  const char* name;      // "F32", "Q4_0", ... as llama.cpp prints them
  uint32_t block_size;   // weights per block
  uint32_t type_size;    // bytes per block
};

// nullopt for numbers outside GgmlType.
std::optional<GgmlTypeTraits> ggml_type_traits(uint32_t type);
const char* ggml_type_name(GgmlType type);

// The export types: "f32", "f16", "q8_0", "q4_0" (any case).
Result<GgmlType> parse_export_type(std::string_view text);

// Bytes of one row of n weights (n a multiple of the block size for block types).
uint64_t row_bytes(GgmlType type, int64_t n);

// Quantize one row of n fp32 weights into `out` (row_bytes(type, n) bytes). `name` (the
// tensor) and the row number go into errors: NaN/inf weights, a length that is not a multiple
// of the block, fp16 overflow of a scale, or a type the writer does not produce.
Status quantize_row(GgmlType type, const float* src, int64_t n, uint8_t* out,
                    std::string_view name, int64_t row = 0);

// Rows [0, rows) of a contiguous fp32 matrix (rows x n) into rows * row_bytes(type, n) bytes.
Status quantize_rows(GgmlType type, const float* src, int64_t rows, int64_t n, uint8_t* out,
                     std::string_view name);

// The inverse for F32, F16, BF16, Q8_0 and Q4_0 (the formats a round trip needs).
Status dequantize_row(GgmlType type, const uint8_t* src, int64_t n, float* out,
                      std::string_view name);

}  // namespace kanana::gguf
