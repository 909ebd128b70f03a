// A heuristic filter recipe (`kanana data filter --recipe`).
#include "base/json.h"
#include "data/filters.h"
#include "fuzz_target.h"

KANANA_FUZZ_TARGET(filter_recipe) {
  auto json = kanana::parse_json(kanana::fuzz::as_text(data, size), "filter.json");
  if (!json.is_ok()) return 0;
  (void)kanana::json_guard("filter.json", [&] { return kanana::data::parse_filter_recipe(*json, "filter.json"); });
  return 0;
}
