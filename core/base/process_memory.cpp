// Reads VmRSS / VmHWM from /proc/self/status (see process_memory.h).
#include "base/process_memory.h"

#include <cstdio>
#include <cstring>

namespace kanana {

ProcessMemory process_memory() {
  ProcessMemory m;
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return m;
  char line[256];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    unsigned long long kb = 0;
    if (std::sscanf(line, "VmRSS: %llu kB", &kb) == 1) m.resident_bytes = kb * 1024;
    else if (std::sscanf(line, "VmHWM: %llu kB", &kb) == 1) m.peak_resident_bytes = kb * 1024;
  }
  std::fclose(f);
  return m;
}

}  // namespace kanana
