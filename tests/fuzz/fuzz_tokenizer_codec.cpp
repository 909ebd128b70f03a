// Arbitrary bytes through encode() of a byte-level BPE tokenizer (with and without special
// token parsing) and the resulting ids back through decode(): the round trip must be exact
// for valid UTF-8 when every byte has a token, and must never crash otherwise.
#include <cstdlib>

#include "base/strings.h"
#include "fuzz_target.h"
#include "tokenizer/hf_bpe.h"

namespace {

// A complete byte-level vocabulary (all 256 byte tokens in GPT-2's byte-to-unicode map),
// a few merges and one added special token.
std::string full_byte_tokenizer() {
  std::string vocab, merges;
  int id = 0;
  auto add = [&](const std::string& piece) {
    if (!vocab.empty()) vocab += ", ";
    vocab += "\"" + piece + "\": " + std::to_string(id++);
  };
  auto utf8 = [](uint32_t cp) {
    std::string s;
    if (cp < 0x80) s += char(cp);
    else if (cp < 0x800) { s += char(0xC0 | (cp >> 6)); s += char(0x80 | (cp & 0x3F)); }
    else { s += char(0xE0 | (cp >> 12)); s += char(0x80 | ((cp >> 6) & 0x3F)); s += char(0x80 | (cp & 0x3F)); }
    return s;
  };
  // GPT-2 bytes_to_unicode.
  std::vector<uint32_t> cps;
  int extra = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    cps.push_back(printable ? uint32_t(b) : uint32_t(256 + extra++));
  }
  for (uint32_t cp : cps) {
    std::string p = utf8(cp);
    if (p == "\"") p = "\\\"";
    else if (p == "\\") p = "\\\\";
    add(p);
  }
  add("ab");
  add("abc");
  merges = "[\"a b\", \"ab c\"]";
  return "{\"normalizer\": null, \"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": ["
         "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|"
         "\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"}, \"behavior\": "
         "\"Isolated\", \"invert\": false}, {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, "
         "\"use_regex\": false}]}, \"decoder\": {\"type\": \"ByteLevel\"}, \"added_tokens\": [{\"id\": " +
         std::to_string(id) + ", \"content\": \"<|x|>\", \"special\": true}], \"model\": {\"type\": \"BPE\", \"vocab\": {" +
         vocab + "}, \"merges\": " + merges + "}}";
}

}  // namespace

KANANA_FUZZ_TARGET(tokenizer_codec) {
  static const auto tokenizer = [] {
    auto t = kanana::tok::load_hf_bpe(full_byte_tokenizer(), "fuzz-tokenizer.json");
    if (!t.is_ok()) {
      std::fprintf(stderr, "%s\n", t.status().message().c_str());
      std::abort();
    }
    return *t;
  }();
  const std::string text(kanana::fuzz::as_text(data, size));
  for (bool special : {false, true}) {
    kanana::tok::EncodeOptions o;
    o.parse_special = special;
    const auto ids = tokenizer->encode(text, o);
    const std::string back = tokenizer->decode(ids);
    // Every byte has a token and nothing normalizes: valid UTF-8 must come back unchanged.
    if (!special && kanana::is_valid_utf8(text) && back != text) {
      std::fprintf(stderr, "round trip changed the text (%zu -> %zu bytes)\n", text.size(), back.size());
      std::abort();
    }
  }
  // The input's bytes as ids, in and out of range.
  std::vector<int32_t> ids;
  for (size_t i = 0; i + 1 < size; i += 2) ids.push_back(int32_t(data[i]) << 8 | data[i + 1]);
  std::vector<int32_t> valid;
  for (int32_t id : ids)
    if (id < tokenizer->vocab_size()) valid.push_back(id);
  (void)tokenizer->decode(valid);
  return 0;
}
