// The unit conversion tool: length, mass, temperature, volume, area, time and data sizes.
// Each unit is a factor to its category's base unit (temperatures are affine); symbols,
// English names and plurals, and a few Korean units (평, 근, 리) are accepted. Decimal (kB, MB)
// and binary (KiB, MiB) data sizes are distinct, as IEC 80000-13 has them.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "tools/tool.h"

namespace kanana::tools {

struct Conversion {
  double value = 0;
  std::string from_unit, to_unit;  // canonical symbols ("km", "°F")
  std::string category;            // "length", "mass", ...
};

Result<Conversion> convert_units(double value, const std::string& from, const std::string& to);

// Canonical unit symbols of a category ("length" → "m", "km", ...); all categories when empty.
std::vector<std::string> unit_symbols(const std::string& category = {});

// {"value", "from", "to"} → {"value", "from", "to", "result", "category"}.
Tool make_unit_convert_tool();

}  // namespace kanana::tools
