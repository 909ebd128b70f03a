// This process's memory as the kernel counts it (/proc/self/status), for the numbers a user
// sees next to tokens/s: resident now (VmRSS) and the peak so far (VmHWM). Linux only; other
// systems (or an unreadable /proc) report 0.
#pragma once

#include <cstdint>

namespace kanana {

struct ProcessMemory {
  uint64_t resident_bytes = 0;       // VmRSS: pages in RAM now, file-backed mappings included
  uint64_t peak_resident_bytes = 0;  // VmHWM: the largest VmRSS since the process started
};

ProcessMemory process_memory();

}  // namespace kanana
