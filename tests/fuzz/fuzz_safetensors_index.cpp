// model.safetensors.index.json: the shard map of a checkpoint folder, next to one valid shard.
#include <fstream>

#include "fuzz_target.h"
#include "safetensors/reader.h"

namespace {

// A valid shard with one F32 tensor "a" of shape [2].
void write_shard(const std::filesystem::path& dir) {
  const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  std::string bytes(8, '\0');
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) bytes[i] = char((n >> (8 * i)) & 0xff);
  bytes += header + std::string(8, '\0');
  std::ofstream(dir / "model-00001-of-00001.safetensors", std::ios::binary) << bytes;
}

}  // namespace

KANANA_FUZZ_TARGET(safetensors_index) {
  const auto index = kanana::fuzz::input_file(data, size, ".index.json");
  static const bool shard = (write_shard(index.parent_path()), true);
  (void)shard;
  const auto path = index.parent_path() / "model.safetensors.index.json";
  std::filesystem::copy_file(index, path, std::filesystem::copy_options::overwrite_existing);
  auto r = kanana::st::CheckpointReader::open(path);
  if (!r.is_ok()) return 0;
  for (const auto& name : (*r)->names()) (void)(*r)->bytes(name);
  return 0;
}
