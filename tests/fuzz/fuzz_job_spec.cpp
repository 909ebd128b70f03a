// A job spec (`kanana runs launch --spec`), then what launching derives from it.
#include "base/json.h"
#include "fuzz_target.h"
#include "jobs/job_spec.h"

KANANA_FUZZ_TARGET(job_spec) {
  auto json = kanana::parse_json(kanana::fuzz::as_text(data, size), "job.json");
  if (!json.is_ok()) return 0;
  auto s = kanana::json_guard("job.json", [&] { return kanana::jobs::job_spec_from_json(*json, "job.json"); });
  if (!s.is_ok()) return 0;
  (void)s->validate();
  (void)kanana::jobs::job_spec_to_json(*s).dump();
  return 0;
}
