// Reading tool calls out of model text (see tool_call_parser.h).
#include "tools/tool_call_parser.h"

#include <algorithm>
#include <cctype>

#include "base/json.h"
#include "base/strings.h"

namespace kanana::tools {
namespace {

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

size_t skip_space(std::string_view s, size_t pos) {
  while (pos < s.size() && is_space(s[pos])) ++pos;
  return pos;
}

std::string shorten(std::string_view s, size_t max = 120) {
  std::string t(trim(s));
  if (t.size() <= max) return t;
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(t[cut]) & 0xC0) == 0x80) --cut;  // keep UTF-8 whole
  return t.substr(0, cut) + "...";
}

// The end (one past) of the JSON object/array starting at s[begin] ('{' or '['), matching
// brackets outside strings. npos when the text ends first; *open_left says how many.
size_t balanced_end(std::string_view s, size_t begin, int* open_left) {
  std::vector<char> stack;
  bool in_string = false, escaped = false;
  for (size_t i = begin; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{') stack.push_back('}');
    else if (c == '[') stack.push_back(']');
    else if (c == '}' || c == ']') {
      if (stack.empty() || stack.back() != c) return i + 1;  // mismatched: let the JSON parser say so
      stack.pop_back();
      if (stack.empty()) return i + 1;
    }
  }
  *open_left = static_cast<int>(stack.size()) + (in_string ? 1 : 0);
  return std::string_view::npos;
}

// Whether the text at `pos` starts a JSON value that looks like a call: {"name" / {"function"
// / {"tool_calls" / [{...
bool looks_like_call(std::string_view s, size_t pos) {
  if (pos >= s.size()) return false;
  if (s[pos] == '[') {
    pos = skip_space(s, pos + 1);
    return pos < s.size() && s[pos] == '{' && looks_like_call(s, pos);
  }
  if (s[pos] != '{') return false;
  pos = skip_space(s, pos + 1);
  for (std::string_view key : {"\"name\"", "\"function\"", "\"tool_calls\""})
    if (s.substr(pos, key.size()) == key) return true;
  return false;
}

class Parser {
 public:
  Parser(std::string_view text, int first_id) : s_(text), next_id_(first_id) {}

  // Parse JSON values one after another from `pos` (separated by whitespace, ',' or ';');
  // returns where the call text ends.
  size_t parse_sequence(size_t pos, size_t limit) {
    size_t end = pos;
    while (true) {
      size_t p = skip_space(s_, pos);
      while (p < limit && (s_[p] == ',' || s_[p] == ';')) p = skip_space(s_, p + 1);
      if (p >= limit || (s_[p] != '{' && s_[p] != '[')) return end;
      int open_left = 0;
      size_t e = balanced_end(s_.substr(0, limit), p, &open_left);
      if (e == std::string_view::npos) {
        error("tool call at byte " + std::to_string(p) + " is incomplete JSON: the text ends with " +
                  std::to_string(open_left) + " bracket(s) or string(s) still open",
              s_.substr(p, limit - p));
        return limit;
      }
      parse_value(p, e);
      pos = end = e;
    }
  }

  void parse_value(size_t begin, size_t end) {
    const std::string_view text = s_.substr(begin, end - begin);
    Json v;
    try {
      v = Json::parse(text.begin(), text.end());
    } catch (const Json::parse_error& e) {
      std::string what = e.what();
      // "[json.exception.parse_error.101] parse error at line 1, column 9: ..." → drop the tag.
      if (auto p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
      error("tool call at byte " + std::to_string(begin) + " is not valid JSON: " + what, text);
      return;
    }
    if (v.is_array()) {
      if (v.empty()) error("tool call at byte " + std::to_string(begin) + " is an empty list", text);
      for (const Json& e : v) interpret(e, begin, text);
    } else {
      interpret(v, begin, text);
    }
  }

  void interpret(const Json& v, size_t at, std::string_view text) {
    const std::string where = "tool call at byte " + std::to_string(at);
    if (!v.is_object()) {
      error(where + " must be a JSON object with \"name\" and \"arguments\"", text);
      return;
    }
    if (v.contains("tool_calls") && v["tool_calls"].is_array()) {
      for (const Json& c : v["tool_calls"]) interpret(c, at, text);
      return;
    }
    const Json& f = v.contains("function") && v["function"].is_object() ? v["function"] : v;
    if (!f.contains("name") || !f["name"].is_string() || f["name"].get<std::string>().empty()) {
      error(where + " has no \"name\" string; write {\"name\": <tool name>, \"arguments\": {...}}", text);
      return;
    }
    ToolCall call;
    call.name = f["name"].get<std::string>();
    Json args = f.contains("arguments") ? f["arguments"] : f.contains("parameters") ? f["parameters"] : Json::object();
    if (args.is_string()) {
      const std::string a = args.get<std::string>();
      Json parsed = parse_json_or_discarded(a);
      if (parsed.is_discarded()) {
        error(where + " ('" + call.name + "'): \"arguments\" is a string that is not valid JSON", text);
        return;
      }
      args = std::move(parsed);
    }
    if (args.is_null()) args = Json::object();
    if (!args.is_object()) {
      error(where + " ('" + call.name + "'): \"arguments\" must be a JSON object", text);
      return;
    }
    call.arguments = std::move(args);
    call.id = v.contains("id") && v["id"].is_string() && !v["id"].get<std::string>().empty()
                  ? v["id"].get<std::string>()
                  : "call_" + std::to_string(next_id_);
    ++next_id_;
    out_.calls.push_back(std::move(call));
  }

  void error(std::string message, std::string_view snippet) {
    ++next_id_;  // failed calls still use up a number, so later ids do not shift with fixes
    out_.errors.push_back({std::move(message), shorten(snippet)});
  }

  ParsedToolCalls out_;

 private:
  std::string_view s_;
  int next_id_;
};

struct Region {
  size_t begin, end;              // removed from the text
  size_t body_begin, body_end;    // where the JSON is
  const char* kind;               // for messages: "<tool_call> block", ...
};

size_t find_ci(std::string_view s, std::string_view what, size_t from) {
  return from > s.size() ? std::string_view::npos : s.find(what, from);
}

}  // namespace

ParsedToolCalls parse_tool_calls(std::string_view output, int first_id) {
  // Special-token markers a decoder may leave in the text.
  std::string cleaned(output);
  for (std::string_view marker : {"<|eom_id|>", "<|eot_id|>", "<|im_end|>"}) {
    for (size_t p; (p = cleaned.find(marker)) != std::string::npos;) cleaned.erase(p, marker.size());
  }
  const std::string_view s = cleaned;
  std::vector<Region> regions;

  // <tool_call> ... </tool_call> (closing tag optional at the end of the text).
  for (size_t p = 0; (p = find_ci(s, "<tool_call>", p)) != std::string_view::npos;) {
    const size_t body = p + 11;
    size_t close = s.find("</tool_call>", body);
    const size_t body_end = close == std::string_view::npos ? s.size() : close;
    const size_t end = close == std::string_view::npos ? s.size() : close + 12;
    regions.push_back({p, end, body, body_end, "<tool_call> block"});
    p = end;
  }
  // Code fences whose body is a JSON call.
  for (size_t p = 0; (p = find_ci(s, "```", p)) != std::string_view::npos;) {
    const size_t line_end = s.find('\n', p + 3);
    if (line_end == std::string_view::npos) break;
    const size_t close = s.find("```", line_end);
    const size_t body_end = close == std::string_view::npos ? s.size() : close;
    const size_t end = close == std::string_view::npos ? s.size() : close + 3;
    const bool inside_tag = std::any_of(regions.begin(), regions.end(),
                                        [&](const Region& r) { return p >= r.begin && p < r.end; });
    const size_t first = skip_space(s, line_end + 1);
    if (!inside_tag && first < body_end && (s[first] == '{' || s[first] == '['))
      regions.push_back({p, end, line_end + 1, body_end, "code block"});
    p = end;
  }
  // <|python_tag|>: the rest of the text is the call.
  if (size_t p = s.find("<|python_tag|>"); p != std::string_view::npos && regions.empty())
    regions.push_back({p, s.size(), p + 14, s.size(), "<|python_tag|> call"});
  // Bare JSON: the whole answer starts with { or [, or a call object appears in the prose.
  if (regions.empty()) {
    const size_t first = skip_space(s, 0);
    size_t start = std::string_view::npos;
    const bool starts_json = first < s.size() && (s[first] == '{' || (s[first] == '[' && [&] {
                               const size_t q = skip_space(s, first + 1);
                               return q < s.size() && s[q] == '{';
                             }()));
    if (starts_json) {
      start = first;
    } else {
      for (size_t p = 0; p < s.size(); ++p)
        if ((s[p] == '{' || s[p] == '[') && looks_like_call(s, p)) {
          start = p;
          break;
        }
    }
    if (start != std::string_view::npos) regions.push_back({start, std::string_view::npos, start, s.size(), "call"});
  }

  Parser parser(s, first_id);
  std::sort(regions.begin(), regions.end(), [](const Region& a, const Region& b) { return a.begin < b.begin; });
  for (auto& r : regions) {
    const size_t before = parser.out_.calls.size() + parser.out_.errors.size();
    const size_t json_end = parser.parse_sequence(r.body_begin, r.body_end);
    if (parser.out_.calls.size() + parser.out_.errors.size() == before)
      parser.error(std::string(r.kind) + " at byte " + std::to_string(r.begin) +
                       " holds no JSON call; write {\"name\": <tool name>, \"arguments\": {...}}",
                   s.substr(r.body_begin, r.body_end - r.body_begin));
    if (r.end == std::string_view::npos) r.end = std::max(json_end, r.begin);  // bare JSON: keep trailing prose
  }
  ParsedToolCalls out = std::move(parser.out_);
  std::string text;
  size_t pos = 0;
  for (const auto& r : regions) {
    if (r.begin > pos) text.append(s.substr(pos, r.begin - pos));
    pos = std::max(pos, r.end);
  }
  if (pos < s.size()) text.append(s.substr(pos));
  out.text = std::string(trim(text));
  return out;
}

}  // namespace kanana::tools
