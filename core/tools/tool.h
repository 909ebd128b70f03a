// Tools a model can call: an OpenAI-style declaration (name, description, JSON Schema
// parameters), the function that runs it, and a registry the CLI, the Playground and plugins
// add to. Calls go through ToolRegistry::execute(), which validates the arguments against the
// schema and asks for confirmation before any tool flagged with side effects runs.
//
// Sandbox rule for every tool here and every tool a plugin registers: no shell commands, no
// writes outside the workspace, no reads outside the folders the user allowed. A tool that
// changes anything (even inside the workspace) sets side_effects = true.
//
// Threading: a registry is filled on one thread and then read (find/execute) from one worker
// thread at a time; a tool's run function is called on the thread that calls execute().
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/progress.h"
#include "base/status.h"

namespace kanana::tools {

struct ToolSpec {
  std::string name;         // [A-Za-z0-9_-]{1,64}, as OpenAI requires
  std::string description;  // what the model reads to decide when to call it
  Json parameters = Json{{"type", "object"}, {"properties", Json::object()}};  // JSON Schema (json_schema.h subset)
  bool side_effects = false;  // changes something: the user must approve every call

  // {"type": "function", "function": {"name", "description", "parameters"}}
  Json to_openai() const;
};

// Everything a running tool may look at besides its arguments.
struct ToolContext {
  const CancelToken* cancel = nullptr;
};

// Returns the result as JSON (an object, usually) or an error the model will read.
using ToolFunction = std::function<Result<Json>(const Json& arguments, const ToolContext& context)>;

struct Tool {
  ToolSpec spec;
  ToolFunction run;
};

// One call the model asked for.
struct ToolCall {
  std::string id;                    // "call_1": pairs the call with its result message
  std::string name;
  Json arguments = Json::object();
  // OpenAI message form: {"id", "type": "function", "function": {"name", "arguments": "<json text>"}}
  Json to_openai() const;
};

// Asked before a side-effect tool runs; return true to allow this call.
using ConfirmFunction = std::function<bool(const ToolSpec& spec, const Json& arguments)>;

struct ToolOutcome {
  bool ok = false;
  Json result;          // the tool's result when ok
  std::string error;    // why not, written for the model to read and correct itself
  bool declined = false;  // the user did not approve a side-effect call
  // What goes back to the model as the tool message's content: the result JSON, or
  // {"error": "..."}.
  std::string content() const;
};

class ToolRegistry {
 public:
  // Error if the name is malformed or taken, or the parameters are not a supported schema.
  Status add(Tool tool);
  bool remove(const std::string& name);
  const Tool* find(const std::string& name) const;
  std::vector<std::string> names() const;  // sorted
  size_t size() const { return tools_.size(); }
  bool empty() const { return tools_.empty(); }

  // The "tools" array of an OpenAI request: one to_openai() per tool, sorted by name.
  Json openai_tools() const;

  // Look up, validate arguments, confirm side effects, run. Never throws: every failure
  // (unknown tool, bad arguments, declined, the tool's own error or exception) is an outcome
  // with a message the model can act on. Without `confirm`, side-effect tools are refused.
  ToolOutcome execute(const ToolCall& call, const ConfirmFunction& confirm = {}, const ToolContext& context = {}) const;

 private:
  std::map<std::string, Tool> tools_;
};

bool is_valid_tool_name(const std::string& name);

}  // namespace kanana::tools
