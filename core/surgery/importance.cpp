// Importance score files (see importance.h).
#include "surgery/importance.h"

#include <cmath>

#include "surgery/shape.h"

namespace kanana::surgery {
namespace {

constexpr const char* kFormat = "kanana-importance";
constexpr int kVersion = 1;

Status check_vector(const std::vector<double>& v, size_t want, const std::string& origin, const std::string& field) {
  if (v.size() != want)
    return invalid_argument(origin + ": field '" + field + "' has " + std::to_string(v.size()) + " values, expected " +
                            std::to_string(want) + " for this model's config");
  for (double x : v)
    if (!std::isfinite(x)) return invalid_argument(origin + ": field '" + field + "' holds a value that is not finite");
  return Status::ok();
}

Result<std::vector<double>> read_vector(const Json& j, const std::string& origin, const std::string& field) {
  if (!j.is_array()) return invalid_argument(origin + ": field '" + field + "' must be an array of numbers");
  std::vector<double> v;
  v.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    if (!j[i].is_number())
      return invalid_argument(origin + ": field '" + field + "[" + std::to_string(i) + "]' must be a number");
    v.push_back(j[i].get<double>());
  }
  return v;
}

Result<std::vector<std::vector<double>>> read_matrix(const Json& j, const std::string& origin,
                                                     const std::string& field) {
  if (!j.is_array()) return invalid_argument(origin + ": field '" + field + "' must be an array of arrays");
  std::vector<std::vector<double>> m;
  for (size_t i = 0; i < j.size(); ++i) {
    KANANA_ASSIGN_OR_RETURN(auto row, read_vector(j[i], origin, field + "[" + std::to_string(i) + "]"));
    m.push_back(std::move(row));
  }
  return m;
}

}  // namespace

const char* aggregation_name(Aggregation a) {
  switch (a) {
    case Aggregation::kMean: return "mean";
    case Aggregation::kL2: return "l2";
    case Aggregation::kSum: return "sum";
    case Aggregation::kMax: return "max";
  }
  return "l2";
}

Result<Aggregation> parse_aggregation(const std::string& name) {
  if (name == "mean") return Aggregation::kMean;
  if (name == "l2" || name == "l2-norm" || name == "norm") return Aggregation::kL2;
  if (name == "sum") return Aggregation::kSum;
  if (name == "max") return Aggregation::kMax;
  return invalid_argument("unknown aggregation '" + name + "' (expected mean, l2, sum or max)");
}

std::vector<double> ImportanceScores::layer_scores(bool by_loss) const {
  if (by_loss && !layer_loss.empty()) {
    std::vector<double> out;
    for (double l : layer_loss) out.push_back(l - base_loss);
    return out;
  }
  return block_importance;
}

Status ImportanceScores::validate(const std::string& origin) const {
  const auto& c = config;
  const size_t layers = size_t(c.num_hidden_layers);
  if (heads.size() != layers)
    return invalid_argument(origin + ": field 'heads' has " + std::to_string(heads.size()) + " layers, expected " +
                            std::to_string(layers));
  if (neurons.size() != layers)
    return invalid_argument(origin + ": field 'neurons' has " + std::to_string(neurons.size()) + " layers, expected " +
                            std::to_string(layers));
  for (size_t l = 0; l < layers; ++l) {
    KANANA_RETURN_IF_ERROR(check_vector(heads[l], size_t(c.num_attention_heads), origin, "heads[" + std::to_string(l) + "]"));
    KANANA_RETURN_IF_ERROR(check_vector(neurons[l], size_t(c.intermediate_size), origin, "neurons[" + std::to_string(l) + "]"));
  }
  KANANA_RETURN_IF_ERROR(check_vector(channels, size_t(c.hidden_size), origin, "channels"));
  KANANA_RETURN_IF_ERROR(check_vector(block_importance, layers, origin, "block_importance"));
  if (!layer_loss.empty()) KANANA_RETURN_IF_ERROR(check_vector(layer_loss, layers, origin, "layer_loss"));
  return Status::ok();
}

Json importance_to_json(const ImportanceScores& s) {
  Json j;
  j["format"] = kFormat;
  j["version"] = kVersion;
  j["model"] = {{"structure", s.model.structure}, {"weights", s.model.weights}};
  j["config"] = model::llama_config_to_json(s.config);
  j["options"] = {{"batch", aggregation_name(s.options.batch)},
                  {"sequence", aggregation_name(s.options.sequence)},
                  {"sum_channels_over_layers", s.options.sum_channels_over_layers},
                  {"layer_loss", s.options.layer_loss},
                  {"batch_size", s.options.batch_size}};
  j["calibration"] = s.calibration;
  j["samples"] = s.samples;
  j["tokens"] = s.tokens;
  j["base_loss"] = s.base_loss;
  j["heads"] = s.heads;
  j["neurons"] = s.neurons;
  j["channels"] = s.channels;
  j["block_importance"] = s.block_importance;
  j["layer_loss"] = s.layer_loss;
  return j;
}

Result<ImportanceScores> importance_from_json(const Json& j, const std::string& origin) {
  if (!j.is_object()) return invalid_argument(origin + ": not a JSON object");
  JsonReader r(j, origin);
  KANANA_ASSIGN_OR_RETURN(std::string format, r.get_string("format"));
  if (format != kFormat) return r.field_error("format", "is '" + format + "', not '" + kFormat + "'");
  KANANA_ASSIGN_OR_RETURN(int64_t version, r.get_int("version"));
  if (version != kVersion)
    return r.field_error("version", "is " + std::to_string(version) + "; this build reads version " +
                                        std::to_string(kVersion));
  ImportanceScores s;
  KANANA_ASSIGN_OR_RETURN(JsonReader m, r.child("model"));
  KANANA_ASSIGN_OR_RETURN(s.model.structure, m.get_string("structure"));
  KANANA_ASSIGN_OR_RETURN(s.model.weights, m.get_string("weights"));
  if (!r.has("config")) return r.field_error("config", "is missing");
  KANANA_ASSIGN_OR_RETURN(s.config, model::parse_llama_config(j["config"], origin + " (field 'config')"));
  if (r.has("options")) {
    KANANA_ASSIGN_OR_RETURN(JsonReader o, r.child("options"));
    Status err;
    auto batch = parse_aggregation(o.get_string_or("batch", "l2", &err));
    auto seq = parse_aggregation(o.get_string_or("sequence", "mean", &err));
    KANANA_RETURN_IF_ERROR(err);
    if (!batch) return o.field_error("batch", batch.status().message());
    if (!seq) return o.field_error("sequence", seq.status().message());
    s.options.batch = *batch;
    s.options.sequence = *seq;
    s.options.sum_channels_over_layers = o.get_bool_or("sum_channels_over_layers", true, &err);
    s.options.layer_loss = o.get_bool_or("layer_loss", true, &err);
    s.options.batch_size = o.get_int_or("batch_size", 8, &err);
    KANANA_RETURN_IF_ERROR(err);
  }
  Status err;
  s.calibration = r.get_string_or("calibration", "", &err);
  s.samples = r.get_int_or("samples", 0, &err);
  s.tokens = r.get_int_or("tokens", 0, &err);
  s.base_loss = r.get_number_or("base_loss", 0.0, &err);
  KANANA_RETURN_IF_ERROR(err);
  for (const char* key : {"heads", "neurons", "channels", "block_importance"})
    if (!r.has(key)) return r.field_error(key, "is missing");
  KANANA_ASSIGN_OR_RETURN(s.heads, read_matrix(j["heads"], origin, "heads"));
  KANANA_ASSIGN_OR_RETURN(s.neurons, read_matrix(j["neurons"], origin, "neurons"));
  KANANA_ASSIGN_OR_RETURN(s.channels, read_vector(j["channels"], origin, "channels"));
  KANANA_ASSIGN_OR_RETURN(s.block_importance, read_vector(j["block_importance"], origin, "block_importance"));
  if (r.has("layer_loss")) {
    KANANA_ASSIGN_OR_RETURN(s.layer_loss, read_vector(j["layer_loss"], origin, "layer_loss"));
  }
  KANANA_RETURN_IF_ERROR(s.validate(origin));
  return s;
}

Status write_importance(const std::filesystem::path& file, const ImportanceScores& scores) {
  KANANA_RETURN_IF_ERROR(scores.validate(file.string()));
  std::error_code ec;
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
  return write_json_file(file, importance_to_json(scores), /*indent=*/-1);
}

Result<ImportanceScores> read_importance(const std::filesystem::path& file) {
  KANANA_ASSIGN_OR_RETURN(Json j, read_json_file(file));
  return importance_from_json(j, file.string());
}

Status check_importance_matches(const ImportanceScores& s, const ModelFingerprint& fp, const model::LlamaConfig& config,
                                const std::string& what) {
  if (s.model.structure != fp.structure)
    return invalid_argument(what + " was computed on another model (" + describe_shape(s.config) +
                            "; structure " + s.model.structure + ") than this one (" + describe_shape(config) +
                            "; structure " + fp.structure + "); recompute the importance on this model");
  if (s.model.weights != fp.weights)
    return invalid_argument(what + " was computed on a model of the same shape but with different weights (weights " +
                            s.model.weights + ", this model " + fp.weights +
                            "); recompute the importance on this model");
  return Status::ok();
}

}  // namespace kanana::surgery
