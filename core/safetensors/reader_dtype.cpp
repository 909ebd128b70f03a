// The safetensors dtype names and element sizes (Torch-free; dtype.cpp maps them to LibTorch).
#include <algorithm>

#include "safetensors/reader.h"

namespace kanana::st {

namespace {
struct DTypeRow {
  DType dtype;
  const char* name;
  size_t size;
  int reference_rank;  // position in the reference implementation's Dtype enum (alignment order)
};

constexpr DTypeRow kRows[] = {
    {DType::F32, "F32", 4, 11}, {DType::F16, "F16", 2, 7}, {DType::BF16, "BF16", 2, 8},
    {DType::F64, "F64", 8, 12}, {DType::I64, "I64", 8, 13}, {DType::I32, "I32", 4, 9},
    {DType::I16, "I16", 2, 5},  {DType::I8, "I8", 1, 2},    {DType::U8, "U8", 1, 1},
    {DType::BOOL, "BOOL", 1, 0},
};

const DTypeRow& row(DType dtype) {
  for (const auto& r : kRows)
    if (r.dtype == dtype) return r;
  return kRows[0];  // unreachable for valid enum values
}
}  // namespace

std::string dtype_name(DType dtype) { return row(dtype).name; }
size_t dtype_size(DType dtype) { return row(dtype).size; }

Result<DType> parse_dtype(const std::string& name) {
  for (const auto& r : kRows)
    if (name == r.name) return r.dtype;
  return invalid_argument("unsupported dtype '" + name +
                          "' (supported: F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL)");
}

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

void sort_like_reference(std::vector<TensorInfo>& layout) {
  std::stable_sort(layout.begin(), layout.end(), [](const TensorInfo& a, const TensorInfo& b) {
    const int ra = row(a.dtype).reference_rank, rb = row(b.dtype).reference_rank;
    if (ra != rb) return ra > rb;
    return a.name < b.name;
  });
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

}  // namespace kanana::st
