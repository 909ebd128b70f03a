// The date/time tool: the current time in a time zone, calendar arithmetic, differences,
// weekdays, and time-zone conversion. Dates are ISO 8601 ("2025-03-01", "2025-03-01T14:30",
// "2025-03-01 14:30:00"); adding months clamps to the month's last day (Jan 31 + 1 month =
// Feb 28 or 29), like most calendars and SQL engines.
#pragma once

#include <cstdint>
#include <functional>

#include "tools/tool.h"

namespace kanana::tools {

// `now` returns UTC seconds since the epoch; tests pass a fixed clock. Default: the system clock.
Tool make_datetime_tool(std::function<int64_t()> now = {});

}  // namespace kanana::tools
