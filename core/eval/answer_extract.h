// Answer extraction for generative tasks (lm-eval's filters + exact_match): the GSM8K
// "#### 42" rule, the last number in the text, or a user regex; and the normalisation both
// sides go through before the comparison (trim, drop "," and "$", drop a trailing ".", as
// lm-eval's gsm8k regexes_to_ignore).
#pragma once

#include <optional>
#include <string>

#include "base/status.h"
#include "eval/task.h"

namespace kanana::eval {

// The extracted answer, or nullopt when the filter finds nothing ("[invalid]" in lm-eval).
std::optional<std::string> extract_answer(const AnswerFilter& filter, const std::string& text);
// The gold answer of a target text: after the last "####" when there is one, else the text.
std::string gold_answer(const std::string& target);
std::string normalize_answer(const std::string& answer);
bool answers_match(const std::optional<std::string>& predicted, const std::string& gold);
// Checks a filter's regex compiles (errors name the filter).
Status validate_filter(const AnswerFilter& filter);

}  // namespace kanana::eval
