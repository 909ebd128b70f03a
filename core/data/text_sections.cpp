// Section splitter and Brown corpus detokenizer (see text_sections.h).
#include "data/text_sections.h"

#include <cctype>

#include "base/strings.h"

namespace kanana::data {
namespace {

// "3.2.1. Title" → number "3.2.1", rest "Title"; false if not a heading line.
bool parse_heading(std::string_view line, std::string* number, std::string* rest) {
  if (line.empty() || !std::isdigit(static_cast<unsigned char>(line[0]))) return false;
  size_t i = 0, groups = 0;
  while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i]))) {
    while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i]))) ++i;
    if (i >= line.size() || line[i] != '.') return false;
    ++i;
    ++groups;
  }
  if (groups < 2 || i >= line.size() || line[i] != ' ') return false;
  *number = std::string(line.substr(0, i - 1));
  *rest = std::string(trim(line.substr(i)));
  return !rest->empty();
}

void flush_paragraph(std::string* para, std::string* body) {
  if (para->empty()) return;
  if (!body->empty()) *body += "\n\n";
  *body += *para;
  para->clear();
}

}  // namespace

std::vector<TextSection> split_numbered_sections(std::string_view raw) {
  // Renderers put no-break spaces after section numbers and in indents: treat them as spaces.
  std::string normalized;
  normalized.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\xC2' && i + 1 < raw.size() && raw[i + 1] == '\xA0') { normalized.push_back(' '); ++i; }
    else normalized.push_back(raw[i]);
  }
  const std::string_view text = normalized;
  std::vector<TextSection> out;
  TextSection* cur = nullptr;
  bool in_title = false;
  std::string para;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    const std::string_view line = text.substr(start, nl - start);
    std::string number, rest;
    if (parse_heading(line, &number, &rest)) {
      if (cur) flush_paragraph(&para, &cur->body);
      out.push_back({number, rest, {}});
      cur = &out.back();
      in_title = true;
    } else if (cur) {
      const std::string_view t = trim(line);
      if (t.empty()) {
        in_title = false;
        flush_paragraph(&para, &cur->body);
      } else if (in_title) {
        cur->title += " ";
        cur->title += t;
      } else if (!line.empty() && line[0] != ' ' && starts_with(t, "Chapter ")) {
        flush_paragraph(&para, &cur->body);  // chapter banner between sections
      } else {
        if (!para.empty()) para.push_back(' ');
        para += t;
      }
    }
    if (nl == text.size()) break;
    start = nl + 1;
  }
  if (cur) flush_paragraph(&para, &cur->body);
  return out;
}

std::string brown_to_text(std::string_view tagged) {
  std::string out;
  bool pending_para = false;
  bool open_quote = false;
  size_t start = 0;
  while (start <= tagged.size()) {
    size_t nl = tagged.find('\n', start);
    if (nl == std::string_view::npos) nl = tagged.size();
    const std::string_view line = trim(tagged.substr(start, nl - start));
    if (line.empty()) {
      pending_para = !out.empty();
    } else {
      if (pending_para) { out += "\n\n"; pending_para = false; }
      else if (!out.empty()) out.push_back(' ');
      bool first = true;
      for (const std::string& tok : split(line, ' ')) {
        if (tok.empty()) continue;
        const size_t slash = tok.rfind('/');
        std::string word = slash == std::string::npos ? tok : tok.substr(0, slash);
        const bool attach = word == "." || word == "," || word == ";" || word == ":" || word == "?" ||
                            word == "!" || word == "''" || word == ")" || word == "'s";
        if (word == "``") { word = "\""; open_quote = true; }
        else if (word == "''") { word = "\""; open_quote = false; }
        if (!first && !attach && !(out.size() && (out.back() == '(' || (out.back() == '"' && open_quote && word != "\""))))
          out.push_back(' ');
        out += word;
        first = false;
      }
    }
    if (nl == tagged.size()) break;
    start = nl + 1;
  }
  return out;
}

}  // namespace kanana::data
