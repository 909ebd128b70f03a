#include "base/options.h"

#include <cstdio>

namespace kanana::options_detail {

std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

std::string range_error(double value, const std::optional<double>& min, const std::optional<double>& max,
                        bool min_open, bool max_open, const char* note) {
  const bool low = min && (min_open ? !(value > *min) : !(value >= *min));
  const bool high = max && (max_open ? !(value < *max) : !(value <= *max));
  if (!low && !high) return {};
  std::string what;
  if (min && max) {
    what = std::string("must be in ") + (min_open ? "(" : "[") + format_number(*min) + ", " + format_number(*max) +
           (max_open ? ")" : "]");
  } else if (min) {
    what = std::string("must be ") + (min_open ? "> " : ">= ") + format_number(*min);
  } else {
    what = std::string("must be ") + (max_open ? "< " : "<= ") + format_number(*max);
  }
  if (note && *note) what += std::string(" (") + note + ")";
  return what + ", got " + format_number(value);
}

std::string choices_error(const std::string& value, const std::vector<std::string>& choices) {
  if (choices.empty()) return {};
  for (const auto& c : choices)
    if (c == value) return {};
  std::string list;
  for (size_t i = 0; i < choices.size(); ++i)
    list += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
  return "is '" + value + "'; expected " + list;
}

}  // namespace kanana::options_detail
