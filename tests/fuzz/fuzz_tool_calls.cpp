// Model output scanned for tool calls, each call's arguments checked against a JSON schema;
// and the input itself as a schema (check_schema) validating the input as a value.
#include "base/json.h"
#include "fuzz_target.h"
#include "tools/json_schema.h"
#include "tools/tool_call_parser.h"

KANANA_FUZZ_TARGET(tool_calls) {
  const auto text = kanana::fuzz::as_text(data, size);
  const auto parsed = kanana::tools::parse_tool_calls(text);
  static const kanana::Json schema = kanana::Json::parse(
      R"({"type":"object","properties":{"q":{"type":"string","minLength":1},"n":{"type":"integer","minimum":0},)"
      R"("tags":{"type":"array","items":{"type":"string"}},"mode":{"enum":["a","b"]}},"required":["q"],)"
      R"("additionalProperties":false})");
  for (const auto& call : parsed.calls) (void)kanana::tools::validate_arguments(schema, call.arguments);
  auto json = kanana::parse_json(text, "schema.json");
  if (json.is_ok() && kanana::tools::check_schema(*json, "schema").is_ok())
    (void)kanana::tools::validate_arguments(*json, *json);
  return 0;
}
