// Weight formats and quantization (layouts and error bounds: see weights.h). Portable C++,
// compiled without ISA flags: this file must run on any x86-64 (and any other) CPU.
#include "infer/weights.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "infer/thread_pool.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace kanana::infer {
namespace {

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

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

std::string layer_label(const std::string& name) {
  return name.empty() ? std::string("layer (unnamed)") : "layer '" + name + "'";
}

// Largest fp16 magnitude that the q4 scales can hold.
constexpr uint16_t kFp16Inf = 0x7C00;

// The q4 scale for one block (see weights.h): the smallest |d| with every weight within
// half a step of one of the 16 levels q*d, q in [-8, 7]; rounded up to fp16 so that this
// still holds with the stored scale. Returns the fp16 bits (sign included), kFp16Inf when
// the block is too large for fp16.
uint16_t q4_block_scale_bits(const float* v) {
  float a = 0.f, b = 0.f;  // max positive weight, max magnitude of a negative weight
  for (int i = 0; i < kBlock; ++i) {
    a = std::max(a, v[i]);
    b = std::max(b, -v[i]);
  }
  const float d_pos = std::max(a / 7.5f, b / 8.5f);  // d > 0: levels reach [-8.5d, 7.5d]
  const float d_neg = std::max(a / 8.5f, b / 7.5f);  // d < 0: levels reach [-7.5|d|, 8.5|d|]
  const bool negative = d_neg < d_pos;
  const float mag = negative ? d_neg : d_pos;
  if (mag == 0.f) return 0;
  uint16_t h = fp32_to_fp16(mag);
  if ((h & 0x7FFF) >= kFp16Inf) return kFp16Inf;
  if (fp16_to_fp32(h) < mag) ++h;  // next fp16 up (carries into the exponent correctly)
  if ((h & 0x7FFF) >= kFp16Inf) return kFp16Inf;
  return uint16_t(h | (negative ? 0x8000 : 0));
}

}  // namespace

// ---- names ------------------------------------------------------------------------------

const char* weight_format_name(WeightFormat format) {
  switch (format) {
    case WeightFormat::kF32: return "f32";
    case WeightFormat::kBF16: return "bf16";
    case WeightFormat::kInt8: return "int8";
    case WeightFormat::kQ4: return "q4";
  }
  return "?";
}

Result<WeightFormat> parse_weight_format(std::string_view text) {
  const std::string s = lower(text);
  if (s == "f32" || s == "fp32" || s == "float32" || s == "float") return WeightFormat::kF32;
  if (s == "bf16" || s == "bfloat16") return WeightFormat::kBF16;
  if (s == "int8" || s == "i8" || s == "q8") return WeightFormat::kInt8;
  if (s == "q4" || s == "q4_0" || s == "int4") return WeightFormat::kQ4;
  return invalid_argument("unknown weight format '" + std::string(text) +
                          "' (expected one of f32, bf16, int8, q4)");
}

double weight_format_bytes_per_weight(WeightFormat format) {
  switch (format) {
    case WeightFormat::kF32: return 4.0;
    case WeightFormat::kBF16: return 2.0;
    case WeightFormat::kInt8: return 1.0;
    case WeightFormat::kQ4: return 0.5 + 2.0 / kBlock;
  }
  return 0.0;
}

// ---- scalar conversions -----------------------------------------------------------------

uint16_t fp32_to_bf16(float f) {
  const uint32_t u = bits_of(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return uint16_t((u >> 16) | 0x0040u);  // quiet NaN
  // Round to nearest, ties to even: add 0x7FFF plus the lowest kept bit, then truncate.
  return uint16_t((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

float bf16_to_fp32(uint16_t h) { return float_of(uint32_t(h) << 16); }

uint16_t fp32_to_fp16(float f) {
  uint32_t x = bits_of(f);
  const uint16_t sign = uint16_t((x >> 16) & 0x8000u);
  x &= 0x7FFFFFFFu;
  if (x >= 0x7F800000u) return uint16_t(sign | (x > 0x7F800000u ? 0x7E00u : 0x7C00u));
  if (x >= 0x477FF000u) return uint16_t(sign | 0x7C00u);  // >= 65520 rounds to infinity
  if (x < 0x38800000u) {                                   // below 2^-14: fp16 subnormal
    const uint32_t e = x >> 23;
    const uint32_t shift = 126u - e;  // value = m * 2^-shift units of 2^-24
    if (e == 0 || shift > 24) return sign;
    const uint32_t m = (x & 0x7FFFFFu) | 0x800000u;
    uint32_t r = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (r & 1u))) ++r;
    return uint16_t(sign | r);
  }
  uint32_t h = (x - 0x38000000u) >> 13;  // rebias the exponent 127 -> 15
  const uint32_t rem = x & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;
  return uint16_t(sign | h);
}

float fp16_to_fp32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1Fu, m = h & 0x3FFu;
  if (e == 0) {
    const float v = float(m) * 5.9604644775390625e-8f;  // m * 2^-24, exact
    return float_of(sign | bits_of(v));
  }
  if (e == 31) return float_of(sign | 0x7F800000u | (m << 13));
  return float_of(sign | ((e + 112u) << 23) | (m << 13));
}

// ---- q4 nibble order (weights.h) --------------------------------------------------------

int q4_level(const uint8_t* row_data, int64_t i) {
  const int64_t g = i / kQ4Group, k = (i % kQ4Group) / 8, l = i % 8;
  const uint8_t byte = row_data[g * 32 + 4 * l + k / 2];  // word l, little-endian
  const int nib = (byte >> (4 * (k & 1))) & 0xF;
  return k == 7 ? (nib ^ 8) - 8 : nib - 8;  // two's complement on nibble 7, offset binary below
}

void q4_set_level(uint8_t* row_data, int64_t i, int q) {
  const int64_t g = i / kQ4Group, k = (i % kQ4Group) / 8, l = i % 8;
  uint8_t& byte = row_data[g * 32 + 4 * l + k / 2];
  const int nib = (k == 7 ? q : q + 8) & 0xF;
  const int shift = 4 * int(k & 1);
  byte = uint8_t((byte & ~(0xF << shift)) | (nib << shift));
}

// ---- QuantMatrix ------------------------------------------------------------------------

void QuantMatrix::Free::operator()(uint8_t* p) const { std::free(p); }

Result<QuantMatrix> QuantMatrix::allocate(int64_t rows, int64_t cols, WeightFormat format,
                                          std::string_view name) {
  QuantMatrix m;
  m.name_ = std::string(name);
  if (rows <= 0 || cols <= 0) {
    return invalid_argument(layer_label(m.name_) + ": cannot hold a " + std::to_string(rows) +
                            " x " + std::to_string(cols) + " weight matrix");
  }
  m.rows_ = rows;
  m.cols_ = cols;
  m.kpad_ = round_up(cols, format == WeightFormat::kQ4 ? kQ4Group : kBlock);
  m.format_ = format;
  const size_t r = size_t(rows), k = size_t(m.kpad_);
  switch (format) {
    case WeightFormat::kF32: m.row_stride_ = 4 * k; break;
    case WeightFormat::kBF16: m.row_stride_ = 2 * k; break;
    case WeightFormat::kInt8:
      m.row_stride_ = k;
      m.scale_bytes_ = 4 * r;
      break;
    case WeightFormat::kQ4:
      m.row_stride_ = k / 2;
      m.scale_bytes_ = 2 * r * (k / kBlock);
      break;
  }
  const size_t data_bytes = r * m.row_stride_;
  const size_t scales_at = size_t(round_up(int64_t(data_bytes), 64));
  // 64 bytes of slack: the kernels read the q4 scales 8 at a time, also past a row's last.
  size_t total = scales_at + m.scale_bytes_ + 64;
  // Big matrices get 2 MiB alignment and transparent huge pages: the decode kernels stream
  // them once per token, and 4 KiB pages would cost a TLB walk every 4 KiB of every stream.
  const size_t align = total >= (size_t(4) << 20) ? (size_t(2) << 20) : 64;
  total = size_t(round_up(int64_t(total), int64_t(align)));
  auto* p = static_cast<uint8_t*>(std::aligned_alloc(align, total));
  if (p == nullptr) {
    return internal_error(layer_label(m.name_) + ": out of memory allocating " +
                          std::to_string(total) + " bytes");
  }
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (align > 64) madvise(p, total, MADV_HUGEPAGE);  // a hint; failure is harmless
#endif
  std::memset(p, 0, total);
  m.storage_.reset(p);
  m.scales_offset_ = m.scale_bytes_ ? scales_at : 0;
  m.alloc_bytes_ = total;
  return m;
}

Result<QuantMatrix> QuantMatrix::from_parts(int64_t rows, int64_t cols, WeightFormat format,
                                            std::span<const uint8_t> data,
                                            std::span<const uint8_t> scales,
                                            std::string_view name) {
  KANANA_ASSIGN_OR_RETURN(QuantMatrix m, allocate(rows, cols, format, name));
  const std::string label = layer_label(m.name_);
  const size_t want_data = size_t(rows) * m.row_stride_;
  if (data.size() != want_data || scales.size() != m.scale_bytes_) {
    return data_loss(label + ": " + weight_format_name(format) + " " + std::to_string(rows) +
                     " x " + std::to_string(cols) + " needs " + std::to_string(want_data) +
                     " data bytes and " + std::to_string(m.scale_bytes_) + " scale bytes, got " +
                     std::to_string(data.size()) + " and " + std::to_string(scales.size()));
  }
  std::memcpy(m.storage_.get(), data.data(), want_data);
  if (!scales.empty()) std::memcpy(m.storage_.get() + m.scales_offset_, scales.data(), scales.size());
  // The padding columns must be zero: the kernels multiply them with zero-padded activations,
  // and a NaN/inf there would poison the row. Non-zero padding also means a layout mismatch.
  // (q4 levels are always finite and their padding is interleaved with real weights; any
  // level times a zero activation is zero, so q4 padding is not checked.)
  const size_t used = format == WeightFormat::kF32    ? 4 * size_t(cols)
                      : format == WeightFormat::kBF16 ? 2 * size_t(cols)
                                                      : size_t(cols);
  for (int64_t r = 0; r < rows && format != WeightFormat::kQ4; ++r) {
    const uint8_t* row = m.row_data(r);
    bool bad = false;
    for (size_t i = used; i < m.row_stride_ && !bad; ++i) bad = row[i] != 0;
    if (bad) return data_loss(label + ": row " + std::to_string(r) + " has non-zero padding");
    if (format == WeightFormat::kBF16 || format == WeightFormat::kF32) {
      for (int64_t c = 0; c < cols; ++c) {
        const float v = format == WeightFormat::kF32
                            ? reinterpret_cast<const float*>(row)[c]
                            : bf16_to_fp32(reinterpret_cast<const uint16_t*>(row)[c]);
        if (!std::isfinite(v)) {
          return data_loss(label + ": weight [" + std::to_string(r) + ", " + std::to_string(c) +
                           "] is not finite");
        }
      }
    }
  }
  if (format == WeightFormat::kInt8) {
    for (int64_t r = 0; r < rows; ++r) {
      const float s = m.int8_row_scale(r);
      if (!std::isfinite(s) || s < 0.f) {
        return data_loss(label + ": row " + std::to_string(r) + " has scale " + std::to_string(s));
      }
    }
  } else if (format == WeightFormat::kQ4) {
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t b = 0; b < m.blocks_per_row(); ++b) {
        if (!std::isfinite(m.q4_block_scale(r, b))) {
          return data_loss(label + ": row " + std::to_string(r) + " block " + std::to_string(b) +
                           " has a non-finite scale");
        }
      }
    }
  }
  return m;
}

float QuantMatrix::int8_row_scale(int64_t row) const {
  float s;
  std::memcpy(&s, storage_.get() + scales_offset_ + 4 * size_t(row), 4);
  return s;
}

float QuantMatrix::q4_block_scale(int64_t row, int64_t block) const {
  uint16_t h;
  std::memcpy(&h, storage_.get() + scales_offset_ + 2 * size_t(row * blocks_per_row() + block), 2);
  return fp16_to_fp32(h);
}

Status QuantMatrix::quantize_rows(const float* w, int64_t ld, int64_t row_begin, int64_t row_end) {
  if (row_begin < 0 || row_end > rows_ || row_begin > row_end || ld < cols_) {
    return out_of_range(layer_label(name_) + ": quantize_rows(" + std::to_string(row_begin) +
                        ", " + std::to_string(row_end) + ") with ld " + std::to_string(ld) +
                        " on " + std::to_string(rows_) + " x " + std::to_string(cols_));
  }
  for (int64_t r = row_begin; r < row_end; ++r) KANANA_RETURN_IF_ERROR(quantize_row(r, w + r * ld));
  return Status::ok();
}

Status QuantMatrix::quantize_row(int64_t r, const float* src) {
  if (r < 0 || r >= rows_)
    return out_of_range(layer_label(name_) + ": quantize_row(" + std::to_string(r) + ") on " +
                        std::to_string(rows_) + " rows");
  const int64_t nb = blocks_per_row();
  {
    for (int64_t c = 0; c < cols_; ++c) {
      if (!std::isfinite(src[c])) {
        return invalid_argument(layer_label(name_) + ": weight [" + std::to_string(r) + ", " +
                                std::to_string(c) + "] is " +
                                (std::isnan(src[c]) ? "NaN" : "infinite") +
                                "; refusing to quantize it to " + weight_format_name(format_));
      }
    }
    uint8_t* dst = mutable_row_data(r);
    switch (format_) {
      case WeightFormat::kF32: {
        auto* out = reinterpret_cast<float*>(dst);
        std::memcpy(out, src, size_t(cols_) * 4);
        std::fill(out + cols_, out + kpad_, 0.f);
        break;
      }
      case WeightFormat::kBF16: {
        auto* out = reinterpret_cast<uint16_t*>(dst);
        for (int64_t c = 0; c < cols_; ++c) out[c] = fp32_to_bf16(src[c]);
        std::fill(out + cols_, out + kpad_, uint16_t(0));
        break;
      }
      case WeightFormat::kInt8: {
        float amax = 0.f;
        for (int64_t c = 0; c < cols_; ++c) amax = std::max(amax, std::fabs(src[c]));
        float s = amax / 127.f;
        if (s == 0.f && amax > 0.f) s = std::numeric_limits<float>::denorm_min();
        auto* out = reinterpret_cast<int8_t*>(dst);
        for (int64_t c = 0; c < cols_; ++c) {
          const float q = s > 0.f ? std::nearbyint(src[c] / s) : 0.f;
          out[c] = int8_t(std::clamp(q, -127.f, 127.f));
        }
        std::fill(out + cols_, out + kpad_, int8_t(0));
        std::memcpy(storage_.get() + scales_offset_ + 4 * size_t(r), &s, 4);
        break;
      }
      case WeightFormat::kQ4: {
        uint8_t* scales = storage_.get() + scales_offset_ + 2 * size_t(r * nb);
        for (int64_t b = 0; b < nb; ++b) {
          float v[kBlock];
          const int64_t c0 = b * kBlock, n = std::clamp<int64_t>(cols_ - c0, 0, kBlock);
          std::memcpy(v, src + c0, size_t(n) * 4);
          std::fill(v + n, v + kBlock, 0.f);
          const uint16_t h = q4_block_scale_bits(v);
          if ((h & 0x7FFF) >= kFp16Inf) {
            return invalid_argument(layer_label(name_) + ": row " + std::to_string(r) +
                                    " columns [" + std::to_string(c0) + ", " +
                                    std::to_string(c0 + n) +
                                    ") hold weights too large for a q4 (fp16) block scale");
          }
          std::memcpy(scales + 2 * b, &h, 2);
          const float d = fp16_to_fp32(h);
          for (int i = 0; i < kBlock; ++i) {
            const int q = d != 0.f ? int(std::clamp(std::nearbyint(v[i] / d), -8.f, 7.f)) : 0;
            q4_set_level(dst, c0 + i, q);
          }
        }
        break;
      }
    }
  }
  return Status::ok();
}

void QuantMatrix::dequantize_row(int64_t row, float* out) const {
  const uint8_t* src = row_data(row);
  switch (format_) {
    case WeightFormat::kF32: std::memcpy(out, src, size_t(cols_) * 4); break;
    case WeightFormat::kBF16:
      for (int64_t c = 0; c < cols_; ++c) out[c] = bf16_to_fp32(reinterpret_cast<const uint16_t*>(src)[c]);
      break;
    case WeightFormat::kInt8: {
      const float s = int8_row_scale(row);
      for (int64_t c = 0; c < cols_; ++c) out[c] = float(reinterpret_cast<const int8_t*>(src)[c]) * s;
      break;
    }
    case WeightFormat::kQ4:
      for (int64_t c = 0; c < cols_; ++c) out[c] = float(q4_level(src, c)) * q4_block_scale(row, c / kBlock);
      break;
  }
}

// ---- whole-matrix quantization ----------------------------------------------------------

Result<QuantMatrix> quantize(const float* w, int64_t rows, int64_t cols, WeightFormat format,
                             std::string_view name, ThreadPool* pool) {
  KANANA_ASSIGN_OR_RETURN(QuantMatrix m, QuantMatrix::allocate(rows, cols, format, name));
  if (pool == nullptr || pool->size() <= 1) {
    KANANA_RETURN_IF_ERROR(m.quantize_rows(w, cols, 0, rows));
    return m;
  }
  // Each chunk stops at its first bad row; the lowest one is re-run for its message, so the
  // error does not depend on the thread count.
  std::atomic<int64_t> first_bad{rows};
  pool->parallel_for(0, rows, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      if (!m.quantize_rows(w, cols, r, r + 1).is_ok()) {
        int64_t cur = first_bad.load();
        while (r < cur && !first_bad.compare_exchange_weak(cur, r)) {
        }
        return;
      }
    }
  });
  const int64_t bad = first_bad.load();
  if (bad < rows) {
    Status status = m.quantize_rows(w, cols, bad, bad + 1);
    return status.is_ok() ? internal_error("quantize: row " + std::to_string(bad) + " failed once")
                          : status;
  }
  return m;
}

}  // namespace kanana::infer
