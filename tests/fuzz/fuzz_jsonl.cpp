// JSON Lines (preference/prompt imports, SFT data, eval results, events) through read_jsonl,
// in skip mode and in strict mode, with a callback that reads fields the way importers do.
#include "base/jsonl.h"
#include "fuzz_target.h"

KANANA_FUZZ_TARGET(jsonl) {
  const auto text = kanana::fuzz::as_text(data, size);
  auto reader = [](kanana::JsonlLine& line) -> kanana::Status {
    // What a TRL preference importer does: typed reads of prompt/chosen/rejected.
    if (line.value.is_object()) {
      (void)line.value.value("prompt", std::string());
      (void)line.value.value("chosen", std::string());
      if (line.value.contains("rejected")) (void)line.value["rejected"].dump();
    }
    return kanana::Status::ok();
  };
  for (bool skip : {true, false}) {
    kanana::JsonlOptions o;
    o.skip_bad_lines = skip;
    o.objects_only = skip;
    o.max_line_bytes = 1 << 16;
    (void)kanana::read_jsonl_text(text, reader, o);
  }
  return 0;
}
