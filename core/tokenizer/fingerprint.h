// A stable fingerprint of a tokenizer file's bytes for manifests and lineage records.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace kanana::tok {

// "fnv1a64:<16 hex digits>:<size>": FNV-1a over the bytes plus the length. Not a security
// hash; it tells two tokenizer files apart.
inline std::string fingerprint_bytes(std::string_view bytes) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "fnv1a64:%016llx:%zu", static_cast<unsigned long long>(h), bytes.size());
  return buf;
}

}  // namespace kanana::tok
