// Per-document quality signals (see signals.h). Definitions follow the Gopher paper
// (Rae et al. 2021, App. A) and datatrove's Gopher/C4/FineWeb filters.
#include "data/signals.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "base/strings.h"
#include "data/hashing.h"
#include "data/lang_id.h"
#include "data/script.h"

namespace kanana::data {
namespace {

struct Word {
  std::string_view text;
  uint32_t chars;
  uint64_t hash;
};

bool ends_with_any(std::string_view s, std::initializer_list<std::string_view> tails) {
  for (auto t : tails)
    if (ends_with(s, t)) return true;
  return false;
}

std::string_view trim_unicode_end(std::string_view s) {
  s = trim(s);
  // Also drop trailing quotes/brackets so `said "yes."` counts as ending in '.'.
  while (!s.empty() && (s.back() == '"' || s.back() == '\'' || s.back() == ')' || s.back() == ']')) s.remove_suffix(1);
  if (ends_with(s, "\xE2\x80\x9D") || ends_with(s, "\xE2\x80\x99")) s.remove_suffix(3);  // ” ’
  return s;
}

bool line_ends_in_punct(std::string_view line) {
  line = trim_unicode_end(line);
  return ends_with_any(line, {".", "!", "?", "\xE2\x80\xA6" /*…*/, "\xE3\x80\x82" /*。*/, "\xEF\xBC\x81", "\xEF\xBC\x9F"});
}

bool line_ends_korean_sentence(std::string_view line) {
  line = trim_unicode_end(line);
  return ends_with_any(line, {"\xEB\x8B\xA4" /*다*/, "\xEC\x9A\x94" /*요*/, "\xEC\xA3\xA0" /*죠*/, "\xEA\xB9\x8C" /*까*/});
}

bool is_bullet_line(std::string_view line) {
  line = trim(line);
  return starts_with(line, "- ") || starts_with(line, "* ") || starts_with(line, "\xE2\x80\xA2") /*•*/ ||
         starts_with(line, "\xC2\xB7") /*·*/ || starts_with(line, "\xE2\x97\x8F") /*●*/ ||
         starts_with(line, "\xE2\x96\xAA") /*▪*/ || starts_with(line, "\xE2\x80\xA3") /*‣*/ ||
         starts_with(line, "\xE2\x97\xA6") /*◦*/ || starts_with(line, "\xE2\x80\x93 ") /*– */ ||
         starts_with(line, "\xE2\x96\xB6") /*▶*/ || starts_with(line, "\xE2\x96\xA0") /*■*/;
}

bool contains_ci(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    size_t k = 0;
    while (k < needle.size() && (hay[i + k] | 0x20) == needle[k]) ++k;
    if (k == needle.size()) return true;
  }
  return false;
}

const std::array<std::string_view, 8> kGopherStopWords = {"the", "be", "to", "of", "and", "that", "have", "with"};
// Korean particles (as eojeol endings) and function words (as whole eojeol or stems).
const std::array<std::string_view, 13> kKoParticles = {"은", "는", "이", "가", "을", "를", "에", "의",
                                                       "로", "와", "과", "도", "에서"};
const std::array<std::string_view, 8> kKoFunctionWords = {"하다", "있다", "없다", "되다", "것", "수", "그리고", "하는"};

// N-gram hashes over word hashes: a polynomial rolling hash (mod 2^64, O(1) per position)
// finished with mix64, instead of n hash_combine calls per position.
class RollingNgrams {
 public:
  RollingNgrams(const std::vector<Word>& w, size_t n) : w_(w), n_(n) {
    for (size_t k = 1; k < n; ++k) top_ *= kBase;
  }
  // Start (again) at position i: O(n).
  void seek(size_t i) {
    h_ = 0;
    chars_ = 0;
    for (size_t k = 0; k < n_; ++k) {
      h_ = h_ * kBase + w_[i + k].hash;
      chars_ += w_[i + k].chars;
    }
    i_ = i;
  }
  // Slide one word to the right (the window must not pass the end).
  void next() {
    h_ = (h_ - w_[i_].hash * top_) * kBase + w_[i_ + n_].hash;
    chars_ += w_[i_ + n_].chars - w_[i_].chars;
    ++i_;
  }
  uint64_t hash() const { return mix64(h_); }
  uint32_t chars() const { return chars_; }

 private:
  static constexpr uint64_t kBase = 0x9E3779B97F4A7C15ull;  // odd: invertible mod 2^64
  const std::vector<Word>& w_;
  size_t n_;
  uint64_t top_ = 1;  // kBase^(n-1)
  uint64_t h_ = 0;
  uint32_t chars_ = 0;
  size_t i_ = 0;
};

// Fraction of word characters inside the most frequent n-gram (Gopher "top n-gram").
double top_ngram_frac(const std::vector<Word>& w, size_t n, double total_chars) {
  if (w.size() < n || total_chars <= 0) return 0;
  // Counts per n-gram hash in a flat table (linear probing, load <= 1/2), reused per thread.
  struct Slot {
    uint64_t hash;
    uint32_t count, chars;
  };
  thread_local std::vector<Slot> table;
  size_t cap = 64;
  while (cap < 2 * w.size()) cap <<= 1;
  table.assign(cap, Slot{0, 0, 0});
  const size_t mask = cap - 1;
  uint32_t best_count = 0;
  double best = 0;
  RollingNgrams r(w, n);
  r.seek(0);
  for (size_t i = 0; i + n <= w.size(); ++i) {
    if (i > 0) r.next();
    const uint64_t h = r.hash();
    size_t k = static_cast<size_t>(h ^ (h >> 29)) & mask;
    while (table[k].count != 0 && table[k].hash != h) k = (k + 1) & mask;
    Slot& e = table[k];
    e.hash = h;
    e.chars = r.chars();
    if (++e.count > best_count || (e.count == best_count && e.chars > best)) {
      best_count = e.count;
      best = e.chars;
    }
  }
  if (best_count <= 1) return 0;
  return std::min(1.0, best * best_count / total_chars);
}

// A set of 64-bit hashes with open addressing (linear probing, load <= 1/2), reused across
// calls on one thread: the repetition signals insert one hash per word or character n-gram,
// and a node-based std::unordered_set spent most of that time in malloc/free.
class HashSet64 {
 public:
  void reset(size_t max_inserts) {
    size_t cap = 64;
    while (cap < 2 * max_inserts) cap <<= 1;
    if (slots_.size() != cap) {
      slots_.assign(cap, 0);
      if (slots_.capacity() > 8 * cap && slots_.capacity() > (1u << 20)) slots_.shrink_to_fit();  // after a huge document
    } else {
      std::fill(slots_.begin(), slots_.end(), 0);
    }
    mask_ = cap - 1;
    has_zero_ = false;
  }
  // True when `h` was not in the set yet.
  bool insert(uint64_t h) {
    if (h == 0) {  // 0 marks an empty slot; the zero hash is kept aside
      const bool fresh = !has_zero_;
      has_zero_ = true;
      return fresh;
    }
    for (size_t i = static_cast<size_t>(h ^ (h >> 29)) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i] == h) return false;
      if (slots_[i] == 0) { slots_[i] = h; return true; }
    }
  }

 private:
  std::vector<uint64_t> slots_;
  size_t mask_ = 0;
  bool has_zero_ = false;
};

// Fraction of word characters in n-grams already seen earlier (datatrove's find_all_duplicate).
double dup_ngram_frac(const std::vector<Word>& w, size_t n, double total_chars) {
  if (w.size() < n || total_chars <= 0) return 0;
  thread_local HashSet64 seen;
  seen.reset(w.size());
  double dup = 0;
  size_t i = 0;
  RollingNgrams r(w, n);
  r.seek(0);
  while (i + n <= w.size()) {
    if (!seen.insert(r.hash())) {
      dup += r.chars();
      i += n;  // a repeated span is counted once, then the search goes on after it
      if (i + n <= w.size()) r.seek(i);
    } else {
      if (i + n < w.size()) r.next();
      ++i;
    }
  }
  return std::min(1.0, dup / total_chars);
}

template <typename Units>
void dup_units(const Units& units, double total_chars, double* frac, double* char_frac) {
  std::unordered_set<uint64_t> seen;
  double dups = 0, dup_chars = 0;
  for (std::string_view u : units) {
    if (!seen.insert(hash64(u)).second) { dups += 1; dup_chars += static_cast<double>(utf8_length(u)); }
  }
  *frac = units.empty() ? 0 : dups / static_cast<double>(units.size());
  *char_frac = total_chars > 0 ? std::min(1.0, dup_chars / total_chars) : 0;
}

}  // namespace

const std::vector<SignalField>& signal_fields() {
  static const std::vector<SignalField> fields = {
      {"lang_score", &DocSignals::lang_score, "fastText language-ID probability of `lang`"},
      {"bytes", &DocSignals::bytes, "UTF-8 bytes"},
      {"chars", &DocSignals::chars, "Unicode characters"},
      {"words", &DocSignals::words, "whitespace tokens (eojeol in Korean)"},
      {"lines", &DocSignals::lines, "non-empty lines"},
      {"paragraphs", &DocSignals::paragraphs, "blank-line separated blocks"},
      {"mean_word_length", &DocSignals::mean_word_length, "mean word length in characters"},
      {"hangul_ratio", &DocSignals::hangul_ratio, "Hangul / non-space characters"},
      {"latin_ratio", &DocSignals::latin_ratio, "Latin letters / non-space characters"},
      {"han_ratio", &DocSignals::han_ratio, "Han (hanja) / non-space characters"},
      {"digit_ratio", &DocSignals::digit_ratio, "digits / non-space characters"},
      {"punct_ratio", &DocSignals::punct_ratio, "punctuation and symbols / non-space characters"},
      {"other_ratio", &DocSignals::other_ratio, "other scripts / non-space characters"},
      {"uppercase_ratio", &DocSignals::uppercase_ratio, "uppercase / Latin letters"},
      {"symbol_word_ratio", &DocSignals::symbol_word_ratio, "('#' + ellipses) / words"},
      {"alpha_word_frac", &DocSignals::alpha_word_frac, "words containing a letter"},
      {"dup_line_frac", &DocSignals::dup_line_frac, "repeated lines / lines"},
      {"dup_para_frac", &DocSignals::dup_para_frac, "repeated paragraphs / paragraphs"},
      {"dup_line_char_frac", &DocSignals::dup_line_char_frac, "characters in repeated lines / characters"},
      {"dup_para_char_frac", &DocSignals::dup_para_char_frac, "characters in repeated paragraphs / characters"},
      {"top_2gram_frac", &DocSignals::top_2gram_frac, "characters in the most frequent word 2-gram"},
      {"top_3gram_frac", &DocSignals::top_3gram_frac, "characters in the most frequent word 3-gram"},
      {"top_4gram_frac", &DocSignals::top_4gram_frac, "characters in the most frequent word 4-gram"},
      {"dup_5gram_frac", &DocSignals::dup_5gram_frac, "characters in repeated word 5-grams"},
      {"dup_6gram_frac", &DocSignals::dup_6gram_frac, "characters in repeated word 6-grams"},
      {"dup_7gram_frac", &DocSignals::dup_7gram_frac, "characters in repeated word 7-grams"},
      {"dup_8gram_frac", &DocSignals::dup_8gram_frac, "characters in repeated word 8-grams"},
      {"dup_9gram_frac", &DocSignals::dup_9gram_frac, "characters in repeated word 9-grams"},
      {"dup_10gram_frac", &DocSignals::dup_10gram_frac, "characters in repeated word 10-grams"},
      {"dup_char_ngram_frac", &DocSignals::dup_char_ngram_frac, "characters in repeated 10-character n-grams"},
      {"bullet_line_frac", &DocSignals::bullet_line_frac, "lines starting with a bullet"},
      {"ellipsis_line_frac", &DocSignals::ellipsis_line_frac, "lines ending in an ellipsis"},
      {"line_punct_frac", &DocSignals::line_punct_frac, "lines ending in terminal punctuation"},
      {"line_end_sentence_frac", &DocSignals::line_end_sentence_frac, "lines ending in punctuation or a Korean sentence ending"},
      {"short_line_frac", &DocSignals::short_line_frac, "lines of at most 30 characters"},
      {"few_words_line_frac", &DocSignals::few_words_line_frac, "lines with fewer than 3 words"},
      {"javascript_line_frac", &DocSignals::javascript_line_frac, "lines mentioning javascript"},
      {"policy_line_frac", &DocSignals::policy_line_frac, "lines about terms of use, privacy policy or cookies"},
      {"has_lorem_ipsum", &DocSignals::has_lorem_ipsum, "1 if the text contains 'lorem ipsum'"},
      {"has_curly_brace", &DocSignals::has_curly_brace, "1 if the text contains '{'"},
      {"en_stop_words", &DocSignals::en_stop_words, "distinct Gopher English stop words present"},
      {"ko_function_words", &DocSignals::ko_function_words, "distinct Korean particles/function words present"},
  };
  return fields;
}

std::optional<double> signal_value(const DocSignals& s, std::string_view name) {
  for (const auto& f : signal_fields())
    if (name == f.name) return s.*(f.member);
  return std::nullopt;
}

nlohmann::json signals_to_json(const DocSignals& s) {
  nlohmann::json j = nlohmann::json::object();
  if (!s.lang.empty()) j["lang"] = s.lang;
  for (const auto& f : signal_fields()) {
    const double v = s.*(f.member);
    j[f.name] = std::round(v * 1e6) / 1e6;
  }
  return j;
}

DocSignals compute_signals(std::string_view text, const LanguageIdentifier* lid) {
  DocSignals s;
  s.bytes = static_cast<double>(text.size());
  // One pass over code points: scripts, words, character n-gram hashes.
  std::vector<Word> words;
  std::vector<uint32_t> nonspace;  // code points without whitespace, for character n-grams
  double nonspace_count = 0, hangul = 0, latin = 0, han = 0, digit = 0, punct = 0, upper = 0;
  double chars = 0, alpha_words = 0, symbols = 0;
  size_t pos = 0, word_start = 0;
  uint32_t word_chars = 0;
  bool word_has_letter = false;
  auto end_word = [&](size_t end) {
    if (word_chars == 0) return;
    std::string_view w = text.substr(word_start, end - word_start);
    words.push_back({w, word_chars, hash64(w)});
    if (word_has_letter) alpha_words += 1;
    word_chars = 0;
    word_has_letter = false;
  };
  while (pos < text.size()) {
    const size_t start = pos;
    const int32_t cp = utf8_next(text, &pos);
    const uint32_t c = cp < 0 ? 0xFFFD : static_cast<uint32_t>(cp);
    chars += 1;
    const ScriptClass sc = script_of(c);
    if (sc == ScriptClass::kSpace) { end_word(start); continue; }
    if (word_chars == 0) word_start = start;
    ++word_chars;
    nonspace_count += 1;
    nonspace.push_back(c);
    switch (sc) {
      case ScriptClass::kHangul: hangul += 1; word_has_letter = true; break;
      case ScriptClass::kLatin: latin += 1; word_has_letter = true; if (c >= 'A' && c <= 'Z') upper += 1; break;
      case ScriptClass::kHan: han += 1; word_has_letter = true; break;
      case ScriptClass::kDigit: digit += 1; break;
      case ScriptClass::kPunct: punct += 1; if (c == '#' || c == 0x2026) symbols += 1; break;
      default: if (c >= 0x80) word_has_letter = true; break;
    }
  }
  end_word(text.size());
  s.chars = chars;
  s.words = static_cast<double>(words.size());
  if (nonspace_count > 0) {
    s.hangul_ratio = hangul / nonspace_count;
    s.latin_ratio = latin / nonspace_count;
    s.han_ratio = han / nonspace_count;
    s.digit_ratio = digit / nonspace_count;
    s.punct_ratio = punct / nonspace_count;
    s.other_ratio = std::max(0.0, 1.0 - s.hangul_ratio - s.latin_ratio - s.han_ratio - s.digit_ratio - s.punct_ratio);
  }
  s.uppercase_ratio = latin > 0 ? upper / latin : 0;
  double word_chars_total = 0;
  std::unordered_set<std::string_view> stop_seen, ko_seen;
  std::string lower;
  for (const auto& w : words) {
    word_chars_total += w.chars;
    // "..." counts as an ellipsis symbol too (Gopher counts "..." and "…").
    for (size_t p = w.text.find("..."); p != std::string_view::npos; p = w.text.find("...", p + 3)) symbols += 1;
    if (w.text.size() <= 4) {
      lower = to_lower_ascii(w.text);
      for (auto sw : kGopherStopWords) if (lower == sw) stop_seen.insert(sw);
    }
    for (auto fw : kKoFunctionWords) if (starts_with(w.text, fw) && w.text.size() <= fw.size() + 6) ko_seen.insert(fw);
    // A particle counts when it ends an eojeol that has a stem before it.
    for (auto p : kKoParticles) if (w.text.size() > p.size() && ends_with(w.text, p)) ko_seen.insert(p);
  }
  s.mean_word_length = words.empty() ? 0 : word_chars_total / static_cast<double>(words.size());
  s.alpha_word_frac = words.empty() ? 0 : alpha_words / static_cast<double>(words.size());
  s.symbol_word_ratio = words.empty() ? 0 : symbols / static_cast<double>(words.size());
  s.en_stop_words = static_cast<double>(stop_seen.size());
  s.ko_function_words = static_cast<double>(ko_seen.size());

  // Lines and paragraphs.
  std::vector<std::string_view> lines, paras;
  size_t para_start = std::string_view::npos, para_end = 0;
  size_t line_start = 0;
  double bullets = 0, ellipses = 0, punct_end = 0, sentence_end = 0, short_lines = 0, few_words = 0, js = 0, policy = 0;
  while (line_start <= text.size()) {
    size_t nl = text.find('\n', line_start);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(line_start, nl - line_start);
    std::string_view t = trim(line);
    if (t.empty()) {
      if (para_start != std::string_view::npos) paras.push_back(text.substr(para_start, para_end - para_start));
      para_start = std::string_view::npos;
    } else {
      if (para_start == std::string_view::npos) para_start = line_start;
      para_end = nl;
      lines.push_back(t);
      if (is_bullet_line(t)) bullets += 1;
      if (ends_with(t, "...") || ends_with(t, "\xE2\x80\xA6")) ellipses += 1;
      const bool pe = line_ends_in_punct(t);
      if (pe) punct_end += 1;
      if (pe || line_ends_korean_sentence(t)) sentence_end += 1;
      if (utf8_length(t) <= 30) short_lines += 1;
      size_t nwords = 0;
      bool in_word = false;
      for (char ch : t) {
        const bool sp = ch == ' ' || ch == '\t';
        if (!sp && !in_word) ++nwords;
        in_word = !sp;
      }
      if (nwords < 3) few_words += 1;
      if (contains_ci(t, "javascript")) js += 1;
      if (contains_ci(t, "terms of use") || contains_ci(t, "privacy policy") || contains_ci(t, "cookie policy") ||
          contains_ci(t, "uses cookies") || contains_ci(t, "use of cookies"))
        policy += 1;
    }
    if (nl == text.size()) break;
    line_start = nl + 1;
  }
  if (para_start != std::string_view::npos) paras.push_back(text.substr(para_start, para_end - para_start));
  s.lines = static_cast<double>(lines.size());
  s.paragraphs = static_cast<double>(paras.size());
  if (!lines.empty()) {
    const double n = s.lines;
    s.bullet_line_frac = bullets / n;
    s.ellipsis_line_frac = ellipses / n;
    s.line_punct_frac = punct_end / n;
    s.line_end_sentence_frac = sentence_end / n;
    s.short_line_frac = short_lines / n;
    s.few_words_line_frac = few_words / n;
    s.javascript_line_frac = js / n;
    s.policy_line_frac = policy / n;
  }
  dup_units(lines, chars, &s.dup_line_frac, &s.dup_line_char_frac);
  dup_units(paras, chars, &s.dup_para_frac, &s.dup_para_char_frac);
  s.has_lorem_ipsum = contains_ci(text, "lorem ipsum") ? 1 : 0;
  s.has_curly_brace = text.find('{') != std::string_view::npos ? 1 : 0;

  // Gopher n-gram repetition over words (eojeol).
  s.top_2gram_frac = top_ngram_frac(words, 2, word_chars_total);
  s.top_3gram_frac = top_ngram_frac(words, 3, word_chars_total);
  s.top_4gram_frac = top_ngram_frac(words, 4, word_chars_total);
  double* dup_fields[] = {&s.dup_5gram_frac, &s.dup_6gram_frac, &s.dup_7gram_frac,
                          &s.dup_8gram_frac, &s.dup_9gram_frac, &s.dup_10gram_frac};
  for (size_t n = 5; n <= 10; ++n) *dup_fields[n - 5] = dup_ngram_frac(words, n, word_chars_total);

  // Character 10-grams over non-space characters: the same "repeated spans" idea for Korean.
  constexpr size_t kCharN = 10;
  if (nonspace.size() >= kCharN) {
    std::vector<Word> cps;
    cps.reserve(nonspace.size());
    for (uint32_t c : nonspace) cps.push_back({{}, 1, mix64(c + 1)});
    s.dup_char_ngram_frac = dup_ngram_frac(cps, kCharN, static_cast<double>(cps.size()));
  }

  if (lid != nullptr) {
    auto p = lid->predict(text);
    s.lang = std::move(p.lang);
    s.lang_score = p.score;
  }
  return s;
}

}  // namespace kanana::data
