// Rendering of the Llama 3 and ChatML chat formats (see chat_template.h).
#include "tokenizer/chat_template.h"

#include "base/json.h"
#include "tokenizer/unicode_tables.h"

namespace kanana::tok {
namespace {

namespace fs = std::filesystem;

// Jinja's `| trim` (Python str.strip()): whitespace off both ends.
std::string trim_unicode(const std::string& s) {
  std::vector<std::pair<size_t, uint32_t>> cps;
  size_t begin = 0, end = s.size();
  // Forward over leading whitespace.
  const auto decode_at = [&](size_t pos, size_t* len) -> uint32_t {
    const auto b0 = static_cast<uint8_t>(s[pos]);
    size_t n = b0 < 0x80 ? 1 : b0 < 0xE0 ? 2 : b0 < 0xF0 ? 3 : 4;
    n = std::min(n, s.size() - pos);
    uint32_t cp = n == 1 ? b0 : n == 2 ? (b0 & 0x1F) : n == 3 ? (b0 & 0x0F) : (b0 & 0x07);
    for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<uint8_t>(s[pos + k]) & 0x3F);
    *len = n;
    return cp;
  };
  const auto is_space = [](uint32_t cp) { return unicode::is_whitespace(cp) || (cp >= 0x1C && cp <= 0x1F); };
  while (begin < end) {
    size_t len;
    if (!is_space(decode_at(begin, &len))) break;
    begin += len;
  }
  while (end > begin) {
    size_t p = end - 1;
    while (p > begin && (static_cast<uint8_t>(s[p]) & 0xC0) == 0x80) --p;
    size_t len;
    if (!is_space(decode_at(p, &len))) break;
    end = p;
  }
  return s.substr(begin, end - begin);
}

// JSON as Python's json.dumps writes it (", " and ": " separators, non-ASCII kept), which is
// what the reference Jinja templates' `tojson` produces. Object keys come out sorted.
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
  return v.dump(-1, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

// {"name": ..., key: arguments} for each OpenAI-style tool call; arguments given as a JSON
// string are parsed so the rendered call is one JSON object.
Result<std::vector<std::string>> tool_call_texts(const Json& calls, const char* args_key, size_t index) {
  std::vector<std::string> out;
  if (calls.is_null()) return out;
  const std::string where = "messages[" + std::to_string(index) + "].tool_calls";
  if (!calls.is_array()) return invalid_argument(where + " must be an array");
  for (size_t i = 0; i < calls.size(); ++i) {
    const Json& c = calls[i];
    const Json& f = c.contains("function") ? c["function"] : c;
    if (!f.is_object() || !f.contains("name") || !f["name"].is_string())
      return invalid_argument(where + "[" + std::to_string(i) + "] needs function.name");
    Json args = f.contains("arguments") ? f["arguments"] : Json::object();
    if (args.is_string()) {
      Json parsed = parse_json_or_discarded(args.get<std::string>());
      if (parsed.is_discarded())
        return invalid_argument(where + "[" + std::to_string(i) + "].function.arguments is not valid JSON");
      args = std::move(parsed);
    }
    out.push_back("{\"name\": " + python_json(f["name"]) + ", \"" + args_key + "\": " + python_json(args) + "}");
  }
  return out;
}

Status check_role(const ChatMessage& m, size_t index) {
  if (m.role == "system" || m.role == "user" || m.role == "assistant" || m.role == "tool") return Status::ok();
  return invalid_argument("messages[" + std::to_string(index) + "].role '" + m.role +
                          "' is not one of system, user, assistant, tool");
}

}  // namespace

const char* chat_template_name(ChatTemplateKind kind) { return kind == ChatTemplateKind::kLlama3 ? "llama3" : "chatml"; }

Result<ChatTemplateKind> parse_chat_template_name(const std::string& name) {
  if (name == "llama3") return ChatTemplateKind::kLlama3;
  if (name == "chatml") return ChatTemplateKind::kChatMl;
  return invalid_argument("unknown chat template '" + name + "' (expected llama3 or chatml)");
}

Result<RenderedChat> render_with_spans(ChatTemplateKind kind, const std::vector<ChatMessage>& messages,
                                       const ChatRenderOptions& options) {
  RenderedChat r;
  const bool llama3 = kind == ChatTemplateKind::kLlama3;
  if (llama3 && options.add_bos) r.text += "<|begin_of_text|>";
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    KANANA_RETURN_IF_ERROR(check_role(m, i));
    const bool assistant = m.role == "assistant";
    KANANA_ASSIGN_OR_RETURN(std::vector<std::string> calls,
                            tool_call_texts(m.tool_calls, llama3 ? "parameters" : "arguments", i));
    if (!assistant && !calls.empty())
      return invalid_argument("messages[" + std::to_string(i) + "] has tool_calls but role '" + m.role + "'");
    size_t begin;
    if (llama3) {
      r.text += "<|start_header_id|>" + std::string(m.role == "tool" ? "ipython" : m.role) + "<|end_header_id|>\n\n";
      begin = r.text.size();
      r.text += trim_unicode(m.content);
      for (const auto& c : calls) r.text += (r.text.size() > begin ? "\n" : "") + c;
      r.text += "<|eot_id|>";
    } else {
      r.text += "<|im_start|>" + m.role;
      if (m.role == "tool" && m.tool_call_id) r.text += " " + *m.tool_call_id;
      r.text += "\n";
      begin = r.text.size();
      r.text += m.content;
      for (const auto& c : calls) r.text += (r.text.size() > begin ? "\n" : "") + ("<tool_call>\n" + c + "\n</tool_call>");
      r.text += "<|im_end|>";
    }
    if (assistant) r.assistant_spans.emplace_back(begin, r.text.size());
    if (!llama3) r.text += "\n";
  }
  if (options.add_generation_prompt)
    r.text += llama3 ? "<|start_header_id|>assistant<|end_header_id|>\n\n" : "<|im_start|>assistant\n";
  return r;
}

Result<std::string> render_chat(ChatTemplateKind kind, const std::vector<ChatMessage>& messages,
                                const ChatRenderOptions& options) {
  KANANA_ASSIGN_OR_RETURN(RenderedChat r, render_with_spans(kind, messages, options));
  return std::move(r.text);
}

std::vector<std::string> chat_stop_strings(ChatTemplateKind kind) {
  if (kind == ChatTemplateKind::kLlama3) return {"<|eot_id|>", "<|end_of_text|>", "<|eom_id|>"};
  return {"<|im_end|>", "<|endoftext|>"};
}

std::vector<int32_t> chat_stop_ids(ChatTemplateKind kind, const Tokenizer& tokenizer) {
  std::vector<int32_t> ids;
  for (const auto& s : chat_stop_strings(kind))
    if (auto id = tokenizer.piece_to_id(s)) ids.push_back(*id);
  if (auto eos = tokenizer.eos_id(); eos && std::find(ids.begin(), ids.end(), *eos) == ids.end()) ids.push_back(*eos);
  return ids;
}

std::vector<std::string> chat_special_tokens(ChatTemplateKind kind) {
  if (kind == ChatTemplateKind::kLlama3)
    return {"<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"};
  return {"<|im_start|>", "<|im_end|>"};
}

Result<ChatTemplateKind> detect_chat_template(const Tokenizer& tokenizer) {
  if (tokenizer.piece_to_id("<|start_header_id|>") && tokenizer.piece_to_id("<|eot_id|>")) return ChatTemplateKind::kLlama3;
  if (tokenizer.piece_to_id("<|im_start|>") && tokenizer.piece_to_id("<|im_end|>")) return ChatTemplateKind::kChatMl;
  return not_found("the tokenizer has neither Llama 3 (<|start_header_id|>) nor ChatML (<|im_start|>) chat tokens");
}

Result<ChatTemplateKind> detect_chat_template(const fs::path& path) {
  const fs::path dir = fs::is_directory(path) ? path : path.parent_path();
  const fs::path config_path = dir / "tokenizer_config.json";
  if (fs::is_regular_file(config_path)) {
    KANANA_ASSIGN_OR_RETURN(Json config, read_json_file(config_path));
    std::string tmpl;
    if (config.contains("chat_template")) {
      const Json& t = config["chat_template"];
      if (t.is_string()) {
        tmpl = t.get<std::string>();
      } else if (t.is_array()) {  // [{"name": "default", "template": "..."}, ...]
        for (const Json& e : t)
          if (e.is_object() && e.value("name", "") == "default" && e.contains("template") && e["template"].is_string())
            tmpl = e["template"].get<std::string>();
      }
    }
    if (tmpl.find("start_header_id") != std::string::npos) return ChatTemplateKind::kLlama3;
    if (tmpl.find("<|im_start|>") != std::string::npos) return ChatTemplateKind::kChatMl;
  }
  KANANA_ASSIGN_OR_RETURN(auto tokenizer, load_tokenizer(path));
  return detect_chat_template(*tokenizer);
}

Result<std::vector<ChatMessage>> parse_chat_messages(const Json& messages, const std::string& origin) {
  if (!messages.is_array()) return invalid_argument(origin + ": messages must be an array");
  std::vector<ChatMessage> out;
  for (size_t i = 0; i < messages.size(); ++i) {
    JsonReader r(messages[i], origin, "messages[" + std::to_string(i) + "]");
    if (!messages[i].is_object()) return r.field_error("", "must be an object");
    ChatMessage m;
    KANANA_ASSIGN_OR_RETURN(m.role, r.get_string("role"));
    const Json& content = messages[i].contains("content") ? messages[i]["content"] : Json();
    if (content.is_string()) {
      m.content = content.get<std::string>();
    } else if (!content.is_null()) {
      return r.field_error("content", "must be a string or null");
    }
    if (r.has("name")) {
      KANANA_ASSIGN_OR_RETURN(m.name, r.get_string("name"));
    }
    if (r.has("tool_call_id")) {
      KANANA_ASSIGN_OR_RETURN(m.tool_call_id, r.get_string("tool_call_id"));
    }
    if (messages[i].contains("tool_calls")) m.tool_calls = messages[i]["tool_calls"];
    KANANA_RETURN_IF_ERROR(check_role(m, i).with_context(origin));
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace kanana::tok
