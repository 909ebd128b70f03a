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

Result<fs::path> model_tokenizer_path(const fs::path& model_dir) {
  std::error_code ec;
  if (!fs::exists(model_dir, ec)) {
    return not_found(model_dir.string() + ": the model folder is missing (deleted by hand, or by its run's "
                                          "checkpoint keep_last)");
  }
  if (fs::is_regular_file(model_dir, ec)) return model_dir;  // a tokenizer file given directly
  if (fs::is_regular_file(model_dir / "tokenizer.json", ec) || fs::is_regular_file(model_dir / "tokenizer.model", ec))
    return model_dir;
  const fs::path run_copy = model_dir.parent_path().parent_path() / "tokenizer";
  if (model_dir.parent_path().filename() == "checkpoints" && find_tokenizer_file(run_copy).is_ok()) return run_copy;
  return not_found(model_dir.string() + ": no tokenizer.json or tokenizer.model in the model folder (nor in " +
                   run_copy.string() + "); give one with --tokenizer");
}

Status copy_tokenizer_files(const fs::path& from, const fs::path& to_dir) {
  KANANA_ASSIGN_OR_RETURN(const fs::path file, find_tokenizer_file(from));
  std::error_code ec;
  fs::create_directories(to_dir, ec);
  if (ec) return invalid_argument(to_dir.string() + ": cannot create the folder: " + ec.message());
  const auto copy = [&](const fs::path& src, const fs::path& dst) -> Status {
    if (fs::exists(dst, ec) && fs::equivalent(src, dst, ec)) return Status::ok();
    fs::copy_file(src, dst, fs::copy_options::overwrite_existing, ec);
    if (ec) return invalid_argument("copying " + src.string() + " to " + dst.string() + ": " + ec.message());
    return Status::ok();
  };
  KANANA_RETURN_IF_ERROR(copy(file, to_dir / (file.extension() == ".json" ? "tokenizer.json" : "tokenizer.model")));
  for (const char* sidecar : {"tokenizer_config.json", "special_tokens_map.json"}) {
    const fs::path p = file.parent_path() / sidecar;
    if (fs::is_regular_file(p, ec)) KANANA_RETURN_IF_ERROR(copy(p, to_dir / sidecar));
  }
  return Status::ok();
}

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
