// Rendering a tool list into Llama 3.1 / ChatML prompts (see tool_prompt.h).
#include "tools/tool_prompt.h"

#include <algorithm>
#include <ctime>

namespace kanana::tools {
namespace {

// Python json.dumps(v, ensure_ascii=False): ", " and ": " separators.
std::string python_json(const Json& v) {
  if (v.is_object()) {
    std::string out = "{";
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (out.size() > 1) out += ", ";
      out += Json(it.key()).dump(-1, ' ', false, Json::error_handler_t::replace) + ": " + python_json(it.value());
    }
    return out + "}";
  }
  if (v.is_array()) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + python_json(v[i]);
    return out + "]";
  }
  return v.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string today_utc() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%d %b %Y", &tm);  // "26 Jul 2024", as the Llama 3.1 template
  return buf;
}

}  // namespace

std::string tool_instructions(tok::ChatTemplateKind kind, const Json& tools) {
  std::string out;
  if (kind == tok::ChatTemplateKind::kLlama3) {
    out =
        "Given the following functions, please respond with a JSON for a function call with its proper "
        "arguments that best answers the given prompt.\n\n"
        "Respond in the format {\"name\": function name, \"parameters\": dictionary of argument name and its "
        "value}.Do not use variables.\n\n";
    for (const Json& t : tools) out += t.dump(4, ' ', false, Json::error_handler_t::replace) + "\n\n";
    return out;
  }
  out =
      "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
      "You are provided with function signatures within <tools></tools> XML tags:\n<tools>";
  for (const Json& t : tools) out += "\n" + python_json(t);
  out +=
      "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
      "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
      "<args-json-object>}\n</tool_call>";
  return out;
}

Result<tok::RenderedChat> render_chat_with_tools(tok::ChatTemplateKind kind, const std::vector<tok::ChatMessage>& messages,
                                                 const Json& tools, const tok::ChatRenderOptions& options,
                                                 const ToolPromptOptions& tool_options) {
  if (!tools.is_array()) return invalid_argument("tools must be a JSON array of {\"type\": \"function\", ...}");
  if (tools.empty()) return tok::render_with_spans(kind, messages, options);
  const std::string block = tool_instructions(kind, tools);
  std::vector<tok::ChatMessage> msgs = messages;

  if (kind == tok::ChatTemplateKind::kChatMl) {
    if (!msgs.empty() && msgs[0].role == "system") {
      msgs[0].content += (msgs[0].content.empty() ? "" : "\n\n") + block;
    } else {
      msgs.insert(msgs.begin(), tok::ChatMessage{"system", block});
    }
    return tok::render_with_spans(kind, msgs, options);
  }

  // Llama 3.1: the system turn is written here (its blank lines must survive the template's
  // trim), the tool list goes in front of the first user message, the rest is the template's.
  std::string system;
  if (!msgs.empty() && msgs[0].role == "system") {
    system = msgs[0].content;
    msgs.erase(msgs.begin());
  }
  // Jinja `| trim` on the system text, like the rest of the template.
  {
    const auto b = system.find_first_not_of(" \t\r\n");
    system = b == std::string::npos ? std::string() : system.substr(b, system.find_last_not_of(" \t\r\n") - b + 1);
  }
  std::string head = options.add_bos ? "<|begin_of_text|>" : "";
  head += "<|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\nCutting Knowledge Date: December 2023\n";
  head += "Today Date: " + (tool_options.today.empty() ? today_utc() : tool_options.today) + "\n\n";
  auto first_user = std::find_if(msgs.begin(), msgs.end(), [](const tok::ChatMessage& m) { return m.role == "user"; });
  if (first_user == msgs.end()) {
    head += block;  // no user turn to carry the list: keep it in the system turn
  } else {
    first_user->content = block + first_user->content;
  }
  head += system + "<|eot_id|>";
  tok::ChatRenderOptions rest = options;
  rest.add_bos = false;
  KANANA_ASSIGN_OR_RETURN(tok::RenderedChat r, tok::render_with_spans(kind, msgs, rest));
  r.text = head + r.text;
  for (auto& [b, e] : r.assistant_spans) {
    b += head.size();
    e += head.size();
  }
  return r;
}

}  // namespace kanana::tools
