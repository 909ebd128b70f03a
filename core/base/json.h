// JSON for configs, recipes, manifests and events (nlohmann::json), with typed field
// readers whose errors name the file and the field path ("recipe.json: stages[0].tokens").
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace kanana {

using Json = nlohmann::json;

// Parse text; `origin` (a file name) goes into the error message with line and column.
Result<Json> parse_json(const std::string& text, const std::string& origin);
Result<Json> read_json_file(const std::filesystem::path& path);
// Pretty-printed, written atomically (temp file + rename).
Status write_json_file(const std::filesystem::path& path, const Json& value, int indent = 2);

// Reads fields of one JSON object and remembers where it came from, so every error says
// "<origin>: field '<path>.<key>' ...". Unknown keys can be rejected with check_no_unknown().
class JsonReader {
 public:
  JsonReader(const Json& object, std::string origin, std::string path = {});

  bool has(const std::string& key) const;
  Result<std::string> get_string(const std::string& key) const;
  Result<int64_t> get_int(const std::string& key) const;
  Result<double> get_number(const std::string& key) const;
  Result<bool> get_bool(const std::string& key) const;
  std::string get_string_or(const std::string& key, const std::string& fallback, Status* error) const;
  int64_t get_int_or(const std::string& key, int64_t fallback, Status* error) const;
  double get_number_or(const std::string& key, double fallback, Status* error) const;
  bool get_bool_or(const std::string& key, bool fallback, Status* error) const;
  Result<JsonReader> child(const std::string& key) const;
  // Error if the object has a key outside `known` (catches typos in recipes).
  Status check_no_unknown(std::initializer_list<const char*> known) const;

  const Json& json() const { return *object_; }
  std::string field_path(const std::string& key) const;
  Status field_error(const std::string& key, const std::string& what) const;

 private:
  const Json* object_;
  std::string origin_;
  std::string path_;
};

}  // namespace kanana
