// GNU gettext .mo catalogs (binary message catalogs): msgid → msgstr pairs, read with every
// offset bounds-checked, in either byte order. Plural forms keep their first form; the
// header entry (empty msgid) is skipped.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace kanana::data {

struct MoMessage {
  std::string context;  // msgctxt, empty if none
  std::string id;       // English source
  std::string str;      // translation
};

Result<std::vector<MoMessage>> parse_mo(std::string_view bytes, const std::string& origin);
Result<std::vector<MoMessage>> read_mo_file(const std::filesystem::path& path);

}  // namespace kanana::data
