// A hand-made byte-level BPE tokenizer.json for unit tests (no raw string literals here:
// moc, which reads this header, mis-parses them). Merges as "a b" strings or ["a", "b"] arrays.
#pragma once

#include <string>

namespace kanana::test {

inline std::string tiny_bpe_json(bool array_merges) {
  const std::string common =
        "\"normalizer\": null, \"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [\n          {\"type\": \"Split\", \"pattern\": {\"Regex\": \"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"}, \"behavior\": \"Isolated\", \"invert\": false},\n          {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": false}]},\n        \"decoder\": {\"type\": \"ByteLevel\"},\n        \"added_tokens\": [{\"id\": 7, \"content\": \"<x>\", \"special\": true, \"lstrip\": true, \"rstrip\": true, \"single_word\": false, \"normalized\": false}],";
    const std::string vocab = "\"vocab\": {\"a\": 0, \"b\": 1, \"Ġ\": 2, \"ab\": 3, \"Ġab\": 4, \"c\": 5, \"abc\": 6}";
  const std::string merges = array_merges ? "[[\"a\", \"b\"], [\"Ġ\", \"ab\"], [\"ab\", \"c\"]]" : "[\"a b\", \"Ġ ab\", \"ab c\"]";
  return "{" + common + "\"model\": {\"type\": \"BPE\", " + vocab + ", \"merges\": " + merges + "}}";
}

}  // namespace kanana::test
