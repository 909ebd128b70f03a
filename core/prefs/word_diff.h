// Word-level diff of two replies, for the side-by-side view of the annotation page.
//
// Text is cut into tokens: runs of word characters (letters, digits, Hangul and every other
// non-space, non-punctuation character), single punctuation marks, and runs of whitespace.
// The diff is a longest common subsequence over tokens (after stripping the common prefix and
// suffix). When the differing middle is too large for the quadratic table (more than
// `max_cells` token pairs) it is reported as one deletion and one insertion.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kanana::prefs {

std::vector<std::string> split_words(std::string_view text);

struct DiffSpan {
  enum class Op { kEqual, kDelete, kInsert };
  Op op = Op::kEqual;
  std::string text;  // consecutive tokens with the same op, joined
};

// Spans in order: kEqual text is in both, kDelete only in `a`, kInsert only in `b`.
// Concatenating the kEqual + kDelete spans gives back `a`; kEqual + kInsert gives `b`.
std::vector<DiffSpan> word_diff(std::string_view a, std::string_view b, int64_t max_cells = 4'000'000);

// Share of `a`'s and `b`'s word tokens (not whitespace) that are equal: 1 for identical texts.
double word_similarity(const std::vector<DiffSpan>& diff);

}  // namespace kanana::prefs
