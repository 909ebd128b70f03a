// .mo reader (see mo_catalog.h). Layout: magic, revision, N, offset of the original-string
// table, offset of the translation table; each table holds N (length, offset) pairs.
#include "data/mo_catalog.h"

#include <cstring>

#include "base/files.h"

namespace kanana::data {

Result<std::vector<MoMessage>> parse_mo(std::string_view b, const std::string& origin) {
  auto u32 = [&](size_t off, bool swap, uint32_t* v) {
    if (off + 4 > b.size()) return false;
    uint32_t x;
    std::memcpy(&x, b.data() + off, 4);
    *v = swap ? __builtin_bswap32(x) : x;
    return true;
  };
  uint32_t magic = 0;
  if (!u32(0, false, &magic)) return data_loss(origin + ": too short for a .mo file");
  bool swap;
  if (magic == 0x950412de) swap = false;
  else if (magic == 0xde120495) swap = true;
  else return data_loss(origin + ": not a gettext .mo file (bad magic number)");
  uint32_t revision = 0, n = 0, orig_off = 0, trans_off = 0;
  if (!u32(4, swap, &revision) || !u32(8, swap, &n) || !u32(12, swap, &orig_off) || !u32(16, swap, &trans_off))
    return data_loss(origin + ": truncated .mo header");
  if ((revision >> 16) > 1) return data_loss(origin + ": unsupported .mo major revision " + std::to_string(revision >> 16));
  if (static_cast<uint64_t>(n) * 8 > b.size()) return data_loss(origin + ": message count " + std::to_string(n) + " exceeds the file size");
  auto string_at = [&](uint32_t table, uint32_t i, std::string_view* out) {
    uint32_t len = 0, off = 0;
    if (!u32(static_cast<size_t>(table) + 8ull * i, swap, &len) || !u32(static_cast<size_t>(table) + 8ull * i + 4, swap, &off))
      return false;
    if (static_cast<uint64_t>(off) + len > b.size()) return false;
    *out = b.substr(off, len);
    return true;
  };
  std::vector<MoMessage> out;
  out.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view id, str;
    if (!string_at(orig_off, i, &id) || !string_at(trans_off, i, &str))
      return data_loss(origin + ": string " + std::to_string(i) + " points outside the file");
    if (id.empty()) continue;  // header
    MoMessage m;
    if (const size_t eot = id.find('\x04'); eot != std::string_view::npos) {
      m.context = std::string(id.substr(0, eot));
      id = id.substr(eot + 1);
    }
    m.id = std::string(id.substr(0, id.find('\0')));    // singular of a plural entry
    m.str = std::string(str.substr(0, str.find('\0'))); // first plural form
    out.push_back(std::move(m));
  }
  return out;
}

Result<std::vector<MoMessage>> read_mo_file(const std::filesystem::path& path) {
  KANANA_ASSIGN_OR_RETURN(auto bytes, read_file(path));
  return parse_mo(bytes, path.string());
}

}  // namespace kanana::data
