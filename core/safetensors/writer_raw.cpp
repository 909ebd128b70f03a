// The Torch-free half of the safetensors writer (writer.h): the reference implementation's
// header (compact JSON, "__metadata__" first, keys in declaration order, padded with spaces to
// 8 bytes) and the streaming atomic writer of raw tensor bytes.
#include "safetensors/writer.h"

#include <set>

#include <nlohmann/json.hpp>

#include "base/files.h"

namespace kanana::st {

namespace {

std::string json_string(const std::string& s) { return nlohmann::json(s).dump(); }

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

Status SafetensorsWriter::write_bytes(const std::string& name, std::span<const uint8_t> bytes) {
  auto& d = *impl_;
  const std::string where = d.file.string() + ": tensor '" + name + "'";
  if (d.next >= d.layout.size()) return failed_precondition(where + ": all declared tensors were already written");
  const TensorInfo& want = d.layout[d.next];
  if (want.name != name) return failed_precondition(where + ": expected tensor '" + want.name + "' next");
  if (bytes.size() != want.end - want.begin)
    return invalid_argument(where + ": " + std::to_string(bytes.size()) + " bytes given, " +
                            std::to_string(want.end - want.begin) + " declared (" + dtype_name(want.dtype) + " " +
                            shape_string(want.shape) + ")");
  KANANA_RETURN_IF_ERROR(d.out->write(bytes.data(), bytes.size()));
  ++d.next;
  return Status::ok();
}

const TensorInfo* SafetensorsWriter::next() const {
  return impl_->next < impl_->layout.size() ? &impl_->layout[impl_->next] : nullptr;
}

const std::filesystem::path& SafetensorsWriter::file() const { return impl_->file; }

Status SafetensorsWriter::commit() {
  auto& d = *impl_;
  if (d.next != d.layout.size())
    return failed_precondition(d.file.string() + ": only " + std::to_string(d.next) + " of " +
                               std::to_string(d.layout.size()) + " declared tensors were written");
  return d.out->commit();
}

}  // namespace kanana::st
