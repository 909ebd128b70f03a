// The Split pre-tokenizer of Llama 3 and Qwen tokenizer.json files, with the regex evaluated
// by hand (no regex engine): the alternatives of
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// are tried in order at each position (leftmost-first, as Oniguruma and Rust's regex do),
// with the backtracking each one needs worked out in pretokenizer.cpp. Qwen's variant is the
// same with \p{N} (one digit per piece).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kanana::tok {

struct SplitPattern {
  int max_digits = 3;  // {1,3} for Llama 3, 1 for Qwen
};

// The pattern for a tokenizer.json Split regex, or nullopt when it is not one we implement.
std::optional<SplitPattern> recognize_split_regex(std::string_view regex);

// Split valid UTF-8 into the regex's matches (behavior "Isolated": every byte ends up in
// exactly one piece, in order). Pieces are views into `text`.
void split_pretokens(std::string_view text, const SplitPattern& pattern, std::vector<std::string_view>* pieces);

}  // namespace kanana::tok
