// Writing safetensors files from LibTorch tensors (tensors in descending-alignment-then-name
// order, as the reference implementation), through the Torch-free streaming writer (writer.h).
#include <torch/torch.h>

#include <set>

#include <nlohmann/json.hpp>

#include "base/files.h"
#include "safetensors/safetensors.h"

namespace kanana::st {

namespace {

Result<TensorInfo> describe(const std::string& name, const at::Tensor& tensor) {
  if (!tensor.defined()) return invalid_argument("tensor '" + name + "' is undefined");
  auto dtype = from_scalar_type(tensor.scalar_type());
  if (!dtype.is_ok()) return dtype.status().with_context("tensor '" + name + "'");
  TensorInfo info;
  info.name = name;
  info.dtype = *dtype;
  info.shape = tensor.sizes().vec();
  return info;
}

Result<std::vector<TensorInfo>> describe_all(const std::vector<std::pair<std::string, at::Tensor>>& tensors) {
  std::vector<TensorInfo> layout;
  std::set<std::string> names;
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__") return invalid_argument("'__metadata__' cannot be a tensor name");
    if (!names.insert(name).second) return invalid_argument("tensor '" + name + "' is given twice");
    KANANA_ASSIGN_OR_RETURN(auto info, describe(name, tensor));
    layout.push_back(std::move(info));
  }
  return layout;
}

}  // namespace

Status SafetensorsWriter::write(const std::string& name, const at::Tensor& tensor) {
  const TensorInfo* want = next();
  const std::string where = file().string() + ": tensor '" + name + "'";
  if (want == nullptr) return failed_precondition(where + ": all declared tensors were already written");
  if (want->name != name) return failed_precondition(where + ": expected tensor '" + want->name + "' next");
  KANANA_ASSIGN_OR_RETURN(auto got, describe(name, tensor));
  if (got.dtype != want->dtype || got.shape != want->shape)
    return invalid_argument(where + ": is " + dtype_name(got.dtype) + " " + shape_string(got.shape) +
                            " but was declared " + dtype_name(want->dtype) + " " + shape_string(want->shape));
  try {
    at::Tensor cpu = tensor.device().is_cpu() ? tensor : tensor.to(torch::kCPU);
    cpu = cpu.contiguous();
    // Little-endian hosts only (x86-64, aarch64): the in-memory bytes are the file bytes.
    return write_bytes(name, {static_cast<const uint8_t*>(cpu.data_ptr()), want->end - want->begin});
  } catch (const std::exception& e) {
    return internal_error(where + ": " + e.what());
  }
}

Status save_safetensors_file(const std::filesystem::path& file,
                             const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                             const std::map<std::string, std::string>& metadata) {
  KANANA_ASSIGN_OR_RETURN(auto layout, describe_all(tensors));
  sort_like_reference(layout);
  std::map<std::string, const at::Tensor*> by_name;
  for (const auto& [name, tensor] : tensors) by_name[name] = &tensor;
  KANANA_ASSIGN_OR_RETURN(auto writer, SafetensorsWriter::open(file, layout, metadata));
  for (const auto& t : layout) KANANA_RETURN_IF_ERROR(writer->write(t.name, *by_name[t.name]));
  return writer->commit();
}

}  // namespace kanana::st
