// Tool declarations, the registry, and validated execution (see tool.h).
#include "tools/tool.h"

#include <cctype>
#include <exception>

#include "tools/json_schema.h"

namespace kanana::tools {

Json ToolSpec::to_openai() const {
  return {{"type", "function"}, {"function", {{"name", name}, {"description", description}, {"parameters", parameters}}}};
}

Json ToolCall::to_openai() const {
  return {{"id", id}, {"type", "function"}, {"function", {{"name", name}, {"arguments", arguments.dump(-1, ' ', false, Json::error_handler_t::replace)}}}};
}

std::string ToolOutcome::content() const {
  const Json j = ok ? result : Json{{"error", error}};
  return j.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

bool is_valid_tool_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  return true;
}

Status ToolRegistry::add(Tool tool) {
  const std::string& name = tool.spec.name;
  if (!is_valid_tool_name(name))
    return invalid_argument("tool name '" + name + "' must be 1-64 letters, digits, '_' or '-'");
  if (tools_.count(name)) return already_exists("a tool named '" + name + "' is already registered");
  if (!tool.run) return invalid_argument("tool '" + name + "' has no function");
  const Json& p = tool.spec.parameters;
  if (!p.is_object() || p.value("type", "") != "object")
    return invalid_argument("tool '" + name + "' parameters: must be a schema of type \"object\"");
  KANANA_RETURN_IF_ERROR(check_schema(p, "tool '" + name + "' parameters"));
  tools_.emplace(name, std::move(tool));
  return Status::ok();
}

bool ToolRegistry::remove(const std::string& name) { return tools_.erase(name) > 0; }

const Tool* ToolRegistry::find(const std::string& name) const {
  auto it = tools_.find(name);
  return it == tools_.end() ? nullptr : &it->second;
}

std::vector<std::string> ToolRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [name, _] : tools_) out.push_back(name);
  return out;
}

Json ToolRegistry::openai_tools() const {
  Json out = Json::array();
  for (const auto& [_, tool] : tools_) out.push_back(tool.spec.to_openai());
  return out;
}

ToolOutcome ToolRegistry::execute(const ToolCall& call, const ConfirmFunction& confirm, const ToolContext& context) const {
  ToolOutcome o;
  const Tool* tool = find(call.name);
  if (!tool) {
    std::string known;
    for (const auto& n : names()) known += (known.empty() ? "" : ", ") + n;
    o.error = "unknown tool '" + call.name + "'; available tools: " + (known.empty() ? "none" : known);
    return o;
  }
  if (!call.arguments.is_object()) {
    o.error = "arguments for '" + call.name + "' must be a JSON object";
    return o;
  }
  if (Status st = validate_arguments(tool->spec.parameters, call.arguments); !st.is_ok()) {
    o.error = "invalid arguments for '" + call.name + "': " + st.message();
    return o;
  }
  if (tool->spec.side_effects) {
    bool approved = false;
    try {
      approved = confirm && confirm(tool->spec, call.arguments);
    } catch (...) {
      approved = false;
    }
    if (!approved) {
      o.declined = true;
      o.error = confirm ? "the user declined to run '" + call.name + "'"
                        : "'" + call.name + "' changes data and needs the user's approval, which is not available here";
      return o;
    }
  }
  if (context.cancel && context.cancel->is_cancelled()) {
    o.error = "cancelled";
    return o;
  }
  try {
    Result<Json> r = tool->run(call.arguments, context);
    if (r.is_ok()) {
      o.ok = true;
      o.result = std::move(r).value();
    } else {
      o.error = r.status().message();
    }
  } catch (const std::exception& e) {
    o.error = "tool '" + call.name + "' failed: " + e.what();
  } catch (...) {
    o.error = "tool '" + call.name + "' failed";
  }
  return o;
}

}  // namespace kanana::tools
