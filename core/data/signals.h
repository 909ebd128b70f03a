// Per-document quality signals: the inputs of every heuristic filter (Gopher, C4, FineWeb,
// their Korean variants) and of the GUI's histograms. Plain named fields for code, plus a
// name → value table (signal_fields()) so a histogram or a recipe can pick any signal by name.
//
// Words are whitespace-separated tokens, which for Korean are eojeol (a stem with its
// particles). Because eojeol repeat less than English words, Korean text also gets a
// character n-gram repetition signal (dup_char_ngram_frac).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace kanana::data {

class LanguageIdentifier;

struct DocSignals {
  // Language ID (fastText lid.176); empty when no model was given.
  std::string lang;
  double lang_score = 0;
  // Sizes.
  double bytes = 0;
  double chars = 0;                // Unicode code points
  double words = 0;                // whitespace tokens (eojeol for Korean)
  double lines = 0;                // non-empty lines
  double paragraphs = 0;           // blocks separated by blank lines
  double mean_word_length = 0;     // in characters
  // Scripts, as fractions of non-whitespace characters (they sum to 1).
  double hangul_ratio = 0, latin_ratio = 0, han_ratio = 0, digit_ratio = 0, punct_ratio = 0, other_ratio = 0;
  double uppercase_ratio = 0;      // uppercase / Latin letters
  double symbol_word_ratio = 0;    // ('#' + "..." + '…') / words (Gopher)
  double alpha_word_frac = 0;      // words with at least one letter (Gopher: >= 0.8)
  // Gopher repetition.
  double dup_line_frac = 0, dup_para_frac = 0, dup_line_char_frac = 0, dup_para_char_frac = 0;
  double top_2gram_frac = 0, top_3gram_frac = 0, top_4gram_frac = 0;
  double dup_5gram_frac = 0, dup_6gram_frac = 0, dup_7gram_frac = 0, dup_8gram_frac = 0,
         dup_9gram_frac = 0, dup_10gram_frac = 0;
  double dup_char_ngram_frac = 0;  // chars inside repeated 10-character n-grams (Korean-friendly)
  // Line shape.
  double bullet_line_frac = 0, ellipsis_line_frac = 0;
  double line_punct_frac = 0;      // lines ending in terminal punctuation (C4 / FineWeb)
  double line_end_sentence_frac = 0;  // ... or in a Korean sentence ending (다/요/죠/까/니다)
  double short_line_frac = 0;      // lines of <= 30 characters (FineWeb)
  double few_words_line_frac = 0;  // lines with < 3 words (C4 keeps lines with >= 3)
  double javascript_line_frac = 0; // lines mentioning "javascript" (C4)
  double policy_line_frac = 0;     // "terms of use", "privacy policy", "cookie" lines (C4)
  double has_lorem_ipsum = 0, has_curly_brace = 0;  // 0 or 1 (C4)
  // Stop words: distinct English Gopher stop words; distinct Korean particles/function words.
  double en_stop_words = 0, ko_function_words = 0;
};

struct SignalField {
  const char* name;
  double DocSignals::*member;
  const char* help;
};
const std::vector<SignalField>& signal_fields();
std::optional<double> signal_value(const DocSignals& s, std::string_view name);
nlohmann::json signals_to_json(const DocSignals& s);

// Compute every signal; `lid` may be null (lang stays empty).
DocSignals compute_signals(std::string_view text, const LanguageIdentifier* lid = nullptr);

}  // namespace kanana::data
