// Filter recipes and their evaluation (see filters.h).
#include "data/filters.h"

#include "base/install_paths.h"

#include <algorithm>
#include <cstdlib>
#include <set>

namespace kanana::data {
namespace fs = std::filesystem;

bool FilterRecipe::needs_language_id() const {
  return std::any_of(rules.begin(), rules.end(), [](const FilterRule& r) {
    return r.enabled && (r.kind == FilterRule::Kind::kLanguage || r.signal == "lang_score");
  });
}

namespace {

Result<std::vector<std::string>> string_list(const JsonReader& r, const std::string& key) {
  const Json& v = r.json()[key];
  if (!v.is_array()) return r.field_error(key, "must be a list of language codes like [\"ko\", \"en\"]");
  std::vector<std::string> out;
  for (const auto& e : v) {
    if (!e.is_string()) return r.field_error(key, "must contain only strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

Result<FilterRule> parse_rule(const JsonReader& r) {
  FilterRule rule;
  KANANA_RETURN_IF_ERROR(r.check_no_unknown({"name", "type", "signal", "min", "max", "keep", "min_score", "when",
                                             "enabled", "description"}));
  KANANA_ASSIGN_OR_RETURN(rule.name, r.get_string("name"));
  Status err;
  const std::string type = r.get_string_or("type", "threshold", &err);
  KANANA_RETURN_IF_ERROR(err);
  rule.enabled = r.get_bool_or("enabled", true, &err);
  KANANA_RETURN_IF_ERROR(err);
  rule.description = r.get_string_or("description", "", &err);
  KANANA_RETURN_IF_ERROR(err);
  if (type == "language") {
    rule.kind = FilterRule::Kind::kLanguage;
    if (!r.has("keep")) return r.field_error("keep", "is required for a language rule");
    KANANA_ASSIGN_OR_RETURN(rule.keep_langs, string_list(r, "keep"));
    rule.min_score = r.get_number_or("min_score", 0.0, &err);
    KANANA_RETURN_IF_ERROR(err);
    if (rule.min_score < 0 || rule.min_score > 1) return r.field_error("min_score", "must be between 0 and 1");
  } else if (type == "threshold") {
    KANANA_ASSIGN_OR_RETURN(rule.signal, r.get_string("signal"));
    if (!signal_value(DocSignals{}, rule.signal)) {
      std::string known;
      for (const auto& f : signal_fields()) known += std::string(known.empty() ? "" : ", ") + f.name;
      return r.field_error("signal", "is not a known signal: '" + rule.signal + "' (known: " + known + ")");
    }
    if (r.has("min")) { KANANA_ASSIGN_OR_RETURN(double v, r.get_number("min")); rule.min = v; }
    if (r.has("max")) { KANANA_ASSIGN_OR_RETURN(double v, r.get_number("max")); rule.max = v; }
    if (!rule.min && !rule.max) return r.field_error("min", "or 'max' is required for a threshold rule");
    if (rule.min && rule.max && *rule.min > *rule.max) return r.field_error("min", "is greater than 'max'");
  } else {
    return r.field_error("type", "must be \"threshold\" or \"language\", got \"" + type + "\"");
  }
  if (r.has("when")) {
    KANANA_ASSIGN_OR_RETURN(auto w, r.child("when"));
    KANANA_RETURN_IF_ERROR(w.check_no_unknown({"lang", "signal", "min", "max"}));
    if (w.has("lang")) { KANANA_ASSIGN_OR_RETURN(rule.when_langs, string_list(w, "lang")); }
    if (w.has("signal")) {
      KANANA_ASSIGN_OR_RETURN(rule.when_signal, w.get_string("signal"));
      if (!signal_value(DocSignals{}, rule.when_signal))
        return w.field_error("signal", "is not a known signal: '" + rule.when_signal + "'");
      if (w.has("min")) { KANANA_ASSIGN_OR_RETURN(double v, w.get_number("min")); rule.when_min = v; }
      if (w.has("max")) { KANANA_ASSIGN_OR_RETURN(double v, w.get_number("max")); rule.when_max = v; }
    }
  }
  return rule;
}

}  // namespace

Result<FilterRecipe> parse_filter_recipe(const Json& json, const std::string& origin) {
  if (!json.is_object()) return invalid_argument(origin + ": a filter recipe must be a JSON object");
  JsonReader root(json, origin);
  KANANA_RETURN_IF_ERROR(root.check_no_unknown({"name", "description", "rules"}));
  FilterRecipe recipe;
  Status err;
  recipe.name = root.get_string_or("name", "unnamed", &err);
  KANANA_RETURN_IF_ERROR(err);
  if (!json.contains("rules") || !json["rules"].is_array()) return root.field_error("rules", "must be a list of rules");
  std::set<std::string> names;
  for (size_t i = 0; i < json["rules"].size(); ++i) {
    const Json& item = json["rules"][i];
    const std::string path = "rules[" + std::to_string(i) + "]";
    if (!item.is_object()) return invalid_argument(origin + ": field '" + path + "' must be an object");
    JsonReader r(item, origin, path);
    KANANA_ASSIGN_OR_RETURN(auto rule, parse_rule(r));
    if (!names.insert(rule.name).second) return r.field_error("name", "repeats the rule name '" + rule.name + "'");
    recipe.rules.push_back(std::move(rule));
  }
  return recipe;
}

Result<FilterRecipe> load_filter_recipe(const fs::path& path) {
  KANANA_ASSIGN_OR_RETURN(auto json, read_json_file(path));
  return json_guard(path.string(), [&] { return parse_filter_recipe(json, path.string()); });
}

fs::path default_recipe_path() {
  const std::string_view rel = "recipes/filters/kanana-web.json";
  if (auto found = find_resource(rel)) return *found;
  return fs::path("resources") / rel;  // what the caller's "not found" error then names
}

std::string effective_language(const DocSignals& s, const std::string& doc_lang) {
  if (!s.lang.empty()) return s.lang;
  if (!doc_lang.empty()) return doc_lang;
  if (s.hangul_ratio >= 0.2) return "ko";
  if (s.latin_ratio >= 0.5) return "en";
  return "";
}

FilterDecision apply_filters(const FilterRecipe& recipe, const DocSignals& s, const std::string& doc_lang) {
  FilterDecision d;
  d.lang = effective_language(s, doc_lang);
  for (size_t i = 0; i < recipe.rules.size(); ++i) {
    const FilterRule& r = recipe.rules[i];
    if (!r.enabled) continue;
    if (!r.when_langs.empty() && std::find(r.when_langs.begin(), r.when_langs.end(), d.lang) == r.when_langs.end()) continue;
    if (!r.when_signal.empty()) {
      const double w = *signal_value(s, r.when_signal);
      if ((r.when_min && w < *r.when_min) || (r.when_max && w > *r.when_max)) continue;
    }
    bool pass = true;
    if (r.kind == FilterRule::Kind::kLanguage) {
      const bool listed = std::find(r.keep_langs.begin(), r.keep_langs.end(), d.lang) != r.keep_langs.end();
      // Without a model, a document's own lang field is trusted (score counts as 1).
      const double score = s.lang.empty() ? (d.lang.empty() ? 0.0 : 1.0) : s.lang_score;
      pass = listed && score >= r.min_score;
    } else {
      const double v = *signal_value(s, r.signal);
      pass = !((r.min && v < *r.min) || (r.max && v > *r.max));
    }
    if (!pass) {
      if (d.keep) d.first_rule = static_cast<int>(i);
      d.keep = false;
      d.failed_rules.push_back(static_cast<int>(i));
    }
  }
  return d;
}

}  // namespace kanana::data
