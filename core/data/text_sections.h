// Numbered sections of plain-text manuals (Debian FAQ, installation guide as rendered to
// text): a heading is a line at column 0 like "3.2. Title" or "3.2.1. Title" (two or more
// numbers; single-number chapter lines and the indented table of contents are not headings).
// A heading may wrap onto following lines until a blank line.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kanana::data {

struct TextSection {
  std::string number;  // "3.2.1"
  std::string title;   // heading text, wrapped lines joined
  std::string body;    // paragraphs, each re-flowed to one line, separated by blank lines
};

std::vector<TextSection> split_numbered_sections(std::string_view text);

// Brown corpus "word/tag" tokens to plain text: tags dropped, `` '' turned into quotes,
// punctuation attached to the previous word. Paragraphs (blank-line separated) are kept.
std::string brown_to_text(std::string_view tagged);

}  // namespace kanana::data
