// A model folder's config.json.
#include "fuzz_target.h"
#include "model/config.h"

KANANA_FUZZ_TARGET(config_json) {
  auto c = kanana::model::parse_llama_config_text(std::string(kanana::fuzz::as_text(data, size)));
  if (c.is_ok()) (void)kanana::model::llama_config_to_json(*c).dump();
  return 0;
}
