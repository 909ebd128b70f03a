// Dtype names; see dtype_name.h.
#include "model/dtype_name.h"

namespace kanana::model {

std::optional<std::string> canonical_dtype_name(std::string_view name) {
  if (name == "float32" || name == "f32" || name == "fp32") return "float32";
  if (name == "bfloat16" || name == "bf16") return "bfloat16";
  if (name == "float16" || name == "f16" || name == "fp16") return "float16";
  return std::nullopt;
}

std::string unknown_dtype_message(std::string_view name) {
  return "unknown dtype '" + std::string(name) +
         "' (expected float32, bfloat16 or float16; also f32, fp32, bf16, f16, fp16)";
}

Result<std::string> parse_dtype_name(std::string_view name) {
  if (auto canonical = canonical_dtype_name(name)) return *canonical;
  return invalid_argument(unknown_dtype_message(name));
}

}  // namespace kanana::model
