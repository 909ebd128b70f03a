// ggml type table and the F32/F16/Q8_0/Q4_0 block codecs (layouts: quants.h).
#include "gguf/quants.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/strings.h"
#include "infer/weights.h"

namespace kanana::gguf {

namespace {

constexpr int64_t kQK = 32;  // block size of Q4_0 and Q8_0

std::string row_label(std::string_view name, int64_t row) {
  return "tensor '" + std::string(name) + "' row " + std::to_string(row);
}

void put_f16(uint8_t* p, uint16_t h) { std::memcpy(p, &h, 2); }
uint16_t get_f16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return h;
}

// Block scales beyond fp16 would be stored as inf: refuse them instead.
bool fits_fp16(float d) { return std::fabs(d) <= 65504.f; }

Status quantize_q8_0(const float* src, int64_t n, uint8_t* out, std::string_view name, int64_t row) {
  for (int64_t b = 0; b < n / kQK; ++b) {
    const float* x = src + b * kQK;
    uint8_t* blk = out + b * 34;
    float amax = 0.f;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.f;
    if (!fits_fp16(d)) {
      return invalid_argument(row_label(name, row) + ": block " + std::to_string(b) +
                              " holds weights too large for a Q8_0 (fp16) scale");
    }
    const float id = d != 0.f ? 1.f / d : 0.f;
    put_f16(blk, infer::fp32_to_fp16(d));
    for (int j = 0; j < kQK; ++j) blk[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(std::lround(x[j] * id)));
  }
  return Status::ok();
}

// Repacks rows quantized by infer's q4 (same scales and levels) into ggml's Q4_0 blocks.
Status quantize_q4_0(const float* src, int64_t rows, int64_t n, uint8_t* out, std::string_view name) {
  KANANA_ASSIGN_OR_RETURN(infer::QuantMatrix m, infer::quantize(src, rows, n, infer::WeightFormat::kQ4, name));
  const int64_t nb = n / kQK;
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* levels = m.row_data(r);
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* blk = out + (r * nb + b) * 18;
      put_f16(blk, infer::fp32_to_fp16(m.q4_block_scale(r, b)));
      for (int j = 0; j < 16; ++j) {
        const int lo = infer::q4_level(levels, b * kQK + j) + 8;
        const int hi = infer::q4_level(levels, b * kQK + j + 16) + 8;
        blk[2 + j] = static_cast<uint8_t>(lo | (hi << 4));
      }
    }
  }
  return Status::ok();
}

Status check_row(GgmlType type, const float* src, int64_t n, std::string_view name, int64_t row) {
  const auto traits = ggml_type_traits(static_cast<uint32_t>(type));
  if (type != GgmlType::kF32 && type != GgmlType::kF16 && type != GgmlType::kQ8_0 && type != GgmlType::kQ4_0) {
    return unimplemented("tensor '" + std::string(name) + "': writing " + (traits ? traits->name : "?") +
                         " is not supported (f32, f16, q8_0, q4_0)");
  }
  if (n % traits->block_size != 0) {
    return invalid_argument("tensor '" + std::string(name) + "': rows of " + std::to_string(n) +
                            " weights are not a multiple of the " + traits->name + " block (" +
                            std::to_string(traits->block_size) + ")");
  }
  for (int64_t c = 0; c < n; ++c) {
    if (!std::isfinite(src[c])) {
      return invalid_argument(row_label(name, row) + ": weight " + std::to_string(c) + " is not finite");
    }
  }
  return Status::ok();
}

}  // namespace

std::optional<GgmlTypeTraits> ggml_type_traits(uint32_t type) {
  switch (static_cast<GgmlType>(type)) {
    case GgmlType::kF32: return GgmlTypeTraits{"F32", 1, 4};
    case GgmlType::kF16: return GgmlTypeTraits{"F16", 1, 2};
    case GgmlType::kQ4_0: return GgmlTypeTraits{"Q4_0", 32, 18};
    case GgmlType::kQ4_1: return GgmlTypeTraits{"Q4_1", 32, 20};
    case GgmlType::kQ5_0: return GgmlTypeTraits{"Q5_0", 32, 22};
    case GgmlType::kQ5_1: return GgmlTypeTraits{"Q5_1", 32, 24};
    case GgmlType::kQ8_0: return GgmlTypeTraits{"Q8_0", 32, 34};
    case GgmlType::kQ8_1: return GgmlTypeTraits{"Q8_1", 32, 36};
    case GgmlType::kQ2_K: return GgmlTypeTraits{"Q2_K", 256, 84};
    case GgmlType::kQ3_K: return GgmlTypeTraits{"Q3_K", 256, 110};
    case GgmlType::kQ4_K: return GgmlTypeTraits{"Q4_K", 256, 144};
    case GgmlType::kQ5_K: return GgmlTypeTraits{"Q5_K", 256, 176};
    case GgmlType::kQ6_K: return GgmlTypeTraits{"Q6_K", 256, 210};
    case GgmlType::kQ8_K: return GgmlTypeTraits{"Q8_K", 256, 292};
    case GgmlType::kI8: return GgmlTypeTraits{"I8", 1, 1};
    case GgmlType::kI16: return GgmlTypeTraits{"I16", 1, 2};
    case GgmlType::kI32: return GgmlTypeTraits{"I32", 1, 4};
    case GgmlType::kI64: return GgmlTypeTraits{"I64", 1, 8};
    case GgmlType::kF64: return GgmlTypeTraits{"F64", 1, 8};
    case GgmlType::kBF16: return GgmlTypeTraits{"BF16", 1, 2};
  }
  return std::nullopt;
}

const char* ggml_type_name(GgmlType type) {
  const auto t = ggml_type_traits(static_cast<uint32_t>(type));
  return t ? t->name : "unknown";
}

Result<GgmlType> parse_export_type(std::string_view text) {
  const std::string s = to_lower_ascii(text);
  if (s == "f32") return GgmlType::kF32;
  if (s == "f16") return GgmlType::kF16;
  if (s == "q8_0") return GgmlType::kQ8_0;
  if (s == "q4_0") return GgmlType::kQ4_0;
  return invalid_argument("unknown GGUF type '" + std::string(text) + "' (expected f32, f16, q8_0 or q4_0)");
}

uint64_t row_bytes(GgmlType type, int64_t n) {
  const auto t = ggml_type_traits(static_cast<uint32_t>(type));
  return t ? uint64_t(n) / t->block_size * t->type_size : 0;
}

Status quantize_row(GgmlType type, const float* src, int64_t n, uint8_t* out, std::string_view name, int64_t row) {
  KANANA_RETURN_IF_ERROR(check_row(type, src, n, name, row));
  switch (type) {
    case GgmlType::kF32:
      std::memcpy(out, src, size_t(n) * 4);
      return Status::ok();
    case GgmlType::kF16:
      for (int64_t c = 0; c < n; ++c) {
        if (std::fabs(src[c]) >= 65520.f) {  // rounds to inf in fp16
          return invalid_argument(row_label(name, row) + ": weight " + std::to_string(c) + " (" +
                                  std::to_string(src[c]) + ") is beyond the F16 range");
        }
        put_f16(out + 2 * c, infer::fp32_to_fp16(src[c]));
      }
      return Status::ok();
    case GgmlType::kQ8_0: return quantize_q8_0(src, n, out, name, row);
    case GgmlType::kQ4_0: return quantize_q4_0(src, 1, n, out, name);
    default: return internal_error("quantize_row: unhandled type");
  }
}

Status quantize_rows(GgmlType type, const float* src, int64_t rows, int64_t n, uint8_t* out, std::string_view name) {
  const uint64_t rb = row_bytes(type, n);
  for (int64_t r = 0; r < rows; ++r) KANANA_RETURN_IF_ERROR(check_row(type, src + r * n, n, name, r));
  if (type == GgmlType::kQ4_0) return quantize_q4_0(src, rows, n, out, name);
  for (int64_t r = 0; r < rows; ++r) KANANA_RETURN_IF_ERROR(quantize_row(type, src + r * n, n, out + r * rb, name, r));
  return Status::ok();
}

Status dequantize_row(GgmlType type, const uint8_t* src, int64_t n, float* out, std::string_view name) {
  switch (type) {
    case GgmlType::kF32: std::memcpy(out, src, size_t(n) * 4); return Status::ok();
    case GgmlType::kF16:
      for (int64_t c = 0; c < n; ++c) out[c] = infer::fp16_to_fp32(get_f16(src + 2 * c));
      return Status::ok();
    case GgmlType::kBF16:
      for (int64_t c = 0; c < n; ++c) out[c] = infer::bf16_to_fp32(get_f16(src + 2 * c));
      return Status::ok();
    case GgmlType::kQ8_0:
      if (n % kQK) break;
      for (int64_t b = 0; b < n / kQK; ++b) {
        const uint8_t* blk = src + b * 34;
        const float d = infer::fp16_to_fp32(get_f16(blk));
        for (int j = 0; j < kQK; ++j) out[b * kQK + j] = float(static_cast<int8_t>(blk[2 + j])) * d;
      }
      return Status::ok();
    case GgmlType::kQ4_0:
      if (n % kQK) break;
      for (int64_t b = 0; b < n / kQK; ++b) {
        const uint8_t* blk = src + b * 18;
        const float d = infer::fp16_to_fp32(get_f16(blk));
        for (int j = 0; j < 16; ++j) {
          out[b * kQK + j] = float((blk[2 + j] & 0x0F) - 8) * d;
          out[b * kQK + j + 16] = float((blk[2 + j] >> 4) - 8) * d;
        }
      }
      return Status::ok();
    default:
      return unimplemented("tensor '" + std::string(name) + "': reading " + ggml_type_name(type) +
                           " values is not supported (F32, F16, BF16, Q8_0, Q4_0)");
  }
  return invalid_argument("tensor '" + std::string(name) + "': " + std::to_string(n) +
                          " weights are not a multiple of the block (32)");
}

}  // namespace kanana::gguf
