// The JSON Schema subset validator (see json_schema.h).
#include "tools/json_schema.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "base/strings.h"

namespace kanana::tools {
namespace {

const std::set<std::string>& known_types() {
  static const std::set<std::string> t = {"object", "array", "string", "integer", "number", "boolean", "null"};
  return t;
}

bool is_integer_value(const Json& v) {
  if (v.is_number_integer() || v.is_number_unsigned()) return true;
  if (!v.is_number_float()) return false;
  const double d = v.get<double>();
  return std::isfinite(d) && std::floor(d) == d;  // 3.0 is an integer in JSON Schema
}

bool matches_type(const std::string& type, const Json& v) {
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "integer") return is_integer_value(v);
  if (type == "number") return v.is_number();
  if (type == "boolean") return v.is_boolean();
  if (type == "null") return v.is_null();
  return false;
}

std::string json_kind(const Json& v) {
  if (v.is_object()) return "an object";
  if (v.is_array()) return "an array";
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_null()) return "null";
  if (is_integer_value(v)) return "an integer";
  return "a number";
}

// Short rendering of a value for messages; long strings are cut.
std::string show(const Json& v) {
  std::string s = v.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

std::string format_number(double d) {
  Json j = d;
  if (std::floor(d) == d && std::fabs(d) < 1e15) j = static_cast<int64_t>(d);
  return j.dump();
}

void validate(const Json& schema, const Json& v, const std::string& path, std::vector<SchemaError>& out) {
  if (schema.is_boolean()) {
    if (!schema.get<bool>()) out.push_back({path, "is not allowed"});
    return;
  }
  if (!schema.is_object()) return;  // check_schema rejects these; nothing to check against

  if (schema.contains("type")) {
    const Json& t = schema["type"];
    std::vector<std::string> types;
    if (t.is_string()) types.push_back(t.get<std::string>());
    else if (t.is_array())
      for (const Json& e : t)
        if (e.is_string()) types.push_back(e.get<std::string>());
    bool ok = types.empty();
    for (const auto& type : types) ok = ok || matches_type(type, v);
    if (!ok) {
      std::string want;
      for (size_t i = 0; i < types.size(); ++i) want += (i ? (i + 1 == types.size() ? " or " : ", ") : "") + types[i];
      out.push_back({path, "must be " + want + " (got " + json_kind(v) + ")"});
      return;  // the other keywords would only repeat the type mismatch
    }
  }
  if (schema.contains("enum") && schema["enum"].is_array()) {
    const Json& e = schema["enum"];
    if (std::find(e.begin(), e.end(), v) == e.end()) {
      std::string options;
      for (size_t i = 0; i < e.size() && i < 20; ++i) options += (i ? ", " : "") + show(e[i]);
      if (e.size() > 20) options += ", ...";
      out.push_back({path, "must be one of " + options + " (got " + show(v) + ")"});
    }
  }
  if (schema.contains("const") && schema["const"] != v)
    out.push_back({path, "must be " + show(schema["const"]) + " (got " + show(v) + ")"});

  if (v.is_number()) {
    const double d = v.get<double>();
    if (schema.contains("minimum") && schema["minimum"].is_number() && d < schema["minimum"].get<double>())
      out.push_back({path, "must be >= " + format_number(schema["minimum"].get<double>()) + " (got " + show(v) + ")"});
    if (schema.contains("maximum") && schema["maximum"].is_number() && d > schema["maximum"].get<double>())
      out.push_back({path, "must be <= " + format_number(schema["maximum"].get<double>()) + " (got " + show(v) + ")"});
    if (schema.contains("exclusiveMinimum") && schema["exclusiveMinimum"].is_number() &&
        d <= schema["exclusiveMinimum"].get<double>())
      out.push_back({path, "must be > " + format_number(schema["exclusiveMinimum"].get<double>()) + " (got " + show(v) + ")"});
    if (schema.contains("exclusiveMaximum") && schema["exclusiveMaximum"].is_number() &&
        d >= schema["exclusiveMaximum"].get<double>())
      out.push_back({path, "must be < " + format_number(schema["exclusiveMaximum"].get<double>()) + " (got " + show(v) + ")"});
  }
  if (v.is_string()) {
    const auto n = static_cast<int64_t>(utf8_length(v.get_ref<const std::string&>()));
    if (schema.contains("minLength") && schema["minLength"].is_number_integer() && n < schema["minLength"].get<int64_t>())
      out.push_back({path, "must have at least " + std::to_string(schema["minLength"].get<int64_t>()) +
                               " characters (got " + std::to_string(n) + ")"});
    if (schema.contains("maxLength") && schema["maxLength"].is_number_integer() && n > schema["maxLength"].get<int64_t>())
      out.push_back({path, "must have at most " + std::to_string(schema["maxLength"].get<int64_t>()) +
                               " characters (got " + std::to_string(n) + ")"});
  }
  if (v.is_array()) {
    const auto n = static_cast<int64_t>(v.size());
    if (schema.contains("minItems") && schema["minItems"].is_number_integer() && n < schema["minItems"].get<int64_t>())
      out.push_back({path, "must have at least " + std::to_string(schema["minItems"].get<int64_t>()) +
                               " items (got " + std::to_string(n) + ")"});
    if (schema.contains("maxItems") && schema["maxItems"].is_number_integer() && n > schema["maxItems"].get<int64_t>())
      out.push_back({path, "must have at most " + std::to_string(schema["maxItems"].get<int64_t>()) +
                               " items (got " + std::to_string(n) + ")"});
    if (schema.contains("items"))
      for (size_t i = 0; i < v.size(); ++i) validate(schema["items"], v[i], path + "[" + std::to_string(i) + "]", out);
  }
  if (v.is_object()) {
    const Json empty = Json::object();
    const Json& props = schema.contains("properties") && schema["properties"].is_object() ? schema["properties"] : empty;
    if (schema.contains("required") && schema["required"].is_array()) {
      for (const Json& r : schema["required"])
        if (r.is_string() && !v.contains(r.get<std::string>())) out.push_back({path + "." + r.get<std::string>(), "is required"});
    }
    for (auto it = v.begin(); it != v.end(); ++it) {
      const std::string child = path + "." + it.key();
      if (props.contains(it.key())) {
        validate(props[it.key()], it.value(), child, out);
      } else if (schema.contains("additionalProperties")) {
        const Json& extra = schema["additionalProperties"];
        if (extra.is_boolean() && !extra.get<bool>()) {
          std::string known;
          for (auto p = props.begin(); p != props.end(); ++p) known += (known.empty() ? "" : ", ") + p.key();
          out.push_back({child, "is not a known argument" + (known.empty() ? std::string() : " (expected " + known + ")")});
        } else if (extra.is_object()) {
          validate(extra, it.value(), child, out);
        }
      }
    }
  }
}

Status check(const Json& s, const std::string& where) {
  if (s.is_boolean()) return Status::ok();
  if (!s.is_object()) return invalid_argument(where + ": a schema must be an object or a boolean");
  static const std::set<std::string> known = {"type", "properties", "required", "additionalProperties", "enum", "const",
                                              "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength",
                                              "maxLength", "items", "minItems", "maxItems", "title", "description",
                                              "default", "examples", "$schema"};
  for (auto it = s.begin(); it != s.end(); ++it)
    if (!known.count(it.key()))
      return invalid_argument(where + ": unknown or unsupported keyword '" + it.key() + "'");
  if (s.contains("type")) {
    const Json& t = s["type"];
    std::vector<Json> types = t.is_array() ? std::vector<Json>(t.begin(), t.end()) : std::vector<Json>{t};
    if (types.empty()) return invalid_argument(where + ".type: must not be an empty list");
    for (const Json& e : types)
      if (!e.is_string() || !known_types().count(e.get<std::string>()))
        return invalid_argument(where + ".type: " + show(e) +
                                " is not one of object, array, string, integer, number, boolean, null");
  }
  if (s.contains("properties")) {
    if (!s["properties"].is_object()) return invalid_argument(where + ".properties: must be an object");
    for (auto it = s["properties"].begin(); it != s["properties"].end(); ++it)
      KANANA_RETURN_IF_ERROR(check(it.value(), where + ".properties." + it.key()));
  }
  if (s.contains("required")) {
    if (!s["required"].is_array()) return invalid_argument(where + ".required: must be an array of names");
    for (const Json& r : s["required"]) {
      if (!r.is_string()) return invalid_argument(where + ".required: must be an array of names");
      if (s.contains("properties") && !s["properties"].contains(r.get<std::string>()))
        return invalid_argument(where + ".required: '" + r.get<std::string>() + "' is not in properties");
    }
  }
  if (s.contains("additionalProperties") && !s["additionalProperties"].is_boolean())
    KANANA_RETURN_IF_ERROR(check(s["additionalProperties"], where + ".additionalProperties"));
  if (s.contains("items")) KANANA_RETURN_IF_ERROR(check(s["items"], where + ".items"));
  if (s.contains("enum") && (!s["enum"].is_array() || s["enum"].empty()))
    return invalid_argument(where + ".enum: must be a non-empty array");
  for (const char* k : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
    if (s.contains(k) && !s[k].is_number()) return invalid_argument(where + "." + k + ": must be a number");
  for (const char* k : {"minLength", "maxLength", "minItems", "maxItems"})
    if (s.contains(k) && (!s[k].is_number_integer() || s[k].get<int64_t>() < 0))
      return invalid_argument(where + "." + k + ": must be a non-negative integer");
  return Status::ok();
}

}  // namespace

std::vector<SchemaError> validate_json(const Json& schema, const Json& value, const std::string& root) {
  std::vector<SchemaError> out;
  validate(schema, value, root, out);
  return out;
}

Status validate_arguments(const Json& schema, const Json& value, const std::string& root) {
  const auto errors = validate_json(schema, value, root);
  if (errors.empty()) return Status::ok();
  std::string msg;
  for (const auto& e : errors) msg += (msg.empty() ? "" : "; ") + e.to_string();
  return invalid_argument(msg);
}

Status check_schema(const Json& schema, const std::string& where) { return check(schema, where); }

}  // namespace kanana::tools
