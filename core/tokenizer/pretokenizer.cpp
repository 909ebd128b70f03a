// Hand-evaluated Llama 3 / Qwen pre-tokenizer regex (see pretokenizer.h).
#include "tokenizer/pretokenizer.h"

#include "tokenizer/unicode_tables.h"

namespace kanana::tok {
namespace {

constexpr std::string_view kLlama3Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr std::string_view kQwenRegex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

enum Class : uint8_t { kOther = 0, kLetter = 1, kNumber = 2, kSpace = 3 };

struct Char {
  uint32_t cp;
  uint32_t offset;  // byte offset in the text
  Class cls;
};

Class classify(uint32_t cp) {
  if (unicode::is_whitespace(cp)) return kSpace;
  if (unicode::is_letter(cp)) return kLetter;
  if (unicode::is_number(cp)) return kNumber;
  return kOther;
}

// Simple case folding restricted to the letters of the contraction alternative: (?i) makes
// 's' also match 'S' and U+017F LATIN SMALL LETTER LONG S (which folds to 's').
uint32_t fold(uint32_t cp) {
  if (cp >= 'A' && cp <= 'Z') return cp + 32;
  if (cp == 0x17F) return 's';
  return cp;
}

bool is_crlf(uint32_t cp) { return cp == '\r' || cp == '\n'; }

// Length (in chars) of the match at chars[i]; always >= 1.
size_t match_at(const std::vector<Char>& c, size_t i, const SplitPattern& pattern) {
  const size_t n = c.size();
  // (?i:'s|'t|'re|'ve|'m|'ll|'d)
  if (c[i].cp == '\'' && i + 1 < n) {
    const uint32_t a = fold(c[i + 1].cp);
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if (i + 2 < n) {
      const uint32_t b = fold(c[i + 2].cp);
      if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
    }
  }
  // [^\r\n\p{L}\p{N}]?\p{L}+
  {
    size_t j = i;
    if (c[j].cls != kLetter && c[j].cls != kNumber && !is_crlf(c[j].cp) && j + 1 < n && c[j + 1].cls == kLetter) ++j;
    if (c[j].cls == kLetter) {
      while (j < n && c[j].cls == kLetter) ++j;
      return j - i;
    }
  }
  // \p{N}{1,3} (Llama 3) or \p{N} (Qwen)
  if (c[i].cls == kNumber) {
    size_t j = i;
    while (j < n && c[j].cls == kNumber && j - i < static_cast<size_t>(pattern.max_digits)) ++j;
    return j - i;
  }
  // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
  {
    size_t j = i;
    if (c[j].cp == ' ' && j + 1 < n && c[j + 1].cls == kOther) ++j;
    if (c[j].cls == kOther) {
      while (j < n && c[j].cls == kOther) ++j;
      while (j < n && is_crlf(c[j].cp)) ++j;
      return j - i;
    }
  }
  // The remaining alternatives all start with whitespace: c[i] is in a run [i, e).
  size_t e = i;
  while (e < n && c[e].cls == kSpace) ++e;
  // \s*[\r\n]+ : \s* backtracks to the last CR/LF of the run, then [\r\n]+ takes it.
  for (size_t k = e; k > i; --k) {
    if (is_crlf(c[k - 1].cp)) return k - i;
  }
  // \s+(?!\S) : the whole run at the end of text, else all but its last char (needs two).
  if (e == n) return e - i;
  if (e - i >= 2) return e - i - 1;
  // \s+
  return e - i;
}

}  // namespace

std::optional<SplitPattern> recognize_split_regex(std::string_view regex) {
  if (regex == kLlama3Regex) return SplitPattern{3};
  if (regex == kQwenRegex) return SplitPattern{1};
  return std::nullopt;
}

void split_pretokens(std::string_view text, const SplitPattern& pattern, std::vector<std::string_view>* pieces) {
  pieces->clear();
  if (text.empty()) return;
  // Decode once; the text is valid UTF-8 (the tokenizer made it so).
  std::vector<Char> chars;
  chars.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const auto b0 = static_cast<uint8_t>(text[pos]);
    uint32_t cp;
    size_t len;
    if (b0 < 0x80) {
      cp = b0, len = 1;
    } else if (b0 < 0xE0) {
      cp = b0 & 0x1F, len = 2;
    } else if (b0 < 0xF0) {
      cp = b0 & 0x0F, len = 3;
    } else {
      cp = b0 & 0x07, len = 4;
    }
    if (pos + len > text.size()) len = text.size() - pos;
    for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<uint8_t>(text[pos + k]) & 0x3F);
    chars.push_back({cp, static_cast<uint32_t>(pos), classify(cp)});
    pos += len;
  }
  for (size_t i = 0; i < chars.size();) {
    const size_t len = match_at(chars, i, pattern);
    const size_t begin = chars[i].offset;
    const size_t end = i + len < chars.size() ? chars[i + len].offset : text.size();
    pieces->push_back(text.substr(begin, end - begin));
    i += len;
  }
}

}  // namespace kanana::tok
