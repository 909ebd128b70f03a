// Fertility measurement: count characters/words/bytes and tokens per document, grouped by
// language.
#include "shards/fertility.h"

#include "base/strings.h"
#include "data/script.h"

namespace kanana::shards {

std::string guess_language(std::string_view text) {
  uint64_t letters = 0, hangul = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    const int32_t c = utf8_next(text, &pos);
    if (c < 0) continue;
    if (data::is_letter(uint32_t(c))) {
      ++letters;
      if (data::is_hangul(uint32_t(c))) ++hangul;
    }
  }
  return letters > 0 && double(hangul) / double(letters) > 0.3 ? "ko" : "en";
}

FertilityCounts count_text(std::string_view text) {
  FertilityCounts c;
  c.docs = 1;
  c.bytes = text.size();
  bool in_word = false;
  size_t pos = 0;
  while (pos < text.size()) {
    const int32_t cp = utf8_next(text, &pos);
    ++c.chars;
    const bool space = cp >= 0 && data::is_space(uint32_t(cp));
    if (!space && !in_word) ++c.words;
    in_word = !space;
  }
  return c;
}

Json FertilityReport::to_json() const {
  auto counts_json = [](const FertilityCounts& c) {
    return Json{{"docs", c.docs}, {"chars", c.chars}, {"words", c.words}, {"bytes", c.bytes}, {"tokens", c.tokens},
                {"tokens_per_char", c.tokens_per_char()}, {"tokens_per_word", c.tokens_per_word()},
                {"bytes_per_token", c.bytes_per_token()}, {"chars_per_token", c.chars_per_token()}};
  };
  Json langs = Json::object();
  for (const auto& [lang, c] : by_lang) langs[lang] = counts_json(c);
  return Json{{"tokenizer_fingerprint", tokenizer_fingerprint}, {"languages", langs},
              {"total", counts_json(total)}, {"bad_lines", bad_lines}};
}

Result<FertilityReport> measure_fertility(const std::vector<std::filesystem::path>& inputs,
                                          const tok::Tokenizer& tokenizer, const FertilityOptions& options,
                                          Progress* progress, const CancelToken* cancel) {
  KANANA_ASSIGN_OR_RETURN(auto reader, data::CorpusReader::open(inputs, options.reader));
  if (reader->files().empty()) return invalid_argument("no input files found");
  FertilityReport report;
  report.tokenizer_fingerprint = tokenizer.fingerprint();
  tok::EncodeOptions enc;
  enc.parse_special = false;
  data::Document doc;
  std::vector<data::BadLine> bad;
  for (;;) {
    if (cancel && cancel->is_cancelled()) return cancelled("fertility measurement cancelled");
    if (options.max_docs && report.total.docs >= options.max_docs) break;
    KANANA_ASSIGN_OR_RETURN(bool got, reader->next_document(&doc, &bad));
    report.bad_lines += bad.size();
    bad.clear();
    if (!got) break;
    FertilityCounts c = count_text(doc.text);
    c.tokens = tokenizer.encode(doc.text, enc).size();
    std::string lang = doc.lang.empty() ? guess_language(doc.text) : to_lower_ascii(doc.lang);
    report.by_lang[lang].add(c);
    report.total.add(c);
    if (progress && report.total.docs % 256 == 0)
      progress->update(int64_t(reader->bytes_done()), int64_t(reader->total_input_bytes()),
                       std::to_string(report.total.docs) + " docs");
  }
  if (report.total.docs == 0) return invalid_argument("no documents found in the inputs (bad lines: " +
                                                      std::to_string(report.bad_lines) + ")");
  if (progress) progress->finish(std::to_string(report.total.docs) + " docs");
  return report;
}

}  // namespace kanana::shards
