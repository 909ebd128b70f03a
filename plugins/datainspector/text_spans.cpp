// Highlight spans for the document viewer: scripts, repeated lines, UTF-8 → UTF-16 offsets.
#include "text_spans.h"

#include <string>
#include <unordered_map>

#include "base/strings.h"
#include "data/script.h"

namespace kanana::datainspector {

std::vector<ScriptSpan> script_segments(std::string_view text) {
  std::vector<ScriptSpan> out;
  bool neutralOnly = false;  // out.back() holds only spaces/digits/punctuation so far
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t start = pos;
    const int32_t cp = utf8_next(text, &pos);
    const auto s = cp < 0 ? data::ScriptClass::kPunct : data::script_of(static_cast<uint32_t>(cp));
    if (s == data::ScriptClass::kSpace || s == data::ScriptClass::kDigit || s == data::ScriptClass::kPunct) {
      // Neutral characters join the run they are in (spans cover every byte, in order).
      if (!out.empty()) out.back().end = pos;
      else out.push_back({{start, pos}, ScriptRun::kOther}), neutralOnly = true;
      continue;
    }
    const ScriptRun run = s == data::ScriptClass::kHangul  ? ScriptRun::kKorean
                          : s == data::ScriptClass::kLatin ? ScriptRun::kEnglish
                                                           : ScriptRun::kOther;
    if (!out.empty() && (out.back().script == run || neutralOnly)) {
      out.back().script = run;
      out.back().end = pos;
    } else {
      out.push_back({{start, pos}, run});
    }
    neutralOnly = false;
  }
  return out;
}

namespace {
struct Line {
  size_t begin, end;
};
std::vector<Line> trimmedLines(std::string_view text) {
  std::vector<Line> lines;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    size_t b = pos, e = nl;
    while (b < e && (text[b] == ' ' || text[b] == '\t' || text[b] == '\r')) ++b;
    while (e > b && (text[e - 1] == ' ' || text[e - 1] == '\t' || text[e - 1] == '\r')) --e;
    if (e > b) lines.push_back({b, e});
    pos = nl + 1;
  }
  return lines;
}
}  // namespace

std::vector<TextSpan> duplicate_line_spans(std::string_view text, std::string_view reference) {
  const auto lines = trimmedLines(text);
  std::unordered_map<std::string_view, int> count;
  for (const auto& l : lines) ++count[text.substr(l.begin, l.end - l.begin)];
  std::unordered_map<std::string_view, int> inReference;
  for (const auto& l : trimmedLines(reference)) ++inReference[reference.substr(l.begin, l.end - l.begin)];
  std::vector<TextSpan> out;
  for (const auto& l : lines) {
    const auto key = text.substr(l.begin, l.end - l.begin);
    if (count[key] > 1 || inReference.count(key)) out.push_back({l.begin, l.end});
  }
  return out;
}

std::vector<int> byteToCharOffsets(std::string_view text) {
  std::vector<int> map(text.size() + 1, 0);
  size_t pos = 0;
  int units = 0;
  while (pos < text.size()) {
    const size_t start = pos;
    const int32_t cp = utf8_next(text, &pos);
    for (size_t b = start; b < pos; ++b) map[b] = units;
    units += (cp > 0xFFFF) ? 2 : 1;
  }
  map[text.size()] = units;
  return map;
}

std::vector<Highlight> document_highlights(std::string_view text, std::string_view reference,
                                           const data::PiiOptions& pii) {
  const std::vector<int> map = byteToCharOffsets(text);
  auto make = [&](size_t b, size_t e, HighlightKind kind) {
    Highlight h;
    h.start = map[b];
    h.length = map[e] - map[b];
    h.kind = kind;
    return h;
  };
  std::vector<Highlight> out;
  // Painted in this order, so PII (last) stays visible over the script shading.
  for (const auto& s : script_segments(text))
    if (s.script != ScriptRun::kOther)
      out.push_back(make(s.begin, s.end, s.script == ScriptRun::kKorean ? HighlightKind::kKorean : HighlightKind::kEnglish));
  for (const auto& s : duplicate_line_spans(text, reference)) out.push_back(make(s.begin, s.end, HighlightKind::kDuplicate));
  for (const auto& s : data::find_pii(text, pii)) {
    Highlight h = make(s.begin, s.end, HighlightKind::kPii);
    h.pii = s.type;
    out.push_back(h);
  }
  return out;
}

}  // namespace kanana::datainspector
