// Process-wide logging for the core. The CLI prints to stderr; the GUI installs a sink that
// forwards records to its log console. Sinks may be called from any thread.
#pragma once

#include <functional>
#include <sstream>
#include <string>

namespace kanana::log {

enum class Level { kDebug = 0, kInfo, kWarning, kError };

const char* level_name(Level level);

using Sink = std::function<void(Level, const std::string& message)>;

// Replace the sink (nullptr restores the default stderr sink). Thread-safe.
void set_sink(Sink sink);
void set_min_level(Level level);
Level min_level();
void write(Level level, const std::string& message);

inline void debug(const std::string& m) { write(Level::kDebug, m); }
inline void info(const std::string& m) { write(Level::kInfo, m); }
inline void warning(const std::string& m) { write(Level::kWarning, m); }
inline void error(const std::string& m) { write(Level::kError, m); }

}  // namespace kanana::log
