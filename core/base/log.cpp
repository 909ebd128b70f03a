#include "base/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace kanana::log {
namespace {
std::mutex g_mutex;
Sink g_sink;
std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};
}  // namespace

const char* level_name(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarning: return "warning";
    case Level::kError: return "error";
  }
  return "?";
}

void set_sink(Sink sink) {
  std::lock_guard lock(g_mutex);
  g_sink = std::move(sink);
}

void set_min_level(Level level) { g_min_level = static_cast<int>(level); }
Level min_level() { return static_cast<Level>(g_min_level.load()); }

void write(Level level, const std::string& message) {
  if (static_cast<int>(level) < g_min_level.load()) return;
  std::lock_guard lock(g_mutex);
  if (g_sink) {
    g_sink(level, message);
    return;
  }
  std::fprintf(stderr, "[%s] %s\n", level_name(level), message.c_str());
}

}  // namespace kanana::log
