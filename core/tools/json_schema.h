// JSON Schema validation for the subset tool declarations use (OpenAI function "parameters"):
//   type (string or list of: object, array, string, integer, number, boolean, null),
//   properties, required, additionalProperties (bool or schema), enum, const,
//   minimum / maximum / exclusiveMinimum / exclusiveMaximum (numbers),
//   minLength / maxLength (Unicode code points), items (one schema), minItems / maxItems,
//   and the annotations title, description, default, examples (ignored).
// Any other keyword is rejected by check_schema(), so a tool author never believes something
// is validated when it is not. Errors name the argument path: "arguments.items[2].qty".
#pragma once

#include <string>
#include <vector>

#include "base/json.h"
#include "base/status.h"

namespace kanana::tools {

struct SchemaError {
  std::string path;     // "arguments.unit", "arguments.values[3]"
  std::string message;  // "must be one of \"m\", \"km\"", "is required"
  std::string to_string() const { return path + " " + message; }
};

// Every way `value` breaks `schema` (empty when it conforms). `root` names the value in paths.
std::vector<SchemaError> validate_json(const Json& schema, const Json& value, const std::string& root = "arguments");

// Ok, or kInvalidArgument listing the errors ("arguments.x is required; arguments.y must be a string").
Status validate_arguments(const Json& schema, const Json& value, const std::string& root = "arguments");

// Whether `schema` is a well-formed schema of the supported subset; `where` names it in errors
// ("tool 'calculator' parameters.properties.expression: unknown keyword 'pattern'").
Status check_schema(const Json& schema, const std::string& where);

}  // namespace kanana::tools
