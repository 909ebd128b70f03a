// A stable fingerprint of a tokenizer file's bytes for manifests and lineage records.
#pragma once

#include <string>
#include <string_view>

#include "base/hash.h"

namespace kanana::tok {

// "fnv1a64:<16 hex digits>:<size>": FNV-1a over the bytes plus the length. Not a security
// hash; it tells two tokenizer files apart.
inline std::string fingerprint_bytes(std::string_view bytes) {
  return "fnv1a64:" + hex64(fnv1a64(bytes, kFingerprintSeed)) + ":" + std::to_string(bytes.size());
}

}  // namespace kanana::tok
