// FNV-1a 64: the project's one non-cryptographic hash, for checksums (shards, checkpoints),
// fingerprints (tokenizers, models, importance scores) and cache keys. Chains: hashing b with
// the hash of a as the seed equals hashing a + b.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "base/status.h"

namespace kanana {

inline constexpr uint64_t kFnv1a64Offset = 0xcbf29ce484222325ull;  // the FNV-1a 64 offset basis
inline constexpr uint64_t kFnv1a64Prime = 0x100000001b3ull;
// The seed earlier versions used for tokenizer, workspace-file and importance fingerprints
// (the offset basis with a digit missing). Kept so that fingerprints saved in pack manifests,
// workspaces and score files still compare equal.
inline constexpr uint64_t kFingerprintSeed = 1469598103934665603ull;

inline uint64_t fnv1a64(const void* data, size_t size, uint64_t h = kFnv1a64Offset) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < size; ++i) {
    h ^= p[i];
    h *= kFnv1a64Prime;
  }
  return h;
}

inline uint64_t fnv1a64(std::string_view bytes, uint64_t h = kFnv1a64Offset) {
  return fnv1a64(bytes.data(), bytes.size(), h);
}

// 16 lowercase hex digits.
std::string hex64(uint64_t value);

// The hash of a file's bytes, read in 1 MiB blocks.
Result<uint64_t> fnv1a64_file(const std::filesystem::path& path, uint64_t seed = kFnv1a64Offset);

}  // namespace kanana
