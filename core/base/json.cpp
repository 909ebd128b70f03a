#include "base/json.h"

#include <cmath>
#include <limits>
#include <set>

#include "base/files.h"

namespace kanana {

std::string json_exception_message(const std::exception& e) {
  std::string what = e.what();
  if (what.rfind("[json.exception.", 0) == 0) {
    if (auto pos = what.find("] "); pos != std::string::npos) what = what.substr(pos + 2);
  }
  return what;
}

Status check_json_depth(std::string_view text, const std::string& origin, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth)
        return invalid_argument(origin + ": JSON nested deeper than " + std::to_string(max_depth) +
                                " levels (at byte " + std::to_string(i) + ")");
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return Status::ok();
}

Result<Json> parse_json(std::string_view text, const std::string& origin) {
  KANANA_RETURN_IF_ERROR(check_json_depth(text, origin));
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    // nlohmann reports a byte offset; turn it into line:column for humans.
    size_t line = 1, col = 1;
    const size_t end = std::min<size_t>(e.byte > 0 ? e.byte - 1 : 0, text.size());
    for (size_t i = 0; i < end; ++i) {
      if (text[i] == '\n') { ++line; col = 1; } else { ++col; }
    }
    std::string what = e.what();
    if (auto pos = what.find("parse error"); pos != std::string::npos) what = what.substr(pos);
    return invalid_argument(origin + ":" + std::to_string(line) + ":" + std::to_string(col) +
                            ": invalid JSON (" + what + ")");
  } catch (const Json::exception& e) {
    // out_of_range.406: a number beyond double ("1e999").
    return invalid_argument(origin + ": invalid JSON (" + json_exception_message(e) + ")");
  }
}

Json parse_json_or_discarded(std::string_view text) {
  if (!check_json_depth(text, std::string()).is_ok()) return Json(Json::value_t::discarded);
  return Json::parse(text, nullptr, /*allow_exceptions=*/false);
}

Result<Json> read_json_file(const std::filesystem::path& path) {
  KANANA_ASSIGN_OR_RETURN(std::string text, read_file(path, kMaxJsonFileBytes));
  return parse_json(text, path.string());
}

Status write_json_file(const std::filesystem::path& path, const Json& value, int indent) {
  return write_file_atomic(path, value.dump(indent) + "\n");
}

JsonReader::JsonReader(const Json& object, std::string origin, std::string path)
    : object_(&object), origin_(std::move(origin)), path_(std::move(path)) {}

std::string JsonReader::field_path(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

Status JsonReader::field_error(const std::string& key, const std::string& what) const {
  return invalid_argument(origin_ + ": field '" + field_path(key) + "' " + what);
}

bool JsonReader::has(const std::string& key) const {
  return object_->is_object() && object_->contains(key) && !(*object_)[key].is_null();
}

Result<std::string> JsonReader::get_string(const std::string& key) const {
  if (!has(key)) return field_error(key, "is missing");
  const Json& v = (*object_)[key];
  if (!v.is_string()) return field_error(key, "must be a string, got " + v.dump());
  return v.get<std::string>();
}

Result<int64_t> JsonReader::get_int(const std::string& key) const {
  if (!has(key)) return field_error(key, "is missing");
  const Json& v = (*object_)[key];
  // A value above int64's range is an error, never a wrapped number (2^64 - 1 read as -1), and
  // a float is cast only when it is whole and inside the range (casting 1e300 is undefined).
  if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
    return field_error(key, "is out of range (at most 2^63 - 1), got " + v.dump());
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    constexpr double kTwo63 = 9223372036854775808.0;
    if (std::isfinite(d) && std::trunc(d) == d) {
      if (d < -kTwo63 || d >= kTwo63) return field_error(key, "is out of range (at most 2^63 - 1), got " + v.dump());
      return static_cast<int64_t>(d);
    }
  }
  return field_error(key, "must be an integer, got " + v.dump());
}

Result<double> JsonReader::get_number(const std::string& key) const {
  if (!has(key)) return field_error(key, "is missing");
  const Json& v = (*object_)[key];
  if (!v.is_number()) return field_error(key, "must be a number, got " + v.dump());
  return v.get<double>();
}

Result<bool> JsonReader::get_bool(const std::string& key) const {
  if (!has(key)) return field_error(key, "is missing");
  const Json& v = (*object_)[key];
  if (!v.is_boolean()) return field_error(key, "must be true or false, got " + v.dump());
  return v.get<bool>();
}

std::string JsonReader::get_string_or(const std::string& key, const std::string& fallback, Status* error) const {
  if (!has(key)) return fallback;
  auto r = get_string(key);
  if (!r.is_ok()) { if (error && error->is_ok()) *error = r.status(); return fallback; }
  return *r;
}

int64_t JsonReader::get_int_or(const std::string& key, int64_t fallback, Status* error) const {
  if (!has(key)) return fallback;
  auto r = get_int(key);
  if (!r.is_ok()) { if (error && error->is_ok()) *error = r.status(); return fallback; }
  return *r;
}

double JsonReader::get_number_or(const std::string& key, double fallback, Status* error) const {
  if (!has(key)) return fallback;
  auto r = get_number(key);
  if (!r.is_ok()) { if (error && error->is_ok()) *error = r.status(); return fallback; }
  return *r;
}

bool JsonReader::get_bool_or(const std::string& key, bool fallback, Status* error) const {
  if (!has(key)) return fallback;
  auto r = get_bool(key);
  if (!r.is_ok()) { if (error && error->is_ok()) *error = r.status(); return fallback; }
  return *r;
}

Result<JsonReader> JsonReader::child(const std::string& key) const {
  if (!has(key)) return field_error(key, "is missing");
  const Json& v = (*object_)[key];
  if (!v.is_object()) return field_error(key, "must be an object, got " + v.dump());
  return JsonReader(v, origin_, field_path(key));
}

Status JsonReader::check_no_unknown(std::initializer_list<const char*> known) const {
  if (!object_->is_object()) return invalid_argument(origin_ + ": '" + path_ + "' must be an object");
  std::set<std::string> names(known.begin(), known.end());
  for (const auto& [key, value] : object_->items()) {
    if (!names.count(key)) return field_error(key, "is not a known field");
  }
  return Status::ok();
}

}  // namespace kanana
