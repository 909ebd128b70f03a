// Tokenizer fertility per language: tokens per character, per whitespace word, and bytes per
// token, measured on real documents. The language is the document's "lang" field when it
// has one, else "ko" when Hangul makes up more than 30% of its letters, else "en".
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/progress.h"
#include "base/status.h"
#include "data/reader.h"
#include "tokenizer/tokenizer.h"

namespace kanana::shards {

struct FertilityCounts {
  uint64_t docs = 0;
  uint64_t chars = 0;    // Unicode code points
  uint64_t words = 0;    // whitespace-separated words
  uint64_t bytes = 0;    // UTF-8 bytes
  uint64_t tokens = 0;   // without BOS/EOS
  double tokens_per_char() const { return chars ? double(tokens) / double(chars) : 0; }
  double tokens_per_word() const { return words ? double(tokens) / double(words) : 0; }
  double bytes_per_token() const { return tokens ? double(bytes) / double(tokens) : 0; }
  double chars_per_token() const { return tokens ? double(chars) / double(tokens) : 0; }
  void add(const FertilityCounts& o) {
    docs += o.docs; chars += o.chars; words += o.words; bytes += o.bytes; tokens += o.tokens;
  }
};

struct FertilityReport {
  std::map<std::string, FertilityCounts> by_lang;   // "ko", "en", or the documents' lang values
  FertilityCounts total;
  uint64_t bad_lines = 0;
  std::string tokenizer_fingerprint;
  Json to_json() const;
};

struct FertilityOptions {
  data::ReaderOptions reader;
  uint64_t max_docs = 0;   // 0 = all documents
};

// "ko" if more than 30% of the letters are Hangul, else "en".
std::string guess_language(std::string_view text);
// Characters, words and bytes of one text (tokens left 0).
FertilityCounts count_text(std::string_view text);

Result<FertilityReport> measure_fertility(const std::vector<std::filesystem::path>& inputs,
                                          const tok::Tokenizer& tokenizer, const FertilityOptions& options,
                                          Progress* progress = nullptr, const CancelToken* cancel = nullptr);

}  // namespace kanana::shards
