#include "base/hash.h"

#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <vector>

namespace kanana {

std::string hex64(uint64_t value) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, value);
  return buf;
}

Result<uint64_t> fnv1a64_file(const std::filesystem::path& path, uint64_t seed) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("cannot open " + path.string());
  uint64_t h = seed;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = in.gcount();
    if (n > 0) h = fnv1a64(buf.data(), static_cast<size_t>(n), h);
  }
  if (in.bad()) return data_loss("reading " + path.string() + " failed");
  return h;
}

}  // namespace kanana
