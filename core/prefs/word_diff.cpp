// Word tokens and an LCS diff over them.
#include "prefs/word_diff.h"

#include <algorithm>

#include "base/strings.h"

namespace kanana::prefs {

namespace {

enum class CharClass { kSpace, kPunct, kWord };

CharClass classify(int32_t cp) {
  if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\f' || cp == '\v' || cp == 0x3000 || cp == 0xA0)
    return CharClass::kSpace;
  if (cp >= 0 && cp < 0x80 && !((cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || cp == '_'))
    return CharClass::kPunct;
  // CJK symbols and punctuation, fullwidth punctuation, general punctuation.
  if ((cp >= 0x3001 && cp <= 0x303F) || (cp >= 0xFF01 && cp <= 0xFF0F) || (cp >= 0xFF1A && cp <= 0xFF20) ||
      (cp >= 0x2010 && cp <= 0x206F))
    return CharClass::kPunct;
  return CharClass::kWord;
}

bool is_space_token(const std::string& t) {
  size_t pos = 0;
  return !t.empty() && classify(utf8_next(t, &pos)) == CharClass::kSpace;
}

void push(std::vector<DiffSpan>* out, DiffSpan::Op op, const std::string& text) {
  if (text.empty()) return;
  if (!out->empty() && out->back().op == op) {
    out->back().text += text;
  } else {
    out->push_back({op, text});
  }
}

}  // namespace

std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> tokens;
  size_t pos = 0;
  CharClass current = CharClass::kPunct;
  std::string token;
  while (pos < text.size()) {
    const size_t start = pos;
    const int32_t cp = utf8_next(text, &pos);
    const CharClass cls = cp < 0 ? CharClass::kWord : classify(cp);
    const bool joins = !token.empty() && cls == current && cls != CharClass::kPunct;
    if (!joins && !token.empty()) {
      tokens.push_back(std::move(token));
      token.clear();
    }
    token.append(text.substr(start, pos - start));
    current = cls;
  }
  if (!token.empty()) tokens.push_back(std::move(token));
  return tokens;
}

std::vector<DiffSpan> word_diff(std::string_view a_text, std::string_view b_text, int64_t max_cells) {
  const std::vector<std::string> a = split_words(a_text), b = split_words(b_text);
  size_t prefix = 0;
  while (prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) ++prefix;
  size_t suffix = 0;
  while (suffix < a.size() - prefix && suffix < b.size() - prefix && a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix])
    ++suffix;
  std::vector<DiffSpan> out;
  for (size_t i = 0; i < prefix; ++i) push(&out, DiffSpan::Op::kEqual, a[i]);
  const size_t n = a.size() - prefix - suffix, m = b.size() - prefix - suffix;
  if (n > 0 || m > 0) {
    if (n == 0 || m == 0 || static_cast<int64_t>(n) * static_cast<int64_t>(m) > max_cells) {
      for (size_t i = 0; i < n; ++i) push(&out, DiffSpan::Op::kDelete, a[prefix + i]);
      for (size_t j = 0; j < m; ++j) push(&out, DiffSpan::Op::kInsert, b[prefix + j]);
    } else {
      // lcs[i][j]: LCS length of a[prefix+i..) and b[prefix+j..), so the walk goes forward.
      std::vector<uint32_t> lcs((n + 1) * (m + 1), 0);
      auto at = [&](size_t i, size_t j) -> uint32_t& { return lcs[i * (m + 1) + j]; };
      for (size_t i = n; i-- > 0;)
        for (size_t j = m; j-- > 0;)
          at(i, j) = a[prefix + i] == b[prefix + j] ? at(i + 1, j + 1) + 1 : std::max(at(i + 1, j), at(i, j + 1));
      size_t i = 0, j = 0;
      while (i < n && j < m) {
        if (a[prefix + i] == b[prefix + j]) {
          push(&out, DiffSpan::Op::kEqual, a[prefix + i]);
          ++i, ++j;
        } else if (at(i + 1, j) >= at(i, j + 1)) {
          push(&out, DiffSpan::Op::kDelete, a[prefix + i++]);
        } else {
          push(&out, DiffSpan::Op::kInsert, b[prefix + j++]);
        }
      }
      for (; i < n; ++i) push(&out, DiffSpan::Op::kDelete, a[prefix + i]);
      for (; j < m; ++j) push(&out, DiffSpan::Op::kInsert, b[prefix + j]);
    }
  }
  for (size_t i = a.size() - suffix; i < a.size(); ++i) push(&out, DiffSpan::Op::kEqual, a[i]);
  return out;
}

double word_similarity(const std::vector<DiffSpan>& diff) {
  double equal = 0, total = 0;
  for (const DiffSpan& s : diff) {
    for (const std::string& t : split_words(s.text)) {
      if (is_space_token(t)) continue;
      const double w = s.op == DiffSpan::Op::kEqual ? 2.0 : 1.0;  // an equal token is in both texts
      total += w;
      if (s.op == DiffSpan::Op::kEqual) equal += w;
    }
  }
  return total == 0 ? 1.0 : equal / total;
}

}  // namespace kanana::prefs
