// Text out of the files a RAG index ingests, with a map back to the file: plain text and
// Markdown are used as they are (text offsets = file offsets); HTML loses its tags (block
// elements become paragraph breaks, <script>/<style>/<head> are dropped, entities decoded,
// whitespace collapsed) and every byte of the text remembers which bytes of the file it came
// from, so a citation can select the passage in the original file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace kanana::rag {

enum class SourceKind { kText, kMarkdown, kHtml, kJsonl };
const char* source_kind_name(SourceKind kind);  // "text", "markdown", "html", "jsonl"
// By extension: .html/.htm/.xhtml → html, .md/.markdown → markdown, .jsonl/.ndjson → jsonl,
// anything else → text.
SourceKind source_kind_for(const std::filesystem::path& path);

struct SourceText {
  std::string text;
  // Empty when text offsets equal source offsets; else one entry per byte of `text`: the
  // source range [begin, end) that produced it (an entity maps to the whole entity, an
  // inserted paragraph break to the tag that caused it).
  std::vector<uint32_t> source_begin, source_end;

  // The source byte range of text[begin, end) (end > begin).
  std::pair<int64_t, int64_t> source_range(size_t begin, size_t end) const;
};

// HTML → text with the source map. Tolerant of broken markup (unclosed tags and comments end
// at the end of input); never fails.
SourceText html_to_source_text(std::string_view html);

// Reads a text/Markdown/HTML file (not JSONL). Error naming the file and byte offset if it is
// not valid UTF-8, or if it cannot be read.
Result<SourceText> read_source_file(const std::filesystem::path& path, SourceKind kind);

// Paragraphs of `text`: maximal runs of non-blank lines, as trimmed byte ranges [begin, end).
std::vector<std::pair<size_t, size_t>> split_paragraphs(std::string_view text);

}  // namespace kanana::rag
