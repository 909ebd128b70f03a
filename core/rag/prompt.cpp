// Cited RAG prompts and citation parsing (prompt.h).
#include "rag/prompt.h"

#include <filesystem>

#include "base/files.h"
#include "base/json.h"
#include "base/strings.h"

namespace kanana::rag {
namespace {

// One pass over the template, so a "{question}" inside a source (or the reverse) stays literal.
std::string fill_template(std::string_view tpl, std::string_view sources, std::string_view question) {
  std::string out;
  size_t pos = 0;
  while (pos < tpl.size()) {
    if (tpl.compare(pos, 9, "{sources}") == 0) {
      out += sources;
      pos += 9;
    } else if (tpl.compare(pos, 10, "{question}") == 0) {
      out += question;
      pos += 10;
    } else {
      out += tpl[pos++];
    }
  }
  return out;
}

// At most `max` bytes, cut back to a code-point boundary.
std::string utf8_prefix(std::string_view text, size_t max) {
  if (text.size() <= max) return std::string(text);
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut));
}

// "[" or full-width "［" at `pos`: its byte length, else 0.
size_t open_bracket(std::string_view s, size_t pos) {
  if (s[pos] == '[') return 1;
  if (s.compare(pos, 3, "\xEF\xBC\xBB") == 0) return 3;
  return 0;
}
size_t close_bracket(std::string_view s, size_t pos) {
  if (s[pos] == ']') return 1;
  if (s.compare(pos, 3, "\xEF\xBC\xBD") == 0) return 3;
  return 0;
}

}  // namespace

RagPrompt build_rag_prompt(std::string_view question, const std::vector<SearchHit>& hits, const PromptOptions& options) {
  RagPrompt out;
  out.system = options.system.empty() ? kDefaultRagSystem : options.system;
  std::string sources;
  for (const auto& hit : hits) {
    if (out.citations.size() >= options.max_sources) break;
    std::string passage(trim(hit.chunk.text));
    if (passage.size() > options.max_source_chars) passage = utf8_prefix(passage, options.max_source_chars) + "…";
    const int number = int(out.citations.size()) + 1;
    std::string label = std::filesystem::path(hit.chunk.span.path).filename().string();
    if (hit.chunk.span.line > 0) label += ", line " + std::to_string(hit.chunk.span.line);
    std::string entry = "[" + std::to_string(number) + "] (" + label + ") " + passage + "\n";
    if (!out.citations.empty() && sources.size() + entry.size() > options.max_total_chars) break;
    sources += entry;
    Citation c;
    c.number = number;
    c.chunk_id = hit.chunk.id;
    c.span = hit.chunk.span;
    c.text = std::move(passage);
    out.citations.push_back(std::move(c));
  }
  if (sources.empty()) sources = "(no sources were found)\n";
  const std::string_view tpl =
      options.user_template.empty() ? std::string_view(kDefaultRagUserTemplate) : std::string_view(options.user_template);
  out.user = fill_template(tpl, std::string_view(sources).substr(0, sources.size() - 1), trim(question));
  return out;
}

std::vector<CitationMark> find_citations(std::string_view answer, const std::vector<Citation>& citations) {
  std::vector<CitationMark> out;
  size_t pos = 0;
  while (pos < answer.size()) {
    const size_t ob = open_bracket(answer, pos);
    if (!ob) {
      ++pos;
      continue;
    }
    // Numbers separated by commas (ASCII or full-width "，") and spaces, then a closing bracket.
    std::vector<int> numbers;
    size_t i = pos + ob;
    bool ok = true;
    bool expect_number = true;
    size_t cb = 0;
    while (i < answer.size() && ok) {
      if ((cb = close_bracket(answer, i))) break;
      const char c = answer[i];
      if (c >= '0' && c <= '9' && expect_number) {
        int64_t v = 0;
        size_t digits = 0;
        while (i < answer.size() && answer[i] >= '0' && answer[i] <= '9') {
          v = v * 10 + (answer[i] - '0');
          ++i;
          if (++digits > 6) ok = false;
        }
        numbers.push_back(int(v));
        expect_number = false;
      } else if (c == ',' && !expect_number) {
        expect_number = true;
        ++i;
      } else if (answer.compare(i, 3, "\xEF\xBC\x8C") == 0 && !expect_number) {
        expect_number = true;
        i += 3;
      } else if (c == ' ') {
        ++i;
      } else {
        ok = false;
      }
    }
    if (ok && cb && !numbers.empty() && !expect_number) {
      const size_t end = i + cb;
      for (int n : numbers) {
        CitationMark m;
        m.begin = pos;
        m.end = end;
        m.number = n;
        if (n >= 1 && size_t(n) <= citations.size() && citations[size_t(n - 1)].number == n)
          m.citation = &citations[size_t(n - 1)];
        out.push_back(m);
      }
      pos = end;
    } else {
      pos += ob;
    }
  }
  return out;
}

Result<std::string> read_cited_passage(const SourceSpan& span, const std::string& text_field) {
  KANANA_ASSIGN_OR_RETURN(std::string bytes, read_file(span.path));
  if (span.begin < 0 || span.end < span.begin) return invalid_argument(span.to_string() + ": invalid range");
  if (span.kind != "jsonl") {
    if (size_t(span.end) > bytes.size())
      return out_of_range(span.to_string() + ": the file is now " + std::to_string(bytes.size()) +
                          " bytes; re-index it");
    return bytes.substr(size_t(span.begin), size_t(span.end - span.begin));
  }
  size_t pos = 0;
  for (int64_t line = 1; line < span.line && pos != std::string::npos; ++line) {
    pos = bytes.find('\n', pos);
    if (pos != std::string::npos) ++pos;
  }
  if (pos == std::string::npos || pos >= bytes.size())
    return out_of_range(span.to_string() + ": the file has fewer lines now; re-index it");
  const size_t eol = bytes.find('\n', pos);
  const std::string origin = span.path + ":" + std::to_string(span.line);
  Json j = parse_json_or_discarded(std::string_view(bytes).substr(pos, eol == std::string::npos ? std::string::npos : eol - pos));
  if (j.is_discarded() || !j.is_object() || !j.contains(text_field) || !j[text_field].is_string())
    return data_loss(origin + ": the record no longer has a string field '" + text_field + "'; re-index it");
  const std::string& text = j[text_field].get_ref<const std::string&>();
  if (size_t(span.end) > text.size())
    return out_of_range(origin + ": field '" + text_field + "' is shorter than the cited range; re-index it");
  return text.substr(size_t(span.begin), size_t(span.end - span.begin));
}

}  // namespace kanana::rag
