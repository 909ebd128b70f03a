// Heuristic document filters driven by a JSON recipe: an ordered list of rules, each a
// threshold on one named signal (signals.h) or a language rule, optionally limited to some
// languages or to documents where another signal is in range (how the Korean variants are
// written: e.g. word-length rules only for English, Hangul-ratio rules only for Korean).
// Every removed document records the FIRST rule that removed it, and all failing rules.
//
// Recipe shape (resources/recipes/filters/kanana-web.json is the default):
//   {"name": "...", "rules": [
//     {"name": "lang", "type": "language", "keep": ["ko", "en"], "min_score": 0.65},
//     {"name": "gopher_min_words", "signal": "words", "min": 50, "max": 100000},
//     {"name": "gopher_mean_word_length", "signal": "mean_word_length", "min": 3, "max": 10,
//      "when": {"lang": ["en"]}},
//     {"name": "ko_hangul_ratio", "signal": "hangul_ratio", "min": 0.3, "when": {"lang": ["ko"]},
//      "enabled": true}]}
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "data/signals.h"

namespace kanana::data {

struct FilterRule {
  std::string name;
  enum class Kind { kThreshold, kLanguage } kind = Kind::kThreshold;
  std::string signal;                 // threshold rules
  std::optional<double> min, max;     // keep when min <= value <= max
  std::vector<std::string> keep_langs;  // language rules
  double min_score = 0;               // language rules
  std::vector<std::string> when_langs;  // empty = every language
  std::string when_signal;            // optional guard: apply only if when_min <= signal <= when_max
  std::optional<double> when_min, when_max;
  bool enabled = true;
  std::string description;
};

struct FilterRecipe {
  std::string name;
  std::vector<FilterRule> rules;
  bool needs_language_id() const;
};

Result<FilterRecipe> parse_filter_recipe(const Json& json, const std::string& origin);
Result<FilterRecipe> load_filter_recipe(const std::filesystem::path& path);
// The default recipe (resources/recipes/filters/kanana-web.json, found by find_resource).
std::filesystem::path default_recipe_path();

struct FilterDecision {
  bool keep = true;
  int first_rule = -1;              // index into recipe.rules of the first failing rule
  std::vector<int> failed_rules;    // every failing rule, in recipe order
  std::string lang;                 // the language the rules saw
};

// The language rules see: the fastText prediction if there is one, else the document's own
// lang field, else a guess from scripts (Hangul ≥ 0.2 → "ko", Latin ≥ 0.5 → "en").
std::string effective_language(const DocSignals& s, const std::string& doc_lang);

FilterDecision apply_filters(const FilterRecipe& recipe, const DocSignals& s, const std::string& doc_lang);

}  // namespace kanana::data
