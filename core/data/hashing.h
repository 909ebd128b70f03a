// Fast non-cryptographic hashes for n-grams, lines and documents (MurmurHash64A with a seed;
// two seeds give the 128-bit document fingerprints of exact dedup).
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace kanana::data {

inline uint64_t hash64(std::string_view s, uint64_t seed = 0x9E3779B97F4A7C15ull) {
  const uint64_t m = 0xc6a4a7935bd1e995ull;
  const int r = 47;
  uint64_t h = seed ^ (s.size() * m);
  const char* p = s.data();
  size_t n = s.size();
  while (n >= 8) {
    uint64_t k;
    std::memcpy(&k, p, 8);
    k *= m; k ^= k >> r; k *= m;
    h ^= k; h *= m;
    p += 8; n -= 8;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, p, n);
  if (n) { h ^= tail; h *= m; }
  h ^= h >> r; h *= m; h ^= h >> r;
  return h;
}

inline uint64_t mix64(uint64_t x) {  // splitmix64 finaliser
  x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27; x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

inline uint64_t hash_combine(uint64_t a, uint64_t b) { return mix64(a * 0x9E3779B97F4A7C15ull + b); }

}  // namespace kanana::data
