// A byte-level tokenizer.json for the post-training tests: one token per byte (GPT-2's
// byte-to-unicode pieces, ids 0..255, no merges) plus the ChatML markers as special added
// tokens (<|im_start|> 256, <|im_end|> 257, <|endoftext|> 258). Every text round-trips
// exactly, so decoded spans can be compared byte for byte. Built with the JSON API (moc reads
// this header; no raw string literals).
#pragma once

#include <algorithm>
#include <filesystem>
#include <vector>
#include <string>

#include "base/json.h"
#include "base/strings.h"

namespace kanana::test {

inline Json byte_tokenizer_json() {
  // GPT-2 bytes_to_unicode.
  std::vector<int> bs, cs;
  for (int b = '!'; b <= '~'; ++b) bs.push_back(b);
  for (int b = 0xA1; b <= 0xAC; ++b) bs.push_back(b);
  for (int b = 0xAE; b <= 0xFF; ++b) bs.push_back(b);
  cs = bs;
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    if (std::find(bs.begin(), bs.end(), b) == bs.end()) {
      bs.push_back(b);
      cs.push_back(256 + n++);
    }
  }
  Json vocab = Json::object();
  for (size_t i = 0; i < bs.size(); ++i) {
    std::string piece;
    append_utf8(&piece, uint32_t(cs[i]));
    vocab[piece] = bs[i];
  }
  Json added = Json::array();
  int id = 256;
  for (const char* s : {"<|im_start|>", "<|im_end|>", "<|endoftext|>"}) {
    added.push_back({{"id", id++}, {"content", s}, {"special", true}, {"lstrip", false}, {"rstrip", false},
                     {"single_word", false}, {"normalized", false}});
    vocab[s] = id - 1;
  }
  const std::string regex =
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
      "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  Json pre = {{"type", "Sequence"},
              {"pretokenizers",
               {{{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}},
                {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}}}}};
  return {{"version", "1.0"}, {"normalizer", nullptr}, {"pre_tokenizer", pre}, {"decoder", {{"type", "ByteLevel"}}},
          {"added_tokens", added}, {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", Json::array()}}}};
}

// Writes <dir>/tokenizer.json and a tokenizer_config.json (eos <|im_end|>, ChatML template).
inline bool write_byte_tokenizer(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  Json config = {{"eos_token", "<|im_end|>"}, {"pad_token", "<|endoftext|>"},
                 {"chat_template", "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"}};
  return write_json_file(dir / "tokenizer.json", byte_tokenizer_json()).is_ok() &&
         write_json_file(dir / "tokenizer_config.json", config).is_ok();
}

}  // namespace kanana::test
