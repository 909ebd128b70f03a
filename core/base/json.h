// JSON for configs, recipes, manifests and events (nlohmann::json), with typed field
// readers whose errors name the file and the field path ("recipe.json: stages[0].tokens").
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace kanana {

using Json = nlohmann::json;

// The one way JSON from a user or a file enters the program. Parse text; `origin` (a file
// name) goes into the error message with line and column. Every failure is an error value,
// never an exception: syntax, numbers out of double's range ("1e999"), and nesting deeper than
// kMaxJsonDepth (a 70,000-deep array parses but overflows the stack when dumped or compared).
inline constexpr int kMaxJsonDepth = 512;
inline constexpr uint64_t kMaxJsonFileBytes = uint64_t{512} << 20;
Result<Json> parse_json(std::string_view text, const std::string& origin);
// For callers that treat any bad value alike (a skipped line, a fallback): the parsed value,
// or a discarded one (is_discarded()) on a syntax error, an out-of-range number or nesting
// deeper than kMaxJsonDepth. Never throws.
Json parse_json_or_discarded(std::string_view text);
// A regular file of at most kMaxJsonFileBytes (no FIFO, device or directory), parsed as above.
Result<Json> read_json_file(const std::filesystem::path& path);
// Errors if `text` nests arrays/objects deeper than `max_depth` (strings are skipped).
Status check_json_depth(std::string_view text, const std::string& origin, int max_depth = kMaxJsonDepth);
// nlohmann's message without its "[json.exception.type_error.302] " prefix.
std::string json_exception_message(const std::exception& e);

// Runs `fn` (which returns a Status or a Result) and turns a nlohmann exception escaping it (a
// field read with get<T>() or value() that has another type, at() of a missing key) into an
// invalid-argument error naming `origin`. Loaders of user files wrap their field walk in it.
template <typename F>
auto json_guard(const std::string& origin, F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const nlohmann::json::exception& e) {
    return invalid_argument(origin + ": " + json_exception_message(e));
  }
}
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
