// Checkpoint folders in the Hugging Face layout: model.safetensors, or shards named
// model-0000i-of-0000N.safetensors listed in model.safetensors.index.json
// ({"metadata": {"total_size": N}, "weight_map": {tensor: shard file}}).
#include <cstdio>
#include <set>

#include <nlohmann/json.hpp>

#include "base/files.h"
#include "base/json.h"
#include "safetensors/reader.h"

namespace kanana::st {

namespace fs = std::filesystem;

namespace {
constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

Result<std::unique_ptr<CheckpointReader>> CheckpointReader::open(const fs::path& path_or_dir) {
  std::error_code ec;
  fs::path index_path, single_path;
  if (fs::is_directory(path_or_dir, ec)) {
    if (fs::exists(path_or_dir / kIndexFile, ec))
      index_path = path_or_dir / kIndexFile;
    else if (fs::exists(path_or_dir / kSingleFile, ec))
      single_path = path_or_dir / kSingleFile;
    else
      return not_found(path_or_dir.string() + ": no " + kSingleFile + " or " + kIndexFile + " in this folder");
  } else if (ends_with(path_or_dir.filename().string(), ".index.json")) {
    index_path = path_or_dir;
  } else {
    single_path = path_or_dir;
  }

  std::unique_ptr<CheckpointReader> reader(new CheckpointReader());
  if (!single_path.empty()) {
    KANANA_ASSIGN_OR_RETURN(auto file, SafetensorsFile::open(single_path));
    for (const auto& t : file->tensors()) reader->where_[t.name] = 0;
    reader->metadata_ = file->metadata();
    reader->files_.push_back(std::move(file));
    return reader;
  }

  const std::string where = index_path.string();
  KANANA_ASSIGN_OR_RETURN(auto index, read_json_file(index_path));
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
    return invalid_argument(where + ": missing object field 'weight_map'");
  std::map<std::string, size_t> shard_index;  // shard file name -> index into files_
  for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
    if (!it.value().is_string())
      return invalid_argument(where + ": weight_map['" + it.key() + "'] must be a file name string");
    const std::string shard = it.value().get<std::string>();
    // Shards live next to the index: refuse paths that would escape the folder.
    const fs::path rel(shard);
    if (shard.empty() || rel.is_absolute() || rel.has_parent_path() || shard == "." || shard == "..")
      return invalid_argument(where + ": weight_map['" + it.key() + "'] names '" + shard +
                              "', which is not a file name in the checkpoint folder");
    auto found = shard_index.find(shard);
    if (found == shard_index.end()) {
      const fs::path shard_path = index_path.parent_path() / rel;
      if (!fs::exists(shard_path, ec))
        return not_found(where + ": shard '" + shard + "' (holding '" + it.key() + "') does not exist");
      auto file = SafetensorsFile::open(shard_path);
      if (!file.is_ok()) return file.status().with_context(where);
      found = shard_index.emplace(shard, reader->files_.size()).first;
      reader->files_.push_back(std::move(file).value());
    }
    if (reader->files_[found->second]->find(it.key()) == nullptr)
      return not_found(where + ": weight_map puts '" + it.key() + "' in shard '" + shard +
                       "', but that shard has no such tensor");
    reader->where_[it.key()] = found->second;
  }
  if (!reader->files_.empty()) reader->metadata_ = reader->files_.front()->metadata();
  if (index.contains("metadata") && index["metadata"].is_object()) {
    for (auto it = index["metadata"].begin(); it != index["metadata"].end(); ++it)
      reader->metadata_[it.key()] = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
  }
  return reader;
}

std::vector<std::string> CheckpointReader::names() const {
  std::vector<std::string> out;
  out.reserve(where_.size());
  for (const auto& [name, _] : where_) out.push_back(name);
  return out;
}

bool CheckpointReader::has(const std::string& name) const { return where_.count(name) != 0; }

const SafetensorsFile* CheckpointReader::file_of(const std::string& name) const {
  auto it = where_.find(name);
  return it == where_.end() ? nullptr : files_[it->second].get();
}

void CheckpointReader::release_pages(const std::string& name) const {
  if (const SafetensorsFile* file = file_of(name)) file->release_pages(name);
}

Result<TensorInfo> CheckpointReader::info(const std::string& name) const {
  const SafetensorsFile* file = file_of(name);
  if (file == nullptr) return not_found("checkpoint has no tensor named '" + name + "'");
  return *file->find(name);
}

Result<std::span<const uint8_t>> CheckpointReader::bytes(const std::string& name) const {
  const SafetensorsFile* file = file_of(name);
  if (file == nullptr) return not_found("checkpoint has no tensor named '" + name + "'");
  return file->bytes(name);
}

}  // namespace kanana::st
