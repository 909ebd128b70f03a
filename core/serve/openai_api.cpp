#include "serve/openai_api.h"

#include <cmath>
#include <regex>

#include "serve/served_model.h"
#include "tools/json_schema.h"
#include "tools/tool_call_parser.h"
#include "tools/tool_prompt.h"

namespace kanana::serve {

namespace {

[[noreturn]] void fail(const std::string& param, const std::string& message, const std::string& code = "") {
  throw ApiError{.status = 400, .message = message, .type = "invalid_request_error", .param = param, .code = code};
}

std::string type_name(const Json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  return "an object";
}

const Json* field(const Json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

bool get_bool(const Json& body, const char* key, bool fallback) {
  const Json* v = field(body, key);
  if (!v) return fallback;
  if (!v->is_boolean()) fail(key, std::string("'") + key + "' must be a boolean, got " + type_name(*v));
  return v->get<bool>();
}

std::optional<int64_t> get_int(const Json& body, const char* key, int64_t min, int64_t max) {
  const Json* v = field(body, key);
  if (!v) return std::nullopt;
  if (!v->is_number_integer() && !(v->is_number_float() && std::floor(v->get<double>()) == v->get<double>() &&
                                   std::abs(v->get<double>()) < 9e15))
    fail(key, std::string("'") + key + "' must be an integer, got " + type_name(*v));
  const int64_t x = v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX) ? INT64_MAX
                    : v->is_number_integer()                                           ? v->get<int64_t>()
                                                                                        : int64_t(v->get<double>());
  if (x < min || x > max)
    fail(key, std::string("'") + key + "' must be in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " +
                  std::to_string(x));
  return x;
}

std::optional<double> get_number(const Json& body, const char* key, double min, double max) {
  const Json* v = field(body, key);
  if (!v) return std::nullopt;
  if (!v->is_number()) fail(key, std::string("'") + key + "' must be a number, got " + type_name(*v));
  const double x = v->get<double>();
  if (!(x >= min && x <= max))
    fail(key, std::string("'") + key + "' must be in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  return x;
}

std::string get_string(const Json& body, const char* key, bool required) {
  const Json* v = field(body, key);
  if (!v) {
    if (required) fail(key, std::string("'") + key + "' is required");
    return {};
  }
  if (!v->is_string()) fail(key, std::string("'") + key + "' must be a string, got " + type_name(*v));
  return v->get<std::string>();
}

// OpenAI content: a string, or an array of {"type": "text", "text": ...} parts (joined).
Json flatten_content(const Json& content, const std::string& where) {
  if (!content.is_array()) return content;
  std::string text;
  for (size_t i = 0; i < content.size(); ++i) {
    const Json& part = content[i];
    const std::string at = where + "[" + std::to_string(i) + "]";
    if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
      fail(at, at + " must be {\"type\": \"text\", \"text\": ...} (only text content is supported)");
    text += part["text"].get<std::string>();
  }
  return text;
}

void parse_messages(const Json& body, CompletionRequest& r) {
  const Json* m = field(body, "messages");
  if (!m) fail("messages", "'messages' is required");
  if (!m->is_array() || m->empty()) fail("messages", "'messages' must be a non-empty array");
  Json messages = *m;
  for (size_t i = 0; i < messages.size(); ++i) {
    Json& msg = messages[i];
    const std::string at = "messages[" + std::to_string(i) + "]";
    if (!msg.is_object()) fail(at, at + " must be an object");
    if (msg.contains("content")) msg["content"] = flatten_content(msg["content"], at + ".content");
    // OpenAI's tool_calls carry arguments as JSON text; the template wants the object.
    if (msg.contains("tool_calls") && !msg["tool_calls"].is_null()) {
      if (!msg["tool_calls"].is_array()) fail(at + ".tool_calls", at + ".tool_calls must be an array");
      for (auto& call : msg["tool_calls"]) {
        if (!call.is_object() || !call.contains("function") || !call["function"].is_object())
          fail(at + ".tool_calls", at + ".tool_calls entries must be {\"function\": {\"name\", \"arguments\"}}");
        Json& fn = call["function"];
        if (fn.contains("arguments") && fn["arguments"].is_string()) {
          try {
            fn["arguments"] = Json::parse(fn["arguments"].get<std::string>());
          } catch (const std::exception&) {
            fail(at + ".tool_calls", at + ".tool_calls: function.arguments is not valid JSON text");
          }
        }
      }
    } else {
      msg.erase("tool_calls");
    }
  }
  auto parsed = tok::parse_chat_messages(messages, "request");
  if (!parsed.is_ok()) {
    // The template's errors name the message ("messages[2].role"): so does param.
    const std::string& m = parsed.status().message();
    static const std::regex path(R"(messages\[\d+\](\.[A-Za-z_]+)?)");
    std::smatch at;
    fail(std::regex_search(m, at, path) ? at.str() : "messages", m);
  }
  r.messages = std::move(*parsed);
}

void parse_tools(const Json& body, CompletionRequest& r) {
  if (const Json* t = field(body, "tools")) {
    if (!t->is_array()) fail("tools", "'tools' must be an array");
    for (size_t i = 0; i < t->size(); ++i) {
      const Json& tool = (*t)[i];
      const std::string at = "tools[" + std::to_string(i) + "]";
      if (!tool.is_object() || tool.value("type", "function") != "function" || !tool.contains("function") ||
          !tool["function"].is_object() || !tool["function"].contains("name") || !tool["function"]["name"].is_string())
        fail(at, at + " must be {\"type\": \"function\", \"function\": {\"name\", \"description\", \"parameters\"}}");
    }
    r.tools = *t;
  }
  if (const Json* c = field(body, "tool_choice")) {
    if (c->is_string()) {
      r.tool_choice = c->get<std::string>();
      if (r.tool_choice != "none" && r.tool_choice != "auto" && r.tool_choice != "required")
        fail("tool_choice", "'tool_choice' must be none, auto, required or {\"type\": \"function\", ...}");
    } else if (c->is_object() && c->contains("function") && (*c)["function"].is_object() &&
               (*c)["function"].contains("name") && (*c)["function"]["name"].is_string()) {
      r.tool_choice = (*c)["function"]["name"].get<std::string>();
      Json only = Json::array();
      for (const auto& tool : r.tools)
        if (tool["function"]["name"] == r.tool_choice) only.push_back(tool);
      if (only.empty()) fail("tool_choice", "tool_choice names '" + r.tool_choice + "', which is not in 'tools'");
      r.tools = only;
    } else {
      fail("tool_choice", "'tool_choice' must be a string or {\"type\": \"function\", \"function\": {\"name\"}}");
    }
  }
  if (r.tool_choice == "none") r.tools = Json::array();
}

void parse_response_format(const Json& body, CompletionRequest& r) {
  const Json* f = field(body, "response_format");
  if (!f) return;
  if (!f->is_object() || !f->contains("type") || !(*f)["type"].is_string())
    fail("response_format", "'response_format' must be {\"type\": \"text\" | \"json_object\" | \"json_schema\"}");
  r.response_format = (*f)["type"].get<std::string>();
  if (r.response_format == "json_schema") {
    const Json* js = f->contains("json_schema") ? &(*f)["json_schema"] : nullptr;
    if (!js || !js->is_object() || !js->contains("schema") || !(*js)["schema"].is_object())
      fail("response_format.json_schema", "'response_format.json_schema.schema' must be a JSON Schema object");
    r.json_schema = (*js)["schema"];
    if (Status st = tools::check_schema(r.json_schema, "response_format.json_schema.schema"); !st.is_ok())
      fail("response_format.json_schema", st.message());
  } else if (r.response_format != "text" && r.response_format != "json_object") {
    fail("response_format", "'response_format.type' must be text, json_object or json_schema");
  }
}

}  // namespace

Json error_json(const ApiError& e) {
  return {{"error",
           {{"message", e.message},
            {"type", e.type},
            {"param", e.param.empty() ? Json() : Json(e.param)},
            {"code", e.code.empty() ? Json() : Json(e.code)}}}};
}

std::string dump(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::replace); }

CompletionRequest parse_completion_request(const Json& body, bool chat) {
  if (!body.is_object()) fail("", "the request body must be a JSON object");
  CompletionRequest r;
  r.chat = chat;
  r.model = get_string(body, "model", true);
  r.stream = get_bool(body, "stream", false);
  if (const Json* so = field(body, "stream_options")) {
    if (!so->is_object()) fail("stream_options", "'stream_options' must be an object");
    r.include_usage = get_bool(*so, "include_usage", false);
  }
  r.n = get_int(body, "n", 1, 16).value_or(1);
  auto max_tokens = get_int(body, "max_tokens", 1, INT64_MAX);
  if (auto mct = get_int(body, "max_completion_tokens", 1, INT64_MAX)) max_tokens = mct;
  r.max_tokens = max_tokens;
  r.sampling.temperature = get_number(body, "temperature", 0, 2).value_or(1.0);
  r.sampling.top_p = get_number(body, "top_p", 0, 1).value_or(1.0);
  if (r.sampling.top_p <= 0) fail("top_p", "'top_p' must be in (0, 1]");
  r.sampling.greedy = r.sampling.temperature == 0;
  if (auto seed = get_int(body, "seed", INT64_MIN, INT64_MAX)) {
    r.sampling.seed = *seed;
    r.seed_given = true;
  }
  if (auto p = get_number(body, "frequency_penalty", -2, 2); p && *p != 0)
    fail("frequency_penalty", "'frequency_penalty' is not supported (only 0); use repetition_penalty");
  if (auto p = get_number(body, "presence_penalty", -2, 2); p && *p != 0)
    fail("presence_penalty", "'presence_penalty' is not supported (only 0); use repetition_penalty");
  r.sampling.repetition_penalty = get_number(body, "repetition_penalty", 0.01, 10).value_or(1.0);
  r.sampling.top_k = get_int(body, "top_k", 0, INT64_MAX).value_or(0);
  if (const Json* s = field(body, "stop")) {
    if (s->is_string()) {
      r.stop.push_back(s->get<std::string>());
    } else if (s->is_array()) {
      for (const auto& e : *s) {
        if (!e.is_string()) fail("stop", "'stop' must be a string or an array of strings");
        r.stop.push_back(e.get<std::string>());
      }
    } else {
      fail("stop", "'stop' must be a string or an array of strings, got " + type_name(*s));
    }
    if (r.stop.size() > 4) fail("stop", "'stop' holds at most 4 sequences");
    for (const auto& s2 : r.stop)
      if (s2.empty()) fail("stop", "'stop' sequences must not be empty");
  }
  if (chat) {
    r.logprobs = get_bool(body, "logprobs", false);
    r.top_logprobs = get_int(body, "top_logprobs", 0, 20).value_or(0);
    if (field(body, "top_logprobs") && !r.logprobs) fail("top_logprobs", "'top_logprobs' needs 'logprobs': true");
    parse_messages(body, r);
    parse_tools(body, r);
    parse_response_format(body, r);
  } else {
    // Completions: logprobs is an integer (alternatives per token).
    if (auto lp = get_int(body, "logprobs", 0, 5)) {
      r.logprobs = true;
      r.top_logprobs = *lp;
    }
    if (get_bool(body, "echo", false)) fail("echo", "'echo' is not supported");
    const Json* p = field(body, "prompt");
    if (!p) fail("prompt", "'prompt' is required");
    if (p->is_string()) {
      r.prompts.push_back(p->get<std::string>());
    } else if (p->is_array() && !p->empty()) {
      for (const auto& e : *p) {
        if (!e.is_string()) fail("prompt", "'prompt' must be a string or an array of strings (token arrays are not supported)");
        r.prompts.push_back(e.get<std::string>());
      }
    } else {
      fail("prompt", "'prompt' must be a string or a non-empty array of strings");
    }
  }
  return r;
}

std::vector<int32_t> build_prompt(const CompletionRequest& r, const ServedModel& model, size_t index) {
  tok::EncodeOptions eo;
  if (!r.chat) {
    eo.add_bos = model.config().bos_token_id.has_value();
    eo.parse_special = false;
    auto ids = model.tokenizer().encode(r.prompts[index], eo);
    if (ids.empty()) fail("prompt", "the prompt encodes to no tokens");
    return ids;
  }
  if (!model.chat_template())
    fail("model", "the model '" + model.name() + "' has no chat template (its tokenizer has neither Llama 3 nor "
                  "ChatML markers); use /v1/completions");
  auto rendered = tools::render_chat_with_tools(*model.chat_template(), r.messages, r.tools);
  if (!rendered.is_ok()) fail("messages", rendered.status().message());
  const std::string& text = rendered->text;
  eo.add_bos = false;  // the template writes its own begin-of-text
  eo.parse_special = true;
  return model.tokenizer().encode(text, eo);
}

ChatReply chat_reply(const CompletionRequest& r, const std::string& text, const std::string& finish_reason,
                     int first_call_id) {
  ChatReply out;
  out.finish_reason = finish_reason;
  out.message = {{"role", "assistant"}, {"content", text}};
  if (r.tools.empty()) return out;
  tools::ParsedToolCalls parsed = tools::parse_tool_calls(text, first_call_id);
  if (parsed.calls.empty()) return out;
  Json calls = Json::array();
  for (const auto& c : parsed.calls) calls.push_back(c.to_openai());
  out.message["content"] = parsed.text.empty() ? Json() : Json(parsed.text);
  out.message["tool_calls"] = calls;
  out.finish_reason = "tool_calls";
  return out;
}

Json validate_response_format(const CompletionRequest& r, const std::string& text) {
  if (r.response_format == "text") return Json::object();
  Json value;
  try {
    value = Json::parse(text);
  } catch (const std::exception& e) {
    return {{"valid", false}, {"errors", Json::array({std::string("the output is not JSON: ") + e.what()})}};
  }
  if (!value.is_object()) return {{"valid", false}, {"errors", Json::array({"the output is JSON but not an object"})}};
  if (r.response_format == "json_schema") {
    Json errors = Json::array();
    for (const auto& e : tools::validate_json(r.json_schema, value, "output")) errors.push_back(e.to_string());
    if (!errors.empty()) return {{"valid", false}, {"errors", errors}};
  }
  return {{"valid", true}};
}

Json logprobs_json(const std::vector<TokenLogprob>& logprobs, bool chat) {
  if (chat) {
    Json content = Json::array();
    for (const auto& lp : logprobs) {
      Json top = Json::array();
      for (const auto& [t, l] : lp.top) top.push_back({{"token", t}, {"logprob", l}, {"bytes", Json(std::vector<uint8_t>(t.begin(), t.end()))}});
      content.push_back({{"token", lp.token},
                         {"logprob", lp.logprob},
                         {"bytes", Json(std::vector<uint8_t>(lp.token.begin(), lp.token.end()))},
                         {"top_logprobs", top}});
    }
    return {{"content", content}};
  }
  Json tokens = Json::array(), values = Json::array(), tops = Json::array();
  for (const auto& lp : logprobs) {
    tokens.push_back(lp.token);
    values.push_back(lp.logprob);
    Json top = Json::object();
    for (const auto& [t, l] : lp.top) top[t] = l;
    tops.push_back(top);
  }
  return {{"tokens", tokens}, {"token_logprobs", values}, {"top_logprobs", tops}};
}

}  // namespace kanana::serve
