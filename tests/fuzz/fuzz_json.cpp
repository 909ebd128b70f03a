// Any bytes through the one JSON entry point (parse_json) and the typed field reader: errors
// only, never an exception, a deep recursion or an out-of-range cast.
#include "base/json.h"
#include "fuzz_target.h"

KANANA_FUZZ_TARGET(json) {
  auto parsed = kanana::parse_json(kanana::fuzz::as_text(data, size), "input.json");
  if (!parsed.is_ok()) return 0;
  (void)parsed->dump();
  if (parsed->is_object()) {
    kanana::JsonReader r(*parsed, "input.json");
    for (const auto& [key, value] : parsed->items()) {
      (void)r.get_int(key);
      (void)r.get_number(key);
      (void)r.get_string(key);
      (void)r.get_bool(key);
      (void)r.child(key);
    }
  }
  return 0;
}
