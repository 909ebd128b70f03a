// HTML to text for the demo importers (see html_text.h). A small tolerant scanner, not a
// full HTML parser: help pages are machine-generated and well-formed enough for this.
#include "data/html_text.h"

#include <cctype>
#include <cstdlib>

#include "base/strings.h"

namespace kanana::data {
namespace {

bool iequal_prefix(std::string_view s, size_t pos, std::string_view word) {
  if (pos + word.size() > s.size()) return false;
  for (size_t i = 0; i < word.size(); ++i)
    if ((s[pos + i] | 0x20) != word[i]) return false;
  return true;
}

void decode_entity(std::string_view html, size_t* pos, std::string* out) {
  const size_t semi = html.find(';', *pos);
  if (semi == std::string_view::npos || semi - *pos > 10) { out->push_back('&'); ++*pos; return; }
  std::string_view name = html.substr(*pos + 1, semi - *pos - 1);
  uint32_t cp = 0;
  if (name == "amp") cp = '&';
  else if (name == "lt") cp = '<';
  else if (name == "gt") cp = '>';
  else if (name == "quot") cp = '"';
  else if (name == "apos") cp = '\'';
  else if (name == "nbsp") cp = ' ';
  else if (name.size() > 1 && name[0] == '#') {
    const bool hex = name[1] == 'x' || name[1] == 'X';
    cp = static_cast<uint32_t>(std::strtoul(std::string(name.substr(hex ? 2 : 1)).c_str(), nullptr, hex ? 16 : 10));
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  } else {
    out->push_back('&');
    ++*pos;
    return;
  }
  append_utf8(out, cp);
  *pos = semi + 1;
}

}  // namespace

std::string html_to_text(std::string_view html) {
  std::string raw;
  raw.reserve(html.size());
  size_t i = 0;
  while (i < html.size()) {
    const char c = html[i];
    if (c == '<') {
      for (std::string_view skip : {std::string_view("script"), std::string_view("style")}) {
        if (iequal_prefix(html, i + 1, skip)) {
          const size_t close = html.find(std::string("</") + std::string(skip), i);
          i = close == std::string_view::npos ? html.size() : close;
          break;
        }
      }
      const size_t end = html.find('>', i);
      if (end == std::string_view::npos) break;
      // Block-level tags separate words.
      raw.push_back(' ');
      i = end + 1;
    } else if (c == '&') {
      decode_entity(html, &i, &raw);
    } else {
      raw.push_back(c);
      ++i;
    }
  }
  std::string out;
  out.reserve(raw.size());
  bool space = false;
  for (char ch : raw) {
    if (ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r') { space = true; continue; }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(ch);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> html_paragraphs_by_id(std::string_view html,
                                                                        std::string_view id_prefix) {
  std::vector<std::pair<std::string, std::string>> out;
  const std::string needle = "id=\"" + std::string(id_prefix);
  size_t pos = 0;
  while ((pos = html.find(needle, pos)) != std::string_view::npos) {
    const size_t id_begin = pos + 4;
    const size_t id_end = html.find('"', id_begin);
    const size_t tag_open = html.rfind('<', pos);
    const size_t tag_end = html.find('>', pos);
    if (id_end == std::string_view::npos || tag_open == std::string_view::npos || tag_end == std::string_view::npos) break;
    size_t name_end = tag_open + 1;
    while (name_end < html.size() && std::isalnum(static_cast<unsigned char>(html[name_end]))) ++name_end;
    const std::string tag(html.substr(tag_open + 1, name_end - tag_open - 1));
    // Find the matching close tag, counting nested elements of the same name.
    int depth = 1;
    size_t scan = tag_end + 1, content_end = std::string_view::npos;
    while (depth > 0) {
      const size_t lt = html.find('<', scan);
      if (lt == std::string_view::npos) break;
      if (html.compare(lt + 1, 1, "/") == 0 && iequal_prefix(html, lt + 2, tag) &&
          !std::isalnum(static_cast<unsigned char>(html[std::min(html.size() - 1, lt + 2 + tag.size())]))) {
        if (--depth == 0) { content_end = lt; break; }
      } else if (iequal_prefix(html, lt + 1, tag) &&
                 !std::isalnum(static_cast<unsigned char>(html[std::min(html.size() - 1, lt + 1 + tag.size())]))) {
        ++depth;
      }
      scan = lt + 1;
    }
    if (content_end == std::string_view::npos) break;
    std::string text = html_to_text(html.substr(tag_end + 1, content_end - tag_end - 1));
    if (!text.empty()) out.emplace_back(std::string(html.substr(id_begin, id_end - id_begin)), std::move(text));
    pos = tag_end + 1;
  }
  return out;
}

}  // namespace kanana::data
