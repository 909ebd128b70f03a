// Checkpoint folders in the Hugging Face layout: model.safetensors, or shards named
// model-0000i-of-0000N.safetensors listed in model.safetensors.index.json
// ({"metadata": {"total_size": N}, "weight_map": {tensor: shard file}}).
#include <torch/torch.h>

#include <cstdio>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "base/files.h"
#include "base/json.h"
#include "safetensors/safetensors.h"

namespace kanana::st {

namespace fs = std::filesystem;

namespace {
constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";

std::string shard_name(size_t i, size_t n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "model-%05zu-of-%05zu.safetensors", i, n);
  return buf;
}

bool is_shard_name(const std::string& name) {
  static const std::regex pattern("model-[0-9]{5}-of-[0-9]{5}\\.safetensors");
  return std::regex_match(name, pattern);
}
}  // namespace

Result<at::Tensor> CheckpointReader::tensor(const std::string& name, std::optional<c10::ScalarType> as) const {
  const SafetensorsFile* file = file_of(name);
  if (file == nullptr) return not_found("checkpoint has no tensor named '" + name + "'");
  return file->tensor(name, as);
}

Status save_checkpoint(const fs::path& dir, const std::vector<TensorInfo>& layout, const TensorProducer& produce,
                       const SaveOptions& options) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return permission_denied(dir.string() + ": cannot create folder: " + ec.message());

  // Shard like transformers does: in the given order, start a new shard when the next tensor
  // would push a non-empty shard past the limit (a tensor larger than the limit gets its own).
  std::vector<std::vector<TensorInfo>> shards(1);
  uint64_t current = 0, total = 0;
  for (const auto& t : layout) {
    uint64_t bytes = static_cast<uint64_t>(std::max<int64_t>(t.numel(), 0)) * dtype_size(t.dtype);
    if (options.max_shard_bytes > 0 && !shards.back().empty() && current + bytes > options.max_shard_bytes) {
      shards.emplace_back();
      current = 0;
    }
    shards.back().push_back(t);
    current += bytes;
    total += bytes;
  }

  std::set<std::string> written;
  nlohmann::json weight_map = nlohmann::json::object();
  for (size_t i = 0; i < shards.size(); ++i) {
    const std::string name = shards.size() == 1 ? kSingleFile : shard_name(i + 1, shards.size());
    auto shard_layout = shards[i];
    sort_like_reference(shard_layout);
    KANANA_ASSIGN_OR_RETURN(auto writer, SafetensorsWriter::open(dir / name, shard_layout, options.metadata));
    for (const auto& t : shard_layout) {
      auto tensor = produce(t);
      if (!tensor.is_ok()) return tensor.status().with_context("producing tensor '" + t.name + "'");
      KANANA_RETURN_IF_ERROR(writer->write(t.name, *tensor));
      weight_map[t.name] = name;
    }
    KANANA_RETURN_IF_ERROR(writer->commit());
    written.insert(name);
  }
  if (shards.size() > 1) {
    nlohmann::json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
    KANANA_RETURN_IF_ERROR(write_json_file(dir / kIndexFile, index));
  }

  // Remove what an earlier save left behind, so a reader cannot pick up a stale index or shard.
  if (shards.size() == 1) fs::remove(dir / kIndexFile, ec);
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string file = entry.path().filename().string();
    if (written.count(file)) continue;
    if (is_shard_name(file) || (shards.size() > 1 && file == kSingleFile)) fs::remove(entry.path(), ec);
  }
  return Status::ok();
}

Status save_checkpoint(const fs::path& dir, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const SaveOptions& options) {
  std::vector<TensorInfo> layout;
  std::map<std::string, const at::Tensor*> by_name;
  for (const auto& [name, tensor] : tensors) {
    if (!tensor.defined()) return invalid_argument("tensor '" + name + "' is undefined");
    auto dtype = from_scalar_type(tensor.scalar_type());
    if (!dtype.is_ok()) return dtype.status().with_context("tensor '" + name + "'");
    if (!by_name.emplace(name, &tensor).second) return invalid_argument("tensor '" + name + "' is given twice");
    layout.push_back(TensorInfo{name, *dtype, tensor.sizes().vec()});
  }
  return save_checkpoint(dir, layout, [&](const TensorInfo& t) -> Result<at::Tensor> { return *by_name.at(t.name); },
                         options);
}

}  // namespace kanana::st
