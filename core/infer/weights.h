// Weight storage for the Torch-free CPU inference path: one linear layer's matrix W (rows =
// output features, cols = input features, row-major like a torch Linear weight) in one of four
// formats. Activations and accumulation are always fp32; only the weights are compressed.
//
// Every format pads each row to kpad = round_up(cols, 32) columns (64 for q4) with zeros, so
// kernels work on whole blocks and any width is accepted (the padding costs at most 31 (63)
// weights a row and is counted in bytes()). Storage is one 64-byte-aligned allocation:
//
//   kF32   data[rows][kpad]  float                                        4 B/weight
//          exact.
//   kBF16  data[rows][kpad]  uint16 bfloat16 (the high half of the fp32), 2 B/weight
//          converted round-to-nearest-even, NaN kept quiet.  |w - w'| <= 2^-8 |w|
//          (half an ulp of an 8-bit significand; below 2^-126 the bound is 2^-134 absolute).
//   kInt8  data[rows][kpad]  int8 q in [-127, 127], then scale[rows] fp32,  1 B + 4 B/row
//          symmetric per output row: s = max_j |w_j| / 127, q = round(w / s), w' = q * s.
//          |w - w'| <= s / 2.
//          Why per row and not per block of 32 (GGUF Q8_0): the per-row scale is applied once
//          after the dot product, so the inner loop is just int8 -> fp32 -> FMA, and the
//          stream is 1 B/weight instead of 1.0625. Per block would need a block partial sum
//          and one more FMA per 32 weights plus scale loads: ~6% more bytes and ~8% more
//          instructions, and int8 decode is close to compute-bound on one core (26.5 GB/s
//          from DRAM vs 30 GB/s from L2 on the Zen 5 VM), so it would be slower. It would be
//          more accurate: bench_matvec measures rms(w' - w)/rms(w) = 0.026 per row vs 0.0065
//          per block on Gaussian rows with 0.2% 8x outliers (an outlier sets the whole row's
//          step). At 8 bits both are far below q4's 0.10; int8 is the "nearly lossless,
//          fastest-per-byte" format here and q4 the small one.
//   kQ4    data[rows][kpad/2] nibbles, then scale[rows][kpad/32] fp16,   0.5625 B/weight
//          blocks of 32 weights (like GGUF Q4_0: the same 18 bytes per block) with one fp16
//          scale d each: w' = q * d, q in [-8, 7]. Nibble order, per group of 64 weights
//          (two blocks, 32 bytes): the group is eight little-endian 32-bit words; weight
//          64g + 8k + l is nibble k (bits 4k..4k+3) of word l. So block 2g is nibbles 0-3 of the
//          eight words, block 2g+1 nibbles 4-7, and one 256-bit load holds 8 vectors of 8
//          consecutive weights, vector k = one AND away (kernels_avx2.cpp). Nibbles 0-6 store
//          q + 8 (offset binary, as GGUF does), nibble 7 stores q as two's complement (it is
//          the sign end of the word, so the AND leaves a correctly signed q * 2^28). q4_level()
//          below decodes one weight; converting GGUF Q4_0 is a permutation plus ^8 on nibble 7.
//          The scales sit in their own array so a kernel reads 8 of them with one load.
//          The scale is the smallest one that keeps every weight of the block within half a
//          step of a level: with a = max(w, 0) and b = max(-w, 0) the levels reach
//          [-8.5 d, 7.5 d] so |d| = min(max(a/7.5, b/8.5), max(a/8.5, b/7.5)) (the sign of d
//          picks which end gets the extra level), rounded *up* to fp16. Hence, with no
//          clamping anywhere: |w - w'| <= |d| / 2 per weight. ggml's reference d = M/8
//          (M the extreme with its sign) clamps the opposite extreme and can err by a full step;
//          on Gaussian blocks this scale's rms error is slightly lower (0.1028 vs 0.1038 of
//          rms(w), bench_matvec).
//
// Resulting bound for a dot product with fp32 x (what test_infer_kernels checks, plus fp32
// summation rounding):  |y - y'| <= sum_j |x_j| * e_j  with e_j the per-weight bound above.
//
// Quantization works row by row straight from the fp32 source into the output (no scratch
// beyond a few registers), so it can run on row ranges in parallel (quantize_rows).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"

namespace kanana::infer {

class ThreadPool;

enum class WeightFormat { kF32, kBF16, kInt8, kQ4 };

// "f32", "bf16", "int8", "q4"
const char* weight_format_name(WeightFormat format);
// Accepts the names above (also "fp32", "float32", "bfloat16", "q8"/"i8", "q4_0"), any case.
Result<WeightFormat> parse_weight_format(std::string_view text);
// Average storage of one weight for a long row (without the per-row padding), e.g. 0.5625.
double weight_format_bytes_per_weight(WeightFormat format);

inline constexpr int64_t kBlock = 32;    // the padding / q4 block width, in weights
inline constexpr int64_t kQ4Group = 64;  // q4 rows are padded to whole groups of two blocks

// The q4 level q in [-8, 7] of weight i of a row (row_data of a kQ4 matrix), and setting it.
int q4_level(const uint8_t* row_data, int64_t i);
void q4_set_level(uint8_t* row_data, int64_t i, int q);

// fp32 <-> bf16, round to nearest even; NaN stays NaN (quiet), infinities stay infinite,
// values beyond the largest bf16 round to infinity as IEEE says.
uint16_t fp32_to_bf16(float f);
float bf16_to_fp32(uint16_t h);
// fp32 <-> IEEE binary16, round to nearest even (the q4 scales).
uint16_t fp32_to_fp16(float f);
float fp16_to_fp32(uint16_t h);

class QuantMatrix {
 public:
  QuantMatrix() = default;
  QuantMatrix(QuantMatrix&&) noexcept = default;
  QuantMatrix& operator=(QuantMatrix&&) noexcept = default;
  QuantMatrix(const QuantMatrix&) = delete;
  QuantMatrix& operator=(const QuantMatrix&) = delete;

  // Zero-filled storage for rows x cols in `format` (then fill with quantize_rows).
  static Result<QuantMatrix> allocate(int64_t rows, int64_t cols, WeightFormat format,
                                      std::string_view name);
  // Already-quantized data in exactly the layout above (for loading a quantized checkpoint):
  // `data` is rows * row_stride_bytes() bytes including the zero padding columns, `scales` is
  // rows fp32 (kInt8), rows * blocks_per_row() fp16 (kQ4), empty otherwise. Sizes, non-zero
  // padding and non-finite scales are refused with the layer's name.
  static Result<QuantMatrix> from_parts(int64_t rows, int64_t cols, WeightFormat format,
                                        std::span<const uint8_t> data,
                                        std::span<const uint8_t> scales, std::string_view name);

  // Quantize source rows [row_begin, row_end) of the fp32 matrix `w` (row r at w + r * ld,
  // `cols` valid floats) into this matrix. Safe to call concurrently on disjoint row ranges.
  // Refuses NaN/inf weights (and q4 scales beyond fp16), naming the layer, row and column.
  Status quantize_rows(const float* w, int64_t ld, int64_t row_begin, int64_t row_end);
  // The same for one row r from its own buffer `src` (cols floats), e.g. a row just widened
  // from a memory-mapped bf16 checkpoint into a small per-thread buffer.
  Status quantize_row(int64_t row, const float* src);

  // The weights as the kernels see them (cols floats; padding not included).
  void dequantize_row(int64_t row, float* out) const;

  bool empty() const { return storage_ == nullptr; }
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t padded_cols() const { return kpad_; }
  int64_t blocks_per_row() const { return kpad_ / kBlock; }
  WeightFormat format() const { return format_; }
  const std::string& name() const { return name_; }

  // Bytes of one row of `data` (the quantized values; scales are separate for int8/q4).
  size_t row_stride_bytes() const { return row_stride_; }
  const uint8_t* row_data(int64_t row) const { return storage_.get() + size_t(row) * row_stride_; }
  uint8_t* mutable_row_data(int64_t row) { return storage_.get() + size_t(row) * row_stride_; }
  // kInt8: rows floats. kQ4: rows * blocks_per_row() fp16 (row-major). nullptr otherwise.
  const uint8_t* scale_data() const { return scales_offset_ ? storage_.get() + scales_offset_ : nullptr; }
  size_t scale_bytes() const { return scale_bytes_; }
  float int8_row_scale(int64_t row) const;           // kInt8 only
  float q4_block_scale(int64_t row, int64_t block) const;  // kQ4 only

  // Everything this matrix holds in memory (data + scales + alignment slack); for the
  // memory accounting of a loaded model.
  size_t bytes() const { return alloc_bytes_; }
  // What one pass over the weights reads (data + scales), for bandwidth numbers.
  size_t stream_bytes() const { return size_t(rows_) * row_stride_ + scale_bytes_; }

 private:
  struct Free {
    void operator()(uint8_t* p) const;
  };
  std::unique_ptr<uint8_t[], Free> storage_;
  std::string name_;
  int64_t rows_ = 0, cols_ = 0, kpad_ = 0;
  WeightFormat format_ = WeightFormat::kF32;
  size_t row_stride_ = 0;
  size_t scales_offset_ = 0;  // 0 = no scales
  size_t scale_bytes_ = 0;
  size_t alloc_bytes_ = 0;
};

// Quantize a whole fp32 matrix (rows x cols, row-major, contiguous). With a pool, row ranges
// run in parallel. Needs no memory beyond the result.
Result<QuantMatrix> quantize(const float* w, int64_t rows, int64_t cols, WeightFormat format,
                             std::string_view name, ThreadPool* pool = nullptr);

}  // namespace kanana::infer
