// load_tokenizer(): pick the implementation from a file or model folder, then apply the
// bos/eos/pad names of tokenizer_config.json.
#include <system_error>

#include "base/json.h"
#include "tokenizer/hf_bpe.h"
#include "tokenizer/sentencepiece.h"
#include "tokenizer/tokenizer.h"

namespace kanana::tok {
namespace {

namespace fs = std::filesystem;

// A token field of tokenizer_config.json: "text", {"content": "text", ...}, or null.
// Returns nullopt when absent, "" for null.
Result<std::optional<std::string>> config_token(const Json& config, const char* key, const std::string& origin) {
  if (!config.contains(key)) return std::optional<std::string>();
  const Json& v = config[key];
  if (v.is_null()) return std::optional<std::string>(std::string());
  if (v.is_string()) return std::optional<std::string>(v.get<std::string>());
  if (v.is_object() && v.contains("content") && v["content"].is_string())
    return std::optional<std::string>(v["content"].get<std::string>());
  return invalid_argument(origin + ": field '" + key + "' must be a string, null or {\"content\": ...}");
}

Result<fs::path> find_tokenizer_file(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    if (fs::is_regular_file(path / "tokenizer.json")) return path / "tokenizer.json";
    if (fs::is_regular_file(path / "tokenizer.model")) return path / "tokenizer.model";
    std::vector<fs::path> models;
    for (const auto& entry : fs::directory_iterator(path, ec))
      if (entry.is_regular_file() && entry.path().extension() == ".model") models.push_back(entry.path());
    if (models.size() == 1) return models[0];
    if (models.size() > 1)
      return invalid_argument(path.string() + ": several .model files; name the one to use");
    return not_found(path.string() + ": no tokenizer.json, tokenizer.model or *.model in this folder");
  }
  if (!fs::is_regular_file(path, ec)) return not_found(path.string() + ": tokenizer file not found");
  return path;
}

}  // namespace

Result<std::shared_ptr<const Tokenizer>> load_tokenizer(const std::filesystem::path& path) {
  KANANA_ASSIGN_OR_RETURN(fs::path file, find_tokenizer_file(path));
  SpecialTokenNames names;
  const fs::path config_path = file.parent_path() / "tokenizer_config.json";
  if (fs::is_regular_file(config_path)) {
    KANANA_ASSIGN_OR_RETURN(Json config, read_json_file(config_path));
    if (!config.is_object()) return invalid_argument(config_path.string() + ": expected a JSON object");
    KANANA_ASSIGN_OR_RETURN(names.bos, config_token(config, "bos_token", config_path.string()));
    KANANA_ASSIGN_OR_RETURN(names.eos, config_token(config, "eos_token", config_path.string()));
    KANANA_ASSIGN_OR_RETURN(names.pad, config_token(config, "pad_token", config_path.string()));
  }
  const auto with_config = [&](Status s) { return s.with_context(config_path.string()); };
  if (file.extension() == ".json") {
    KANANA_ASSIGN_OR_RETURN(auto t, load_hf_bpe_file(file));
    if (Status s = t->set_special_tokens(names); !s.is_ok()) return with_config(s);
    return std::shared_ptr<const Tokenizer>(std::move(t));
  }
  KANANA_ASSIGN_OR_RETURN(auto t, load_sentencepiece_file(file));
  if (Status s = t->set_special_tokens(names); !s.is_ok()) return with_config(s);
  return std::shared_ptr<const Tokenizer>(std::move(t));
}

}  // namespace kanana::tok
