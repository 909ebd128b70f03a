// Depth up-scaling by streaming tensors from the source checkpoint (see upscale.h).
#include "surgery/upscale.h"

#include <torch/torch.h>

#include <map>

#include "base/json.h"
#include "base/strings.h"
#include "model/checkpoint.h"
#include "safetensors/safetensors.h"
#include "tokenizer/tokenizer.h"

namespace kanana::surgery {
namespace {

namespace fs = std::filesystem;

const std::string kLayerPrefix = "model.layers.";

// "model.layers.12.mlp.up_proj.weight" -> (12, "mlp.up_proj.weight"); -1 for other tensors.
std::pair<int64_t, std::string> split_layer_name(const std::string& name) {
  if (name.rfind(kLayerPrefix, 0) != 0) return {-1, name};
  const size_t dot = name.find('.', kLayerPrefix.size());
  if (dot == std::string::npos) return {-1, name};
  return {std::stoll(name.substr(kLayerPrefix.size(), dot - kLayerPrefix.size())), name.substr(dot + 1)};
}

Result<int64_t> parse_index(std::string_view text, int64_t layers, const std::string& whole) {
  const std::string t(trim(text));
  if (t.empty() || t.find_first_not_of("0123456789") != std::string::npos)
    return invalid_argument("layer map '" + whole + "': '" + t + "' is not a layer index");
  const int64_t v = std::stoll(t);
  if (v >= layers)
    return invalid_argument("layer map '" + whole + "': layer " + t + " does not exist (the source has " +
                            std::to_string(layers) + " layers, 0.." + std::to_string(layers - 1) + ")");
  return v;
}

}  // namespace

Result<std::vector<int64_t>> solar_layer_map(int64_t n, int64_t m) {
  if (n < 1) return invalid_argument("the source has no layers");
  if (m < 0 || m >= n)
    return invalid_argument("depth up-scaling drops " + std::to_string(m) + " layers from each copy of a " +
                            std::to_string(n) + "-layer model; it must be between 0 and " + std::to_string(n - 1));
  std::vector<int64_t> map;
  for (int64_t i = 0; i < n - m; ++i) map.push_back(i);
  for (int64_t i = m; i < n; ++i) map.push_back(i);
  return map;
}

Result<std::vector<int64_t>> parse_layer_map(const std::string& text, int64_t layers) {
  std::vector<int64_t> map;
  for (const auto& part : split(text, ',')) {
    if (trim(part).empty()) continue;
    const size_t dash = part.find('-');
    if (dash == std::string::npos) {
      KANANA_ASSIGN_OR_RETURN(int64_t v, parse_index(part, layers, text));
      map.push_back(v);
      continue;
    }
    KANANA_ASSIGN_OR_RETURN(int64_t a, parse_index(std::string_view(part).substr(0, dash), layers, text));
    KANANA_ASSIGN_OR_RETURN(int64_t b, parse_index(std::string_view(part).substr(dash + 1), layers, text));
    if (b < a) return invalid_argument("layer map '" + text + "': range " + std::string(trim(part)) + " runs backwards");
    for (int64_t i = a; i <= b; ++i) map.push_back(i);
  }
  if (map.empty()) return invalid_argument("layer map '" + text + "' names no layers");
  return map;
}

std::string format_layer_map(const std::vector<int64_t>& map) {
  std::string out;
  for (size_t i = 0; i < map.size();) {
    size_t j = i;
    while (j + 1 < map.size() && map[j + 1] == map[j] + 1) ++j;
    if (!out.empty()) out += ",";
    out += std::to_string(map[i]);
    if (j > i) out += "-" + std::to_string(map[j]);
    i = j + 1;
  }
  return out;
}

Result<model::LlamaConfig> upscaled_config(const model::LlamaConfig& source, const std::vector<int64_t>& map) {
  if (map.empty()) return invalid_argument("the layer map is empty");
  for (int64_t l : map)
    if (l < 0 || l >= source.num_hidden_layers)
      return invalid_argument("layer map entry " + std::to_string(l) + " outside the source's " +
                              std::to_string(source.num_hidden_layers) + " layers");
  model::LlamaConfig c = source;
  c.num_hidden_layers = int64_t(map.size());
  return c;
}

Result<UpscaleResult> upscale_checkpoint(const fs::path& source_dir, const fs::path& out_dir,
                                         const std::vector<int64_t>& layer_map) {
  KANANA_ASSIGN_OR_RETURN(model::LlamaConfig source, model::read_llama_config(source_dir));
  KANANA_ASSIGN_OR_RETURN(model::LlamaConfig config, upscaled_config(source, layer_map));
  KANANA_ASSIGN_OR_RETURN(auto reader, st::CheckpointReader::open(source_dir));
  std::error_code ec;
  if (fs::exists(out_dir, ec) && fs::equivalent(out_dir, source_dir, ec))
    return invalid_argument("the up-scaled model must go to another folder than its source");

  // The layout of the result, each tensor naming the source tensor it copies.
  std::vector<st::TensorInfo> layout;
  std::map<std::string, std::string> from;
  std::string stored_dtype;
  for (const auto& [name, shape] : model::expected_tensors(config)) {
    auto [layer, rest] = split_layer_name(name);
    const std::string src = layer < 0 ? name : kLayerPrefix + std::to_string(layer_map[size_t(layer)]) + "." + rest;
    if (!reader->has(src)) return not_found(source_dir.string() + ": tensor '" + src + "' is missing");
    KANANA_ASSIGN_OR_RETURN(st::TensorInfo info, reader->info(src));
    if (info.shape != shape)
      return invalid_argument(source_dir.string() + ": tensor '" + src + "' does not match config.json's shape");
    info.name = name;
    layout.push_back(info);
    from[name] = src;
    stored_dtype = st::dtype_name(info.dtype);
  }
  st::sort_like_reference(layout);
  st::SaveOptions so;
  so.metadata["kanana.surgery"] = "depth-upscale";
  so.metadata["kanana.layer_map"] = format_layer_map(layer_map);
  KANANA_RETURN_IF_ERROR(st::save_checkpoint(
      out_dir, layout,
      [&](const st::TensorInfo& info) -> Result<at::Tensor> {
        KANANA_ASSIGN_OR_RETURN(auto t, reader->tensor(from.at(info.name)));
        return t;
      },
      so));
  // config.json keeps the source's torch_dtype unless the stored tensors say otherwise.
  if (stored_dtype == "F32") config.torch_dtype = "float32";
  else if (stored_dtype == "BF16") config.torch_dtype = "bfloat16";
  else if (stored_dtype == "F16") config.torch_dtype = "float16";
  KANANA_RETURN_IF_ERROR(model::write_llama_config(out_dir / "config.json", config));
  KANANA_RETURN_IF_ERROR(write_json_file(out_dir / "generation_config.json", model::generation_config_json(config)));
  KANANA_RETURN_IF_ERROR(copy_tokenizer_files(source_dir, out_dir));
  return UpscaleResult{config, layer_map};
}

Status copy_tokenizer_files(const fs::path& from_dir, const fs::path& to_dir) {
  auto source = tok::model_tokenizer_path(from_dir);
  if (!source.is_ok()) return Status::ok();  // a bare model: nothing to carry along
  return tok::copy_tokenizer_files(*source, to_dir);
}

}  // namespace kanana::surgery
