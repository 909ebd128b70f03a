// IANA time zones read from the system's TZif files (/usr/share/zoneinfo, or $TZDIR), because
// the C++20 <chrono> time-zone database is not in the GCC this project builds with, and
// setenv("TZ") + localtime_r would change the whole process. Times after the file's last
// transition follow its POSIX TZ footer rule ("EST5EDT,M3.2.0,M11.1.0"), so slim TZif files
// and dates past 2037 work too. Also accepted: "UTC", "Z" and fixed offsets "+09:00", "-0530".
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace kanana::tools {

struct ZoneOffset {
  int32_t utc_offset = 0;  // seconds east of UTC
  bool dst = false;
  std::string abbreviation;  // "KST", "EDT", "+09"
};

class TimeZone {
 public:
  // Zone names are checked ([A-Za-z0-9_+-] parts joined by '/', no "..") before any file is opened.
  static Result<std::shared_ptr<const TimeZone>> load(const std::string& name);
  // Parses a POSIX TZ rule string alone ("CET-1CEST,M3.5.0,M10.5.0/3"); for tests.
  static Result<std::shared_ptr<const TimeZone>> from_posix_rule(const std::string& rule);

  const std::string& name() const { return name_; }
  ZoneOffset at(int64_t utc_seconds) const;
  // Local wall time (seconds since 1970 as if local were UTC) → UTC seconds. In a gap (spring
  // forward) the earlier offset is used; in an overlap, the first (DST) one.
  int64_t to_utc(int64_t local_seconds) const;

  struct Rule;  // a parsed POSIX TZ string

 private:
  std::string name_;
  std::vector<int64_t> transitions_;   // UTC seconds, ascending
  std::vector<uint8_t> type_of_;       // per transition: index into types_
  std::vector<ZoneOffset> types_;
  ZoneOffset before_first_;            // for times before the first transition
  std::shared_ptr<const Rule> rule_;   // after the last transition (may be null)
};

}  // namespace kanana::tools
