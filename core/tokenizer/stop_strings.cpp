// The stop-string filter shared by the generation loops (see stop_strings.h).
#include "tokenizer/stop_strings.h"

#include <algorithm>

namespace kanana::tok {

std::string StopStringFilter::push(const std::string& piece, bool* hit) {
  pending += piece;
  *hit = false;
  const std::string all = emitted + pending;
  size_t first = std::string::npos;
  for (const auto& s : *stops) {
    if (s.empty()) continue;
    // A stop string may straddle emitted/pending: search from where it could start.
    const size_t from = emitted.size() >= s.size() ? emitted.size() - s.size() + 1 : 0;
    size_t at = all.find(s, from);
    if (at != std::string::npos) first = std::min(first, at);
  }
  if (first != std::string::npos) {
    *hit = true;
    std::string out = first > emitted.size() ? all.substr(emitted.size(), first - emitted.size()) : "";
    emitted += out;
    pending.clear();
    return out;
  }
  size_t hold = 0;  // longest suffix of `all` that is a proper prefix of some stop string
  for (const auto& s : *stops) {
    for (size_t n = std::min(s.size() - 1, pending.size()); n > hold; --n) {
      if (all.compare(all.size() - n, n, s, 0, n) == 0) {
        hold = n;
        break;
      }
    }
  }
  std::string out = pending.substr(0, pending.size() - hold);
  pending.erase(0, pending.size() - hold);
  emitted += out;
  return out;
}

std::string StopStringFilter::flush() {
  std::string out = pending;
  emitted += out;
  pending.clear();
  return out;
}

}  // namespace kanana::tok
