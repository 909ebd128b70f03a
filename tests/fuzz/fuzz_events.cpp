// events.jsonl of a run: each line parsed, then the whole file summarized as the GUI does.
#include "fuzz_target.h"
#include "jobs/events.h"

KANANA_FUZZ_TARGET(events) {
  const auto text = kanana::fuzz::as_text(data, size);
  int64_t line = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    (void)kanana::jobs::parse_event_line(text.substr(pos, end - pos), ++line);
    pos = end + 1;
  }
  const auto path = kanana::fuzz::input_file(data, size, ".events.jsonl");
  (void)kanana::jobs::summarize_events(path);
  (void)kanana::jobs::read_events(path, 0, 1, 1 << 20);
  return 0;
}
