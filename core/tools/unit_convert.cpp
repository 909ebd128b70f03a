// Unit tables and conversion (see unit_convert.h).
#include "tools/unit_convert.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "base/strings.h"

namespace kanana::tools {
namespace {

struct Unit {
  std::string symbol;
  std::string category;
  double factor;       // base units per unit (temperature: scale to kelvin)
  double offset = 0;   // temperature: kelvin = value * factor + offset
  std::vector<std::string> aliases;
};

const std::vector<Unit>& units() {
  static const std::vector<Unit> u = {
      // length (base m)
      {"nm", "length", 1e-9, 0, {"nanometer", "nanometre"}},
      {"um", "length", 1e-6, 0, {"µm", "μm", "micrometer", "micrometre", "micron"}},
      {"mm", "length", 1e-3, 0, {"millimeter", "millimetre"}},
      {"cm", "length", 1e-2, 0, {"centimeter", "centimetre"}},
      {"m", "length", 1, 0, {"meter", "metre"}},
      {"km", "length", 1e3, 0, {"kilometer", "kilometre"}},
      {"in", "length", 0.0254, 0, {"inch", "inches", "\""}},
      {"ft", "length", 0.3048, 0, {"foot", "feet", "'"}},
      {"yd", "length", 0.9144, 0, {"yard"}},
      {"mi", "length", 1609.344, 0, {"mile"}},
      {"nmi", "length", 1852, 0, {"nautical mile", "nautical_mile"}},
      {"리", "length", 392.727272727, 0, {"ri"}},  // 1 리 = 1296 자 of 10/33 m
      // mass (base kg)
      {"mg", "mass", 1e-6, 0, {"milligram"}},
      {"g", "mass", 1e-3, 0, {"gram", "gramme"}},
      {"kg", "mass", 1, 0, {"kilogram", "kilo"}},
      {"t", "mass", 1000, 0, {"tonne", "metric ton", "metric_ton"}},
      {"oz", "mass", 0.028349523125, 0, {"ounce"}},
      {"lb", "mass", 0.45359237, 0, {"lbs", "pound"}},
      {"st", "mass", 6.35029318, 0, {"stone"}},
      {"근", "mass", 0.6, 0, {"geun"}},  // meat measure, 600 g
      // temperature (base K)
      {"K", "temperature", 1, 0, {"kelvin"}},
      {"°C", "temperature", 1, 273.15, {"c", "celsius", "degc", "degree celsius", "degrees celsius", "℃"}},
      {"°F", "temperature", 5.0 / 9.0, 273.15 - 32 * 5.0 / 9.0, {"f", "fahrenheit", "degf", "degree fahrenheit", "degrees fahrenheit", "℉"}},
      {"°R", "temperature", 5.0 / 9.0, 0, {"rankine", "degr"}},
      // volume (base m³)
      {"ml", "volume", 1e-6, 0, {"milliliter", "millilitre", "cc", "cm3", "cm³"}},
      {"cl", "volume", 1e-5, 0, {"centiliter", "centilitre"}},
      {"dl", "volume", 1e-4, 0, {"deciliter", "decilitre"}},
      {"l", "volume", 1e-3, 0, {"liter", "litre"}},
      {"m3", "volume", 1, 0, {"m³", "cubic meter", "cubic metre"}},
      {"tsp", "volume", 4.92892159375e-6, 0, {"teaspoon"}},
      {"tbsp", "volume", 1.478676478125e-5, 0, {"tablespoon"}},
      {"fl oz", "volume", 2.95735295625e-5, 0, {"floz", "fl_oz", "fluid ounce"}},
      {"cup", "volume", 2.365882365e-4, 0, {"us cup"}},
      {"pt", "volume", 4.73176473e-4, 0, {"pint"}},
      {"qt", "volume", 9.46352946e-4, 0, {"quart"}},
      {"gal", "volume", 3.785411784e-3, 0, {"gallon", "us gallon"}},
      {"imp gal", "volume", 4.54609e-3, 0, {"imperial gallon", "imp_gal"}},
      // area (base m²)
      {"m2", "area", 1, 0, {"m²", "square meter", "square metre", "sqm"}},
      {"km2", "area", 1e6, 0, {"km²", "square kilometer", "square kilometre"}},
      {"cm2", "area", 1e-4, 0, {"cm²", "square centimeter", "square centimetre"}},
      {"ft2", "area", 0.09290304, 0, {"ft²", "square foot", "square feet", "sqft"}},
      {"acre", "area", 4046.8564224, 0, {}},
      {"ha", "area", 1e4, 0, {"hectare"}},
      {"평", "area", 400.0 / 121.0, 0, {"pyeong", "pyung"}},  // 1 평 = 6 자 × 6 자 = 400/121 m²
      // time (base s)
      {"ns", "time", 1e-9, 0, {"nanosecond"}},
      {"us", "time", 1e-6, 0, {"µs", "μs", "microsecond"}},
      {"ms", "time", 1e-3, 0, {"millisecond"}},
      {"s", "time", 1, 0, {"sec", "second"}},
      {"min", "time", 60, 0, {"minute"}},
      {"h", "time", 3600, 0, {"hr", "hour"}},
      {"d", "time", 86400, 0, {"day"}},
      {"wk", "time", 604800, 0, {"week"}},
      {"yr", "time", 31557600, 0, {"year", "julian year"}},  // 365.25 days
      // data sizes (base byte)
      {"bit", "data", 0.125, 0, {"b", "bits"}},
      {"B", "data", 1, 0, {"byte", "octet"}},
      {"kB", "data", 1e3, 0, {"kilobyte"}},
      {"MB", "data", 1e6, 0, {"megabyte"}},
      {"GB", "data", 1e9, 0, {"gigabyte"}},
      {"TB", "data", 1e12, 0, {"terabyte"}},
      {"PB", "data", 1e15, 0, {"petabyte"}},
      {"KiB", "data", 1024.0, 0, {"kibibyte"}},
      {"MiB", "data", 1048576.0, 0, {"mebibyte"}},
      {"GiB", "data", 1073741824.0, 0, {"gibibyte"}},
      {"TiB", "data", 1099511627776.0, 0, {"tebibyte"}},
      {"kbit", "data", 125, 0, {"kilobit"}},
      {"Mbit", "data", 125000, 0, {"mbit", "megabit"}},
      {"Gbit", "data", 1.25e8, 0, {"gbit", "gigabit"}},
  };
  return u;
}

// Exact symbols first (case matters for data sizes: "Mb" is not "MB"), then lower-case
// symbols, names and plurals.
const Unit* find_unit(const std::string& raw) {
  const std::string name(trim(raw));
  for (const auto& u : units())
    if (u.symbol == name) return &u;
  std::string lower = to_lower_ascii(name);
  const auto match = [&](const std::string& key) -> const Unit* {
    for (const auto& u : units()) {
      if (to_lower_ascii(u.symbol) == key && u.category != "data") return &u;
      for (const auto& a : u.aliases)
        if (a == key) return &u;
    }
    return nullptr;
  };
  if (const Unit* u = match(lower)) return u;
  // "kilometers", "inches", "feet" (listed), "degrees" handled by aliases.
  for (const char* suffix : {"es", "s"}) {
    if (lower.size() > 3 && ends_with(lower, suffix))
      if (const Unit* u = match(lower.substr(0, lower.size() - std::string(suffix).size()))) return u;
  }
  // Data sizes written in lower case ("mb", "gib"): decimal/binary still distinct.
  for (const auto& u : units())
    if (u.category == "data" && to_lower_ascii(u.symbol) == lower) return &u;
  return nullptr;
}

std::string suggestions(const std::string& category) {
  std::string s;
  for (const auto& sym : unit_symbols(category)) s += (s.empty() ? "" : ", ") + sym;
  return s;
}

}  // namespace

std::vector<std::string> unit_symbols(const std::string& category) {
  std::vector<std::string> out;
  for (const auto& u : units())
    if (category.empty() || u.category == category) out.push_back(u.symbol);
  return out;
}

Result<Conversion> convert_units(double value, const std::string& from, const std::string& to) {
  if (!std::isfinite(value)) return invalid_argument("value must be a finite number");
  const Unit* a = find_unit(from);
  if (!a) return invalid_argument("unknown unit '" + from + "'; known units: " + suggestions(""));
  const Unit* b = find_unit(to);
  if (!b) return invalid_argument("unknown unit '" + to + "'; " + a->category + " units: " + suggestions(a->category));
  if (a->category != b->category)
    return invalid_argument("cannot convert " + a->category + " ('" + a->symbol + "') to " + b->category + " ('" +
                            b->symbol + "')");
  const double base = value * a->factor + a->offset;
  if (a->category == "temperature" && base < -1e-9)
    return invalid_argument(std::to_string(value) + " " + a->symbol + " is below absolute zero");
  Conversion c;
  c.value = (base - b->offset) / b->factor;
  c.from_unit = a->symbol;
  c.to_unit = b->symbol;
  c.category = a->category;
  return c;
}

Tool make_unit_convert_tool() {
  Tool t;
  t.spec.name = "convert_units";
  t.spec.description =
      "Convert a quantity between units of length (m, km, mi, ft, in ...), mass (kg, lb, oz, 근 ...), temperature "
      "(°C, °F, K), volume (l, ml, gal, cup ...), area (m2, ft2, acre, 평 ...), time (s, min, h, d ...) and data "
      "size (B, kB, MB, KiB, MiB, bit ...).";
  t.spec.parameters = {{"type", "object"},
                       {"properties",
                        {{"value", {{"type", "number"}, {"description", "the quantity to convert"}}},
                         {"from", {{"type", "string"}, {"description", "unit of value, e.g. \"km\" or \"°F\""}, {"minLength", 1}, {"maxLength", 40}}},
                         {"to", {{"type", "string"}, {"description", "unit to convert to"}, {"minLength", 1}, {"maxLength", 40}}}}},
                       {"required", {"value", "from", "to"}},
                       {"additionalProperties", false}};
  t.run = [](const Json& args, const ToolContext&) -> Result<Json> {
    const double v = args["value"].get<double>();
    KANANA_ASSIGN_OR_RETURN(Conversion c, convert_units(v, args["from"].get<std::string>(), args["to"].get<std::string>()));
    // 12 significant digits: enough for any table value, and no 0.30000000000000004 noise.
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.12g", c.value);
    return Json{{"value", v}, {"from", c.from_unit}, {"to", c.to_unit}, {"result", std::strtod(buf, nullptr)},
                {"category", c.category}};
  };
  return t;
}

}  // namespace kanana::tools
