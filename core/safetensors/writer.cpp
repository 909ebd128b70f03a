// Writing safetensors files the way the reference implementation does (compact JSON header,
// "__metadata__" first, tensors in descending-alignment-then-name order, header padded with
// spaces to 8 bytes), streaming one tensor at a time through an atomic temp-file writer.
#include <torch/torch.h>

#include <set>

#include <nlohmann/json.hpp>

#include "base/files.h"
#include "safetensors/safetensors.h"

namespace kanana::st {

namespace {

std::string json_string(const std::string& s) { return nlohmann::json(s).dump(); }

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

// Compact JSON, keys in the reference writer's order (a JSON object type would sort them).
std::string build_header(const std::vector<TensorInfo>& layout, const std::map<std::string, std::string>& metadata) {
  std::string out = "{";
  bool first = true;
  if (!metadata.empty()) {
    out += "\"__metadata__\":{";
    bool first_key = true;
    for (const auto& [k, v] : metadata) {
      if (!first_key) out += ",";
      first_key = false;
      out += json_string(k) + ":" + json_string(v);
    }
    out += "}";
    first = false;
  }
  for (const auto& t : layout) {
    if (!first) out += ",";
    first = false;
    out += json_string(t.name) + ":{\"dtype\":\"" + dtype_name(t.dtype) + "\",\"shape\":[";
    for (size_t i = 0; i < t.shape.size(); ++i) out += (i ? "," : "") + std::to_string(t.shape[i]);
    out += "],\"data_offsets\":[" + std::to_string(t.begin) + "," + std::to_string(t.end) + "]}";
  }
  out += "}";
  out.append((8 - out.size() % 8) % 8, ' ');
  return out;
}

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

struct SafetensorsWriter::Impl {
  std::filesystem::path file;
  std::vector<TensorInfo> layout;
  size_t next = 0;
  std::unique_ptr<AtomicFileWriter> out;
};

SafetensorsWriter::SafetensorsWriter() : impl_(std::make_unique<Impl>()) {}
SafetensorsWriter::~SafetensorsWriter() = default;

Result<std::unique_ptr<SafetensorsWriter>> SafetensorsWriter::open(const std::filesystem::path& file,
                                                                   std::vector<TensorInfo> layout,
                                                                   const std::map<std::string, std::string>& metadata) {
  std::set<std::string> names;
  uint64_t offset = 0;
  for (auto& t : layout) {
    if (t.name == "__metadata__") return invalid_argument(file.string() + ": '__metadata__' cannot be a tensor name");
    if (!names.insert(t.name).second) return invalid_argument(file.string() + ": tensor '" + t.name + "' declared twice");
    uint64_t numel = 1;
    for (int64_t d : t.shape) {
      if (d < 0) return invalid_argument(file.string() + ": tensor '" + t.name + "' has a negative dimension");
      numel *= static_cast<uint64_t>(d);
    }
    t.begin = offset;
    t.end = offset + numel * dtype_size(t.dtype);
    offset = t.end;
  }
  std::string header;
  try {
    header = build_header(layout, metadata);
  } catch (const nlohmann::json::exception& e) {  // e.g. a name that is not valid UTF-8
    return invalid_argument(file.string() + ": cannot write header: " + e.what());
  }
  KANANA_ASSIGN_OR_RETURN(auto out, AtomicFileWriter::open(file));
  uint8_t len[8];
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));
  KANANA_RETURN_IF_ERROR(out->write(len, 8));
  KANANA_RETURN_IF_ERROR(out->write(header));
  std::unique_ptr<SafetensorsWriter> writer(new SafetensorsWriter());
  writer->impl_->file = file;
  writer->impl_->layout = std::move(layout);
  writer->impl_->out = std::move(out);
  return writer;
}

Status SafetensorsWriter::write(const std::string& name, const at::Tensor& tensor) {
  auto& d = *impl_;
  const std::string where = d.file.string() + ": tensor '" + name + "'";
  if (d.next >= d.layout.size()) return failed_precondition(where + ": all declared tensors were already written");
  const TensorInfo& want = d.layout[d.next];
  if (want.name != name) return failed_precondition(where + ": expected tensor '" + want.name + "' next");
  KANANA_ASSIGN_OR_RETURN(auto got, describe(name, tensor));
  if (got.dtype != want.dtype || got.shape != want.shape)
    return invalid_argument(where + ": is " + dtype_name(got.dtype) + " " + shape_string(got.shape) +
                            " but was declared " + dtype_name(want.dtype) + " " + shape_string(want.shape));
  try {
    at::Tensor cpu = tensor.device().is_cpu() ? tensor : tensor.to(torch::kCPU);
    cpu = cpu.contiguous();
    // Little-endian hosts only (x86-64, aarch64): the in-memory bytes are the file bytes.
    KANANA_RETURN_IF_ERROR(d.out->write(cpu.data_ptr(), want.end - want.begin));
  } catch (const std::exception& e) {
    return internal_error(where + ": " + e.what());
  }
  ++d.next;
  return Status::ok();
}

Status SafetensorsWriter::commit() {
  auto& d = *impl_;
  if (d.next != d.layout.size())
    return failed_precondition(d.file.string() + ": only " + std::to_string(d.next) + " of " +
                               std::to_string(d.layout.size()) + " declared tensors were written");
  return d.out->commit();
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
