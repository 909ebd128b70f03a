// The compute dtypes of a model by name, without LibTorch: one list of spellings and one
// error wording for config.json's torch_dtype, model::parse_dtype (recipes, --dtype flags,
// chat/eval/prefs options) and anything else that takes a dtype as text.
//   "float32" | "f32" | "fp32"  -> "float32"
//   "bfloat16" | "bf16"         -> "bfloat16"
//   "float16" | "f16" | "fp16"  -> "float16"
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace kanana::model {

// The Hugging Face spelling of `name`, or nothing when it names no supported dtype.
std::optional<std::string> canonical_dtype_name(std::string_view name);
// "unknown dtype 'fp8' (expected float32, bfloat16 or float16; also f32, fp32, bf16, f16, fp16)"
std::string unknown_dtype_message(std::string_view name);
// canonical_dtype_name() or an invalid_argument with that message.
Result<std::string> parse_dtype_name(std::string_view name);

}  // namespace kanana::model
