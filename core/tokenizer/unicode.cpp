// Lookups over the generated Unicode tables: character classes for the pre-tokenizer,
// lossy UTF-8 decoding with maximal-subpart replacement, and NFC normalization.
#include <algorithm>
#include <array>
#include <vector>

#include "base/strings.h"
#include "tokenizer/unicode_tables.h"

namespace kanana::tok::unicode {
namespace {

uint32_t range_value(const CodeRange* table, size_t size, uint32_t cp) {
  const CodeRange* end = table + size;
  const CodeRange* it = std::upper_bound(table, end, cp, [](uint32_t v, const CodeRange& r) { return v < r.lo; });
  if (it == table) return 0;
  --it;
  return cp <= it->hi ? it->value : 0;
}

// Class for code points < 0x80, the hot path of every English text.
struct AsciiClasses {
  std::array<uint8_t, 128> cls{};
  AsciiClasses() {
    for (uint32_t c = 0; c < 128; ++c) cls[c] = static_cast<uint8_t>(range_value(kCategoryRanges, kCategoryRangesSize, c));
  }
};
const AsciiClasses kAscii;

uint32_t category(uint32_t cp) {
  if (cp < 128) return kAscii.cls[cp];
  return range_value(kCategoryRanges, kCategoryRangesSize, cp);
}

constexpr uint32_t kHangulS = 0xAC00, kHangulL = 0x1100, kHangulV = 0x1161, kHangulT = 0x11A7;
constexpr uint32_t kHangulLCount = 19, kHangulVCount = 21, kHangulTCount = 28;
constexpr uint32_t kHangulNCount = kHangulVCount * kHangulTCount, kHangulSCount = kHangulLCount * kHangulNCount;

uint32_t ccc(uint32_t cp) { return cp < 0x300 ? 0 : range_value(kCccRanges, kCccRangesSize, cp); }

void decompose(uint32_t cp, std::vector<uint32_t>* out) {
  if (cp >= kHangulS && cp < kHangulS + kHangulSCount) {
    const uint32_t s = cp - kHangulS;
    out->push_back(kHangulL + s / kHangulNCount);
    out->push_back(kHangulV + (s % kHangulNCount) / kHangulTCount);
    if (s % kHangulTCount != 0) out->push_back(kHangulT + s % kHangulTCount);
    return;
  }
  const Decomposition* end = kDecompositions + kDecompositionsSize;
  const Decomposition* it = std::lower_bound(kDecompositions, end, cp,
                                             [](const Decomposition& d, uint32_t v) { return d.code_point < v; });
  if (it != end && it->code_point == cp) {
    out->insert(out->end(), kDecompositionPool + it->offset, kDecompositionPool + it->offset + it->length);
  } else {
    out->push_back(cp);
  }
}

// The primary composite of (first, second), or 0.
uint32_t compose(uint32_t first, uint32_t second) {
  if (first >= kHangulL && first < kHangulL + kHangulLCount && second >= kHangulV && second < kHangulV + kHangulVCount)
    return kHangulS + ((first - kHangulL) * kHangulVCount + (second - kHangulV)) * kHangulTCount;
  if (first >= kHangulS && first < kHangulS + kHangulSCount && (first - kHangulS) % kHangulTCount == 0 &&
      second > kHangulT && second < kHangulT + kHangulTCount)
    return first + (second - kHangulT);
  const Composition* end = kCompositions + kCompositionsSize;
  const Composition* it = std::lower_bound(kCompositions, end, std::pair{first, second},
                                           [](const Composition& c, std::pair<uint32_t, uint32_t> v) {
                                             return c.first != v.first ? c.first < v.first : c.second < v.second;
                                           });
  return (it != end && it->first == first && it->second == second) ? it->composite : 0;
}

// Length of the valid sequence at text[pos], or 0 with *invalid_len = the maximal subpart
// (at least 1) to replace by one U+FFFD (Unicode 15 §3.9, "U+FFFD substitution of maximal subparts").
size_t valid_sequence(std::string_view text, size_t pos, size_t* invalid_len, uint32_t* cp_out) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const uint8_t b0 = byte(pos);
  if (b0 < 0x80) {
    *cp_out = b0;
    return 1;
  }
  size_t need;
  uint8_t lo = 0x80, hi = 0xBF;
  uint32_t cp;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1, cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2, cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3, cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    *invalid_len = 1;
    return 0;
  }
  for (size_t k = 1; k <= need; ++k) {
    if (pos + k >= text.size()) {
      *invalid_len = k;
      return 0;
    }
    const uint8_t b = byte(pos + k);
    const uint8_t l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
    if (b < l || b > h) {
      *invalid_len = k;
      return 0;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  *cp_out = cp;
  return need + 1;
}

}  // namespace

bool is_letter(uint32_t cp) { return category(cp) == 1; }
bool is_number(uint32_t cp) { return category(cp) == 2; }

bool is_whitespace(uint32_t cp) {
  if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
  if (cp < 0x85) return false;
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
         cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

std::string utf8_lossy(std::string_view bytes) {
  size_t pos = 0;
  // Fast path: most text is valid.
  while (pos < bytes.size()) {
    size_t bad = 0;
    uint32_t cp;
    const size_t n = valid_sequence(bytes, pos, &bad, &cp);
    if (n == 0) break;
    pos += n;
  }
  if (pos == bytes.size()) return std::string(bytes);
  std::string out(bytes.substr(0, pos));
  while (pos < bytes.size()) {
    size_t bad = 0;
    uint32_t cp;
    const size_t n = valid_sequence(bytes, pos, &bad, &cp);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      pos += bad;
    } else {
      out.append(bytes.substr(pos, n));
      pos += n;
    }
  }
  return out;
}

std::string nfc(std::string_view utf8) {
  std::vector<uint32_t> cps;
  cps.reserve(utf8.size());
  bool unsafe = false;
  for (size_t pos = 0; pos < utf8.size();) {
    size_t bad = 0;
    uint32_t cp = 0xFFFD;
    const size_t n = valid_sequence(utf8, pos, &bad, &cp);
    pos += n ? n : bad;
    if (cp >= 0x300 && range_value(kNfcUnsafeRanges, kNfcUnsafeRangesSize, cp)) unsafe = true;
    cps.push_back(cp);
  }
  if (!unsafe) return std::string(utf8);

  // Full canonical decomposition, then canonical ordering of combining marks.
  std::vector<uint32_t> d;
  d.reserve(cps.size() + 8);
  for (uint32_t cp : cps) decompose(cp, &d);
  for (size_t i = 1; i < d.size(); ++i) {
    const uint32_t c = ccc(d[i]);
    if (c == 0) continue;
    size_t j = i;
    while (j > 0 && ccc(d[j - 1]) > c) {
      std::swap(d[j - 1], d[j]);
      --j;
    }
  }
  // Canonical composition: each mark composes with the last starter unless blocked.
  std::vector<uint32_t> out;
  out.reserve(d.size());
  ptrdiff_t starter = -1;
  uint32_t last_ccc = 0;
  for (uint32_t cp : d) {
    const uint32_t c = ccc(cp);
    if (starter >= 0) {
      const bool blocked = !out.empty() && static_cast<size_t>(starter) != out.size() - 1 && (last_ccc == 0 || last_ccc >= c);
      if (!blocked) {
        if (const uint32_t composite = compose(out[starter], cp)) {
          out[starter] = composite;
          continue;
        }
      }
    }
    if (c == 0) {
      starter = static_cast<ptrdiff_t>(out.size());
      last_ccc = 0;
    } else {
      last_ccc = c;
    }
    out.push_back(cp);
  }
  std::string result;
  result.reserve(utf8.size());
  for (uint32_t cp : out) kanana::append_utf8(&result, cp);
  return result;
}

}  // namespace kanana::tok::unicode
