// The "stages" of a data-mixture recipe (`kanana data mix`, pretrain recipes).
#include "base/json.h"
#include "fuzz_target.h"
#include "shards/mixture.h"

KANANA_FUZZ_TARGET(mixture_stages) {
  auto json = kanana::parse_json(kanana::fuzz::as_text(data, size), "mix.json");
  if (!json.is_ok()) return 0;
  kanana::shards::ParseStagesOptions o;
  o.base_dir = "/nonexistent";
  (void)kanana::json_guard("mix.json", [&] { return kanana::shards::parse_stages(*json, "mix.json", o); });
  return 0;
}
