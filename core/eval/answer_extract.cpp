// Answer extraction and normalisation (see answer_extract.h).
#include "eval/answer_extract.h"

#include <regex>

#include "base/strings.h"

namespace kanana::eval {

namespace {

std::optional<std::string> regex_pick(const std::regex& re, const std::string& text, bool take_last) {
  std::optional<std::string> found;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it) {
    const std::smatch& m = *it;
    std::string v;
    // The first non-empty group, else the whole match (lm-eval takes the group of the
    // alternative that matched).
    for (size_t g = 1; g < m.size(); ++g) {
      if (m[g].matched && m[g].length() > 0) {
        v = m[g].str();
        break;
      }
    }
    if (v.empty()) v = m[0].str();
    found = v;
    if (!take_last) break;
  }
  return found;
}

}  // namespace

std::optional<std::string> extract_answer(const AnswerFilter& f, const std::string& text) {
  if (f.kind == "gsm8k") {
    static const std::regex re(R"(#### (\-?[0-9\.\,]+))");
    return regex_pick(re, text, false);
  }
  if (f.kind == "last_number") {
    // lm-eval gsm8k "flexible-extract": (-?[$0-9.,]{2,})|(-?[0-9]+), last match.
    static const std::regex re(R"((-?[$0-9.,]{2,})|(-?[0-9]+))");
    return regex_pick(re, text, true);
  }
  if (f.kind == "regex") {
    try {
      const std::regex re(f.regex);
      return regex_pick(re, text, f.take_last);
    } catch (const std::regex_error&) {
      return std::nullopt;
    }
  }
  return std::string(trim(text));
}

Status validate_filter(const AnswerFilter& f) {
  if (f.kind != "regex") return Status::ok();
  try {
    std::regex re(f.regex);
  } catch (const std::regex_error& e) {
    return invalid_argument("filter '" + f.name + "': invalid regex '" + f.regex + "' (" + e.what() + ")");
  }
  return Status::ok();
}

std::string gold_answer(const std::string& target) {
  const size_t pos = target.rfind("####");
  if (pos == std::string::npos) return std::string(trim(target));
  return std::string(trim(target.substr(pos + 4)));
}

std::string normalize_answer(const std::string& answer) {
  std::string out;
  for (char c : std::string(trim(answer))) {
    if (c == ',' || c == '$') continue;
    out += c;
  }
  while (!out.empty() && out.back() == '.') out.pop_back();
  return std::string(trim(out));
}

bool answers_match(const std::optional<std::string>& predicted, const std::string& gold) {
  if (!predicted) return false;
  return normalize_answer(*predicted) == normalize_answer(gold);
}

}  // namespace kanana::eval
