// safetensors dtypes <-> LibTorch scalar types (names and sizes: reader_dtype.cpp).
#include <torch/torch.h>

#include "safetensors/safetensors.h"

namespace kanana::st {

namespace {
constexpr std::pair<DType, c10::ScalarType> kScalar[] = {
    {DType::F32, c10::ScalarType::Float}, {DType::F16, c10::ScalarType::Half},
    {DType::BF16, c10::ScalarType::BFloat16}, {DType::F64, c10::ScalarType::Double},
    {DType::I64, c10::ScalarType::Long}, {DType::I32, c10::ScalarType::Int},
    {DType::I16, c10::ScalarType::Short}, {DType::I8, c10::ScalarType::Char},
    {DType::U8, c10::ScalarType::Byte}, {DType::BOOL, c10::ScalarType::Bool},
};
}  // namespace

Result<c10::ScalarType> to_scalar_type(DType dtype) {
  for (const auto& [d, scalar] : kScalar)
    if (d == dtype) return scalar;
  return invalid_argument("unknown DType value " + std::to_string(static_cast<int>(dtype)));
}

Result<DType> from_scalar_type(c10::ScalarType type) {
  for (const auto& [d, scalar] : kScalar)
    if (scalar == type) return d;
  return invalid_argument(std::string("tensor dtype ") + c10::toString(type) +
                          " has no safetensors equivalent");
}

}  // namespace kanana::st
