// Paragraph-respecting token chunks (chunker.h).
#include "rag/chunker.h"

#include <algorithm>

#include "base/strings.h"
#include "rag/source_text.h"

namespace kanana::rag {
namespace {

struct Unit {
  size_t begin = 0, end = 0;
  int64_t tokens = 0;
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// [begin, end) without surrounding whitespace; empty ranges are dropped by callers.
std::pair<size_t, size_t> trimmed(std::string_view text, size_t begin, size_t end) {
  while (begin < end && is_space(text[begin])) ++begin;
  while (end > begin && is_space(text[end - 1])) --end;
  return {begin, end};
}

// Sentence ends: ". ", "! ", "? " (and the full-width 。！？ with or without a space), or a line break.
std::vector<std::pair<size_t, size_t>> sentences(std::string_view text, size_t begin, size_t end) {
  std::vector<std::pair<size_t, size_t>> out;
  size_t start = begin;
  auto cut = [&](size_t at) {
    auto [b, e] = trimmed(text, start, at);
    if (e > b) out.push_back({b, e});
    start = at;
  };
  for (size_t i = begin; i < end; ++i) {
    const char c = text[i];
    if (c == '\n') {
      cut(i + 1);
    } else if ((c == '.' || c == '!' || c == '?') && i + 1 < end && is_space(text[i + 1])) {
      cut(i + 1);
    } else if (i + 3 <= end && static_cast<unsigned char>(c) == 0xE3 && static_cast<unsigned char>(text[i + 1]) == 0x80 &&
               static_cast<unsigned char>(text[i + 2]) == 0x82) {  // 。
      cut(i + 3);
    } else if (i + 3 <= end && static_cast<unsigned char>(c) == 0xEF && static_cast<unsigned char>(text[i + 1]) == 0xBC &&
               (static_cast<unsigned char>(text[i + 2]) == 0x81 || static_cast<unsigned char>(text[i + 2]) == 0x9F)) {  // ！？
      cut(i + 3);
    }
  }
  cut(end);
  return out;
}

std::vector<std::pair<size_t, size_t>> words(std::string_view text, size_t begin, size_t end) {
  std::vector<std::pair<size_t, size_t>> out;
  size_t i = begin;
  while (i < end) {
    while (i < end && is_space(text[i])) ++i;
    const size_t b = i;
    while (i < end && !is_space(text[i])) ++i;
    if (i > b) out.push_back({b, i});
  }
  return out;
}

// Code-point boundaries of [begin, end), including both ends.
std::vector<size_t> char_boundaries(std::string_view text, size_t begin, size_t end) {
  std::vector<size_t> b{begin};
  size_t pos = begin;
  while (pos < end) {
    utf8_next(text, &pos);
    b.push_back(std::min(pos, end));
  }
  return b;
}

class Splitter {
 public:
  Splitter(std::string_view text, int64_t max_tokens, const TokenCounter& count)
      : text_(text), max_(max_tokens), count_(count) {}

  void add_paragraph(size_t b, size_t e) {
    const int64_t n = count(b, e);
    if (n <= max_) {
      units.push_back({b, e, n});
      return;
    }
    for (auto [sb, se] : sentences(text_, b, e)) {
      const int64_t sn = count(sb, se);
      if (sn <= max_) {
        units.push_back({sb, se, sn});
      } else {
        add_words(sb, se);
      }
    }
  }

  std::vector<Unit> units;

 private:
  int64_t count(size_t b, size_t e) const { return count_(text_.substr(b, e - b)); }

  // Greedy groups of whole words whose counts sum to <= max.
  void add_words(size_t b, size_t e) {
    Unit group{0, 0, 0};
    bool open = false;
    for (auto [wb, we] : words(text_, b, e)) {
      const int64_t wn = count(wb, we);
      if (wn > max_) {
        if (open) units.push_back(group);
        open = false;
        add_chars(wb, we);
        continue;
      }
      if (open && group.tokens + wn > max_) {
        units.push_back(group);
        open = false;
      }
      if (!open) {
        group = {wb, we, 0};
        open = true;
      }
      group.end = we;
      group.tokens += wn;
    }
    if (open) units.push_back(group);
  }

  // One word longer than max: the longest code-point prefixes that fit, found by exponential
  // then binary search (O(log n) counts per piece, so a megabyte without spaces stays fast).
  void add_chars(size_t b, size_t e) {
    const auto cuts = char_boundaries(text_, b, e);
    size_t from = 0;  // index into cuts
    while (from + 1 < cuts.size()) {
      size_t lo = from + 1, hi = from + 1;  // lo fits (one code point always kept), hi probes
      while (hi + 1 < cuts.size() && count(cuts[from], cuts[hi]) <= max_) {
        lo = hi;
        hi = std::min(cuts.size() - 1, from + 2 * (hi - from));
      }
      if (count(cuts[from], cuts[hi]) <= max_) lo = hi;
      while (hi - lo > 1) {
        const size_t mid = lo + (hi - lo) / 2;
        if (count(cuts[from], cuts[mid]) <= max_) lo = mid; else hi = mid;
      }
      units.push_back({cuts[from], cuts[lo], count(cuts[from], cuts[lo])});
      from = lo;
    }
  }

  std::string_view text_;
  int64_t max_;
  const TokenCounter& count_;
};

}  // namespace

Result<std::vector<TextChunk>> chunk_text(std::string_view text, const ChunkOptions& options,
                                          const TokenCounter& count_tokens) {
  if (options.max_tokens <= 0) return invalid_argument("chunk size must be a positive number of tokens");
  if (options.overlap_tokens < 0 || options.overlap_tokens >= options.max_tokens)
    return invalid_argument("chunk overlap must be in [0, chunk size), got " + std::to_string(options.overlap_tokens) +
                            " for size " + std::to_string(options.max_tokens));
  Splitter splitter(text, options.max_tokens, count_tokens);
  for (auto [b, e] : split_paragraphs(text)) splitter.add_paragraph(b, e);
  const auto& u = splitter.units;
  std::vector<TextChunk> out;
  size_t i = 0;
  while (i < u.size()) {
    const size_t start = i;
    int64_t total = 0;
    size_t j = i;
    while (j < u.size() && (j == start || total + u[j].tokens <= options.max_tokens)) total += u[j++].tokens;
    const size_t b = u[start].begin, e = u[j - 1].end;
    out.push_back({b, e, count_tokens(text.substr(b, e - b))});
    if (j == u.size()) break;
    // Overlap: the last units of this chunk that fit in overlap_tokens, never its first unit
    // (the next chunk must move forward) and leaving room for the next new unit.
    size_t k = j;
    int64_t overlap = 0;
    while (k - 1 > start && overlap + u[k - 1].tokens <= options.overlap_tokens) overlap += u[--k].tokens;
    while (k < j && overlap + u[j].tokens > options.max_tokens) overlap -= u[k++].tokens;
    i = k;
  }
  return out;
}

}  // namespace kanana::rag
