// Test texts for byte-level BPE equality tests: thousands of generated bilingual lines that
// hit every branch of the pre-tokenizer regex, the added-token matcher, NFC and lossy UTF-8,
// plus real Korean/English documentation text when the demo data cache has it.
#pragma once

#include <QByteArray>
#include <QDirIterator>
#include <QProcess>
#include <QString>

#include <random>
#include <string>
#include <vector>

namespace kanana::test {

// Characters where the JavaScript reference knowingly differs from Hugging Face's Rust
// tokenizers, so they are left out of generated cases (see the header of test_hf_bpe.cpp): U+0085 and U+FEFF (JavaScript's \s differs from White_Space), and
// U+017F after an apostrophe (JavaScript rewrites (?i:'s) as '[sS]).
inline std::vector<std::string> generated_bpe_cases(size_t count, uint32_t seed) {
  const std::vector<std::string> ko = {"안녕하세요", "한국어", "토크나이저", "모델", "학습", "데이터", "카카오",
                                       "나나", "의", "를", "은", "는", "이", "가", "에서", "했습니다", "입니다",
                                       "대한민국", "서울특별시", "언어모델을", "사전학습", "ㅋㅋㅋ", "ㅎㅎ", "뷁",
                                       "똠방각하", "읽기", "쓰기", "값이", "설치", "프로그램"};
  const std::vector<std::string> en = {"the", "The", "tokenizer", "model", "Kanana", "bilingual", "pre-training",
                                       "hello", "WORLD", "it", "is", "a", "of", "and", "running", "Debian",
                                       "x86_64", "foo_bar", "camelCase", "HTTPServer", "naïve", "café", "résumé",
                                       "Straße", "İstanbul", "ǅemal", "ﬁle"};
  const std::vector<std::string> other = {
      "日本語", "中文字符", "Ελληνικά", "русский", "עברית", "العربية", "हिन्दी", "ไทย",
      "١٢٣", "²³", "Ⅻ", "½", "Ｆｕｌｌ", "🙂", "👍🏽", "👨‍👩‍👧", "🇰🇷", "❤️", "…", "—", "“quoted”", "«»",
      "e\xCC\x81", "\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB", "A\xCC\x8A", "\xE1\x84\x80\xE1\x85\xA1", "Å", "Ω",
      "\xEF\xAC\x81", "\xE3\x8E\x8F", "가\xCC\x81", "\xCC\x81\xCC\x81", "ḱ\xCC\x87", "\xE0\xA4\x95\xE0\xA4\xBC"};
  const std::vector<std::string> punct = {".", ",", "!", "?", "...", "!!!", "(", ")", "[", "]", "{", "}", "\"",
                                          "'", "`", "-", "--", "_", "/", "\\", "@", "#", "$", "%", "^", "&", "*",
                                          "+=", "=>", "::", ";", ":", "~", "|", "<", ">", "·", "。", "、", "？"};
  const std::vector<std::string> spaces = {" ", " ", " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n", "\n ",
                                           "\t\t", " \t\n", "\xC2\xA0", "\xE3\x80\x80", "\xE2\x80\x83", "\r",
                                           "\xE2\x80\xA8", "    \n    ", "\n\n\n"};
  const std::vector<std::string> contractions = {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE",
                                                 "'Ve", "'M", "'LL", "'D", "n't", "'x", "''", "'", "'sound"};
  const std::vector<std::string> specials = {"<|eot_id|>", "<|begin_of_text|>", "<|start_header_id|>",
                                             "<|end_header_id|>", "<|im_start|>", "<|im_end|>", "<|endoftext|>",
                                             "<think>", "</think>", "<tool_call>", "<|eot_id", "<|", "|>",
                                             "<|reserved_special_token_7|>", "<<|eot_id|>>"};
  const std::vector<std::string> invalid = {"\xFF", "\xE3\x81", "\xED\xA0\x80", "\xC0\xAF", "\x80", "\xF0\x9F\x98",
                                            "\xF4\x90\x80\x80", "\xE0\x80\x80", "\xC3"};
  std::mt19937 rng(seed);
  const auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  const auto digits = [&] {
    std::string d;
    const size_t n = 1 + rng() % 12;
    for (size_t i = 0; i < n; ++i) d.push_back(static_cast<char>('0' + rng() % 10));
    return d;
  };
  std::vector<std::string> cases = {"", " ", "a", "\n", "  ", "\t\n \r\n", "12345678901234567890",
                                    std::string(300, 'a'), std::string(200, ' '), "한" + std::string(50, ' ') + "국",
                                    "<|eot_id|><|eot_id|>", "x<|eot_id|>y", " <|eot_id|> ", "I'm don't we'll THEY'RE",
                                    "hello   world  ", "  leading", "trailing  ", "ends with newline\n"};
  std::string long_ko;
  for (int i = 0; i < 60; ++i) long_ko += "한국어모델";
  cases.push_back(long_ko);
  while (cases.size() < count) {
    std::string text;
    const size_t parts = 1 + rng() % 24;
    for (size_t p = 0; p < parts; ++p) {
      const uint32_t r = rng() % 100;
      if (r < 22) text += pick(ko);
      else if (r < 42) text += pick(en);
      else if (r < 50) text += pick(other);
      else if (r < 58) text += pick(punct);
      else if (r < 80) text += pick(spaces);
      else if (r < 86) text += digits();
      else if (r < 91) text += pick(contractions);
      else if (r < 95) text += pick(specials);
      else if (r < 97) text += pick(invalid);
      else text += std::string(1 + rng() % 40, "ab한 \n"[rng() % 5]);
    }
    cases.push_back(std::move(text));
  }
  return cases;
}

// Up to `max_lines` paragraphs (blank-line separated, newlines kept) of real documentation
// text found in the cache (Debian installation guide / FAQ, Korean and English).
inline std::vector<std::string> real_text_cases(const QString& cache, size_t max_lines) {
  std::vector<std::string> out;
  const QStringList names = {"install.ko.txt.gz", "install.en.txt.gz", "debian-faq.ko.txt.gz", "debian-faq.en.txt.gz"};
  for (const QString& name : names) {
    QDirIterator it(cache, {name}, QDir::Files, QDirIterator::Subdirectories);
    if (!it.hasNext()) continue;
    QProcess gz;
    gz.start("gzip", {"-dc", it.next()});
    if (!gz.waitForFinished(30000)) continue;
    const QByteArray all = gz.readAllStandardOutput();
    size_t taken = 0;
    std::string current;
    for (const QByteArray& line : all.split('\n')) {
      if (line.trimmed().isEmpty()) {
        if (!current.empty()) out.push_back(current), ++taken;
        current.clear();
        if (taken >= max_lines / names.size()) break;
      } else {
        current += line.toStdString() + "\n";
      }
    }
  }
  return out;
}

}  // namespace kanana::test
