// File text for the RAG index, HTML with a byte map back to the markup (source_text.h).
#include "rag/source_text.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "base/files.h"
#include "base/strings.h"

namespace kanana::rag {
namespace {

namespace fs = std::filesystem;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Elements whose boundaries separate paragraphs / lines.
const std::set<std::string>& paragraph_tags() {
  static const std::set<std::string> t = {
      "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "table", "section", "article",
      "header", "footer", "nav", "blockquote", "pre", "figure", "figcaption", "main", "aside", "body",
      "html", "form", "fieldset", "address", "hr", "details", "summary", "caption"};
  return t;
}
const std::set<std::string>& line_tags() {
  static const std::set<std::string> t = {"br", "li", "tr", "dt", "dd", "option"};
  return t;
}
const std::set<std::string>& cell_tags() {
  static const std::set<std::string> t = {"td", "th"};
  return t;
}
// Elements whose content is not visible text.
const std::set<std::string>& hidden_tags() {
  static const std::set<std::string> t = {"script", "style", "head", "noscript", "template", "svg", "math"};
  return t;
}

const std::map<std::string, uint32_t>& named_entities() {
  static const std::map<std::string, uint32_t> e = {
      {"amp", '&'},     {"lt", '<'},       {"gt", '>'},       {"quot", '"'},     {"apos", '\''},
      {"nbsp", 0xA0},   {"ndash", 0x2013}, {"mdash", 0x2014}, {"hellip", 0x2026}, {"laquo", 0xAB},
      {"raquo", 0xBB},  {"copy", 0xA9},    {"reg", 0xAE},     {"trade", 0x2122}, {"lsquo", 0x2018},
      {"rsquo", 0x2019}, {"ldquo", 0x201C}, {"rdquo", 0x201D}, {"middot", 0xB7},  {"times", 0xD7},
      {"bull", 0x2022}, {"rarr", 0x2192},  {"larr", 0x2190},  {"deg", 0xB0},     {"shy", 0xAD}};
  return e;
}

class HtmlStripper {
 public:
  explicit HtmlStripper(std::string_view html) : in_(html) {}

  SourceText run() {
    size_t i = 0;
    while (i < in_.size()) {
      const char c = in_[i];
      if (c == '<') {
        i = tag(i);
      } else if (hidden_depth_ > 0) {
        ++i;
      } else if (c == '&') {
        i = entity(i);
      } else if (is_space(c)) {
        if (pre_depth_ > 0 && c == '\n') {
          request(Sep::kLine, i, i + 1);
        } else {
          request(Sep::kSpace, i, i + 1);
        }
        ++i;
      } else {
        emit_char(std::string_view(&in_[i], 1), i, i + 1);
        ++i;
      }
    }
    return std::move(out_);
  }

 private:
  enum class Sep { kNone = 0, kSpace = 1, kLine = 2, kParagraph = 3 };

  // A separator waits until visible text follows, so runs of tags/whitespace collapse to the
  // strongest of them and nothing trails at the end.
  void request(Sep s, size_t begin, size_t end) {
    if (s > pending_) {
      pending_ = s;
      pending_begin_ = begin;
      pending_end_ = end;
    }
  }

  void put(std::string_view bytes, size_t begin, size_t end) {
    out_.text.append(bytes);
    for (size_t k = 0; k < bytes.size(); ++k) {
      out_.source_begin.push_back(uint32_t(begin));
      out_.source_end.push_back(uint32_t(end));
    }
  }

  void emit_char(std::string_view bytes, size_t begin, size_t end) {
    if (pending_ != Sep::kNone && !out_.text.empty()) {
      const char* sep = pending_ == Sep::kParagraph ? "\n\n" : pending_ == Sep::kLine ? "\n" : " ";
      put(sep, pending_begin_, pending_end_);
    }
    pending_ = Sep::kNone;
    put(bytes, begin, end);
  }

  size_t entity(size_t i) {
    size_t semi = i + 1;
    while (semi < in_.size() && semi - i <= 10 && in_[semi] != ';' && in_[semi] != '&' && !is_space(in_[semi])) ++semi;
    if (semi >= in_.size() || in_[semi] != ';') {
      emit_char("&", i, i + 1);
      return i + 1;
    }
    const std::string_view name = in_.substr(i + 1, semi - i - 1);
    uint32_t cp = 0;
    bool ok = false;
    if (name.size() > 1 && name[0] == '#') {
      const bool hex = name[1] == 'x' || name[1] == 'X';
      const std::string_view digits = name.substr(hex ? 2 : 1);
      ok = !digits.empty() && digits.size() <= 7;
      for (char d : digits) {
        if (!ok) break;
        const int v = std::isdigit(static_cast<unsigned char>(d)) ? d - '0'
                      : hex && std::isxdigit(static_cast<unsigned char>(d)) ? (std::tolower(d) - 'a' + 10)
                                                                             : -1;
        if (v < 0) ok = false;
        cp = cp * (hex ? 16 : 10) + uint32_t(v);
      }
      if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) ok = false;
    } else {
      auto it = named_entities().find(std::string(name));
      if (it != named_entities().end()) {
        cp = it->second;
        ok = true;
      }
    }
    if (!ok) {
      emit_char("&", i, i + 1);
      return i + 1;
    }
    if (cp == 0xA0 || cp == ' ') {
      request(Sep::kSpace, i, semi + 1);
    } else if (cp != 0xAD) {  // soft hyphen: invisible
      std::string bytes;
      append_utf8(&bytes, cp);
      emit_char(bytes, i, semi + 1);
    }
    return semi + 1;
  }

  // Parses the tag starting at '<' and returns the index after it.
  size_t tag(size_t i) {
    if (in_.compare(i, 4, "<!--") == 0) {
      const size_t end = in_.find("-->", i + 4);
      return end == std::string_view::npos ? in_.size() : end + 3;
    }
    size_t j = i + 1;
    const bool closing = j < in_.size() && in_[j] == '/';
    if (closing) ++j;
    const size_t name_begin = j;
    while (j < in_.size() && (std::isalnum(static_cast<unsigned char>(in_[j])) || in_[j] == '-' || in_[j] == ':')) ++j;
    if (j == name_begin && !(j < in_.size() && (in_[j] == '!' || in_[j] == '?'))) {
      // "<" not starting a tag (e.g. "a < b"): visible text.
      if (hidden_depth_ == 0) emit_char("<", i, i + 1);
      return i + 1;
    }
    std::string name = to_lower_ascii(in_.substr(name_begin, j - name_begin));
    // Skip attributes, honouring quotes (a '>' inside a quoted value does not end the tag).
    char quote = 0;
    while (j < in_.size()) {
      const char c = in_[j];
      if (quote) {
        if (c == quote) quote = 0;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '>') {
        break;
      }
      ++j;
    }
    const size_t end = j < in_.size() ? j + 1 : in_.size();
    const bool self_closing = end >= 2 && in_[end - 2] == '/';
    if (hidden_tags().count(name)) {
      if (closing) {
        if (hidden_depth_ > 0) --hidden_depth_;
      } else if (!self_closing) {
        ++hidden_depth_;
      }
      return end;
    }
    if (hidden_depth_ > 0) return end;
    if (name == "pre") pre_depth_ = closing ? std::max(0, pre_depth_ - 1) : pre_depth_ + 1;
    if (paragraph_tags().count(name)) {
      request(Sep::kParagraph, i, end);
    } else if (line_tags().count(name)) {
      request(Sep::kLine, i, end);
    } else if (cell_tags().count(name)) {
      request(Sep::kSpace, i, end);
    }
    return end;
  }

  std::string_view in_;
  SourceText out_;
  Sep pending_ = Sep::kNone;
  size_t pending_begin_ = 0, pending_end_ = 0;
  int hidden_depth_ = 0;
  int pre_depth_ = 0;
};

}  // namespace

const char* source_kind_name(SourceKind kind) {
  switch (kind) {
    case SourceKind::kMarkdown: return "markdown";
    case SourceKind::kHtml: return "html";
    case SourceKind::kJsonl: return "jsonl";
    default: return "text";
  }
}

SourceKind source_kind_for(const fs::path& path) {
  const std::string ext = to_lower_ascii(path.extension().string());
  if (ext == ".html" || ext == ".htm" || ext == ".xhtml") return SourceKind::kHtml;
  if (ext == ".md" || ext == ".markdown") return SourceKind::kMarkdown;
  if (ext == ".jsonl" || ext == ".ndjson") return SourceKind::kJsonl;
  return SourceKind::kText;
}

std::pair<int64_t, int64_t> SourceText::source_range(size_t begin, size_t end) const {
  if (source_begin.empty()) return {int64_t(begin), int64_t(end)};
  return {int64_t(source_begin[begin]), int64_t(source_end[end - 1])};
}

SourceText html_to_source_text(std::string_view html) { return HtmlStripper(html).run(); }

Result<SourceText> read_source_file(const fs::path& path, SourceKind kind) {
  KANANA_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  if (!is_valid_utf8(bytes)) {
    size_t pos = 0;
    while (pos < bytes.size()) {
      const size_t at = pos;
      if (utf8_next(bytes, &pos) < 0) {
        const int64_t line = 1 + std::count(bytes.begin(), bytes.begin() + int64_t(at), '\n');
        return invalid_argument(path.string() + ":" + std::to_string(line) + ": not valid UTF-8 (byte offset " +
                                std::to_string(at) + ")");
      }
    }
  }
  if (kind == SourceKind::kHtml) return html_to_source_text(bytes);
  SourceText t;
  t.text = std::move(bytes);
  return t;
}

std::vector<std::pair<size_t, size_t>> split_paragraphs(std::string_view text) {
  std::vector<std::pair<size_t, size_t>> out;
  size_t pos = 0;
  size_t para_begin = std::string_view::npos, para_end = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    const std::string_view line = text.substr(pos, eol - pos);
    if (trim(line).empty()) {
      if (para_begin != std::string_view::npos) out.push_back({para_begin, para_end});
      para_begin = std::string_view::npos;
    } else {
      size_t b = pos, e = eol;
      while (b < e && is_space(text[b])) ++b;
      while (e > b && is_space(text[e - 1])) --e;
      if (para_begin == std::string_view::npos) para_begin = b;
      para_end = e;
    }
    pos = eol + 1;
  }
  if (para_begin != std::string_view::npos) out.push_back({para_begin, para_end});
  return out;
}

}  // namespace kanana::rag
