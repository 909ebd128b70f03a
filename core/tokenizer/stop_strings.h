// Streaming text that must stop at any of a set of stop strings: holds back the tail that could
// still become a stop string, and cuts the text where one completes (a stop string may straddle
// two pieces). Used by every generation loop (LibTorch's model::generate and the CPU engine's).
#pragma once

#include <string>
#include <vector>

namespace kanana::tok {

struct StopStringFilter {
  const std::vector<std::string>* stops = nullptr;
  std::string emitted;  // text already handed out
  std::string pending;  // decoded but held back

  // Adds `piece`; returns the text that is safe to emit now; sets *hit when a stop string
  // completed (the text before it is returned, the rest dropped).
  std::string push(const std::string& piece, bool* hit);
  // The held-back text (no stop string completed): emit it at the end of generation.
  std::string flush();
};

}  // namespace kanana::tok
