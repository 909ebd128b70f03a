// What the document viewer highlights, computed without widgets so tests can check it:
// PII spans (data::find_pii, byte offsets), Korean vs English segments (runs of Hangul vs
// Latin letters; spaces, digits and punctuation stay with the run they are in), and
// duplicate spans (lines repeated inside the document, or shared with its cluster's first
// document). All spans are UTF-8 byte ranges [begin, end) into the document text;
// byteToCharOffsets() maps them to QString (UTF-16) positions for a QTextDocument.
#pragma once

#include <QString>
#include <cstddef>
#include <string_view>
#include <vector>

#include "data/pii.h"

namespace kanana::datainspector {

enum class ScriptRun { kKorean, kEnglish, kOther };

struct TextSpan {
  size_t begin = 0, end = 0;
};

struct ScriptSpan : TextSpan {
  ScriptRun script = ScriptRun::kOther;
};

std::vector<ScriptSpan> script_segments(std::string_view text);

// Lines (trimmed, non-empty) that occur twice or more in `text`, or that also occur in
// `reference` (may be empty), as byte spans of the trimmed lines in `text`.
std::vector<TextSpan> duplicate_line_spans(std::string_view text, std::string_view reference);

// UTF-8 byte offset → UTF-16 index, for every byte offset 0..text.size() (invalid bytes
// count as one U+FFFD, as QString::fromUtf8 decodes them).
std::vector<int> byteToCharOffsets(std::string_view text);

// Everything the viewer paints, in QString (UTF-16) positions of QString::fromUtf8(text).
enum class HighlightKind { kKorean, kEnglish, kDuplicate, kPii };
struct Highlight {
  int start = 0, length = 0;
  HighlightKind kind = HighlightKind::kKorean;
  data::PiiType pii = data::PiiType::kEmail;  // for kPii
};
std::vector<Highlight> document_highlights(std::string_view text, std::string_view reference,
                                           const data::PiiOptions& pii = {});

}  // namespace kanana::datainspector
