// Stage mixture recipes: parsing the "stages" array with errors that name the field, token
// counts with K/M/B/T suffixes, and the plan `kanana mixture plan` prints (what each stage
// draws from each source and how many epochs over it that is).
#include <cmath>
#include <map>
#include <set>

#include "shards/mixture.h"

namespace kanana::shards {

namespace fs = std::filesystem;

Result<uint64_t> parse_token_count(const std::string& text) {
  const std::string bad = "token count '" + text + "' must be a positive integer or a number with K, M, B or T (\"500K\", \"2.5B\")";
  if (text.empty()) return invalid_argument(bad);
  double scale = 1;
  std::string digits = text;
  switch (std::toupper(static_cast<unsigned char>(text.back()))) {
    case 'K': scale = 1e3; break;
    case 'M': scale = 1e6; break;
    case 'B': case 'G': scale = 1e9; break;
    case 'T': scale = 1e12; break;
    default: break;
  }
  if (scale != 1) digits.pop_back();
  if (digits.empty()) return invalid_argument(bad);
  for (char c : digits) {
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '.') return invalid_argument(bad);
  }
  try {
    size_t used = 0;
    const double v = std::stod(digits, &used);
    if (used != digits.size() || !(v > 0) || v * scale > 1.8e19) return invalid_argument(bad);
    return static_cast<uint64_t>(std::llround(v * scale));
  } catch (const std::exception&) {
    return invalid_argument(bad);
  }
}

Result<std::vector<StageSpec>> parse_stages(const Json& stages, const std::string& origin,
                                            const ParseStagesOptions& options) {
  if (!stages.is_array() || stages.empty())
    return invalid_argument(origin + ": field 'stages' must be a non-empty array of stages");
  std::vector<StageSpec> out;
  std::set<std::string> stage_names;
  for (size_t i = 0; i < stages.size(); ++i) {
    const std::string path = "stages[" + std::to_string(i) + "]";
    if (!stages[i].is_object()) return invalid_argument(origin + ": field '" + path + "' must be an object");
    JsonReader r(stages[i], origin, path);
    if (options.reject_unknown_stage_keys) {
      std::set<std::string> known = {"name", "token_budget", "sources"};
      known.insert(options.extra_stage_keys.begin(), options.extra_stage_keys.end());
      for (const auto& [key, value] : stages[i].items()) {
        if (!known.count(key)) return r.field_error(key, "is not a known field");
      }
    }
    StageSpec stage;
    Status err;
    stage.name = r.get_string_or("name", "stage" + std::to_string(i + 1), &err);
    KANANA_RETURN_IF_ERROR(err);
    if (stage.name.empty()) return r.field_error("name", "must not be empty");
    if (!stage_names.insert(stage.name).second) return r.field_error("name", "repeats the stage name '" + stage.name + "'");
    if (!r.has("token_budget")) return r.field_error("token_budget", "is missing (tokens to train on in this stage)");
    const Json& budget = stages[i]["token_budget"];
    if (budget.is_number_integer()) {
      if (budget.get<int64_t>() <= 0) return r.field_error("token_budget", "must be > 0, got " + budget.dump());
      stage.token_budget = budget.get<uint64_t>();
    } else if (budget.is_string()) {
      auto parsed = parse_token_count(budget.get<std::string>());
      if (!parsed.is_ok()) return r.field_error("token_budget", parsed.status().message());
      stage.token_budget = *parsed;
    } else {
      return r.field_error("token_budget", "must be a positive integer or a string like \"2M\", got " + budget.dump());
    }
    if (!r.has("sources") || !stages[i]["sources"].is_array() || stages[i]["sources"].empty())
      return r.field_error("sources", "must be a non-empty array of {name, path, weight}");
    const Json& sources = stages[i]["sources"];
    std::set<std::string> names;
    for (size_t j = 0; j < sources.size(); ++j) {
      const std::string spath = path + ".sources[" + std::to_string(j) + "]";
      if (!sources[j].is_object()) return invalid_argument(origin + ": field '" + spath + "' must be an object");
      JsonReader s(sources[j], origin, spath);
      KANANA_RETURN_IF_ERROR(s.check_no_unknown({"name", "path", "weight"}));
      SourceSpec src;
      KANANA_ASSIGN_OR_RETURN(src.name, s.get_string("name"));
      if (src.name.empty()) return s.field_error("name", "must not be empty");
      if (!names.insert(src.name).second) return s.field_error("name", "repeats the source '" + src.name + "' in this stage");
      KANANA_ASSIGN_OR_RETURN(std::string p, s.get_string("path"));
      if (p.empty()) return s.field_error("path", "must not be empty");
      src.path = fs::path(p).is_absolute() || options.base_dir.empty() ? fs::path(p) : options.base_dir / p;
      src.path = src.path.lexically_normal();
      KANANA_ASSIGN_OR_RETURN(src.weight, s.get_number("weight"));
      if (!std::isfinite(src.weight) || !(src.weight > 0))
        return s.field_error("weight", "must be > 0, got " + sources[j]["weight"].dump());
      stage.sources.push_back(std::move(src));
    }
    out.push_back(std::move(stage));
  }
  return out;
}

Result<std::vector<StageSpec>> read_stages(const fs::path& recipe_file) {
  KANANA_ASSIGN_OR_RETURN(Json json, read_json_file(recipe_file));
  const std::string origin = recipe_file.string();
  if (!json.is_object() || !json.contains("stages"))
    return invalid_argument(origin + ": field 'stages' is missing");
  ParseStagesOptions options;
  options.base_dir = recipe_file.parent_path();
  return parse_stages(json["stages"], origin, options);
}

Result<std::vector<StagePlan>> plan_mixture(const std::vector<StageSpec>& stages, const PlanOptions& options) {
  std::map<fs::path, Manifest> manifests;
  std::string fingerprint, fingerprint_source;
  std::map<std::string, double> cumulative;
  std::vector<StagePlan> plans;
  const uint64_t per_step = options.seq_len > 0 && options.global_batch > 0
                                ? uint64_t(options.seq_len) * uint64_t(options.global_batch) : 0;
  for (const auto& stage : stages) {
    StagePlan plan;
    plan.name = stage.name;
    plan.token_budget = stage.token_budget;
    plan.tokens = per_step ? (stage.token_budget + per_step - 1) / per_step * per_step : stage.token_budget;
    double total_weight = 0;
    for (const auto& src : stage.sources) total_weight += src.weight;
    for (const auto& src : stage.sources) {
      auto it = manifests.find(src.path);
      if (it == manifests.end()) {
        auto m = read_manifest(src.path);
        if (!m.is_ok()) return m.status().with_context("stage '" + stage.name + "', source '" + src.name + "'");
        it = manifests.emplace(src.path, std::move(m).value()).first;
      }
      const Manifest& m = it->second;
      if (fingerprint.empty()) {
        fingerprint = m.tokenizer_fingerprint;
        fingerprint_source = src.name + " (" + src.path.string() + ")";
      } else if (m.tokenizer_fingerprint != fingerprint) {
        return failed_precondition("sources were packed with different tokenizers: " + fingerprint_source +
                                   " has fingerprint " + fingerprint + ", " + src.name + " (" + src.path.string() +
                                   ") has " + m.tokenizer_fingerprint);
      }
      SourcePlan sp;
      sp.name = src.name;
      sp.path = src.path;
      sp.weight = src.weight;
      sp.share = src.weight / total_weight;
      sp.available_tokens = m.train_tokens;
      sp.tokens_to_draw = static_cast<uint64_t>(std::llround(sp.share * double(plan.tokens)));
      sp.epochs = m.train_tokens ? double(sp.tokens_to_draw) / double(m.train_tokens) : INFINITY;
      cumulative[src.name] += sp.epochs;
      sp.cumulative_epochs = cumulative[src.name];
      plan.sources.push_back(std::move(sp));
    }
    plans.push_back(std::move(plan));
  }
  return plans;
}

}  // namespace kanana::shards
