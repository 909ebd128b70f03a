// Date/time tool (see datetime_tool.h).
#include "tools/datetime_tool.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <optional>
#include <string>

#include "tools/time_zone.h"

namespace kanana::tools {
namespace {

using namespace std::chrono;

constexpr const char* kWeekdays[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
constexpr const char* kWeekdaysKo[] = {"일요일", "월요일", "화요일", "수요일", "목요일", "금요일", "토요일"};

struct DateTime {
  int64_t days = 0;       // days since 1970-01-01
  int64_t seconds = 0;    // seconds into the day
  bool has_time = false;
  std::optional<int32_t> offset;  // "Z" or "+09:00" written in the text
  int64_t total() const { return days * 86400 + seconds; }
};

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

Result<DateTime> parse_datetime(const std::string& field, const std::string& s) {
  const auto bad = [&](const std::string& why) {
    return invalid_argument(field + " '" + s + "': " + why + " (write YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS])");
  };
  int y, m, d, consumed = 0;
  if (std::sscanf(s.c_str(), "%5d-%2d-%2d%n", &y, &m, &d, &consumed) != 3 || consumed < 8) return bad("not a date");
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(m)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return bad("no such day");
  DateTime dt;
  dt.days = sys_days(ymd).time_since_epoch().count();
  size_t p = static_cast<size_t>(consumed);
  if (p < s.size() && (s[p] == 'T' || s[p] == ' ')) {
    int hh, mm, ss = 0, n = 0;
    if (std::sscanf(s.c_str() + p + 1, "%2d:%2d%n", &hh, &mm, &n) != 2) return bad("bad time");
    p += 1 + static_cast<size_t>(n);
    if (p < s.size() && s[p] == ':') {
      int n2 = 0;
      if (std::sscanf(s.c_str() + p + 1, "%2d%n", &ss, &n2) != 1) return bad("bad seconds");
      p += 1 + static_cast<size_t>(n2);
      if (p < s.size() && s[p] == '.')  // fractions of a second are dropped
        for (++p; p < s.size() && std::isdigit(static_cast<unsigned char>(s[p]));) ++p;
    }
    if (hh > 23 || mm > 59 || ss > 60) return bad("time out of range");
    dt.seconds = hh * 3600 + mm * 60 + std::min(ss, 59);
    dt.has_time = true;
  }
  if (p < s.size()) {
    if (s[p] == 'Z' && p + 1 == s.size()) {
      dt.offset = 0;
    } else if (s[p] == '+' || s[p] == '-') {
      int oh, om = 0;
      if (std::sscanf(s.c_str() + p + 1, "%2d:%2d", &oh, &om) < 1 || oh > 14 || om > 59) return bad("bad UTC offset");
      dt.offset = (s[p] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
    } else {
      return bad("unexpected text after the date");
    }
  }
  return dt;
}

std::string format_offset(int32_t off) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%c%02d:%02d", off < 0 ? '-' : '+', std::abs(off) / 3600, std::abs(off) % 3600 / 60);
  return buf;
}

int weekday_index(int64_t days) { return static_cast<int>(weekday(sys_days(std::chrono::days(days))).c_encoding()); }

std::string format_date(int64_t days) {
  const year_month_day ymd{sys_days(std::chrono::days(days))};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()));
  return buf;
}

std::string format_time(int64_t secs) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", static_cast<long long>(secs / 3600),
                static_cast<long long>(secs % 3600 / 60), static_cast<long long>(secs % 60));
  return buf;
}

// A local wall time (seconds as if UTC) with an optional zone → the tool's answer object.
Json describe(int64_t local, bool with_time, const std::optional<ZoneOffset>& zone, const std::string& zone_name) {
  const int64_t days = floor_div(local, 86400), secs = local - days * 86400;
  Json j;
  j["date"] = format_date(days);
  if (with_time) {
    j["time"] = format_time(secs);
    j["datetime"] = format_date(days) + "T" + format_time(secs) + (zone ? format_offset(zone->utc_offset) : "");
  }
  const int wd = weekday_index(days);
  j["weekday"] = kWeekdays[wd];
  j["weekday_ko"] = kWeekdaysKo[wd];
  if (zone) {
    j["timezone"] = zone_name;
    j["utc_offset"] = format_offset(zone->utc_offset);
    j["abbreviation"] = zone->abbreviation;
    j["dst"] = zone->dst;
  }
  return j;
}

Result<std::shared_ptr<const TimeZone>> zone_arg(const Json& args, const char* key, const char* fallback) {
  return TimeZone::load(args.contains(key) ? args[key].get<std::string>() : std::string(fallback));
}

Result<Json> add(const Json& args) {
  if (!args.contains("date")) return invalid_argument("arguments.date is required for operation 'add'");
  KANANA_ASSIGN_OR_RETURN(DateTime dt, parse_datetime("arguments.date", args["date"].get<std::string>()));
  const auto get = [&](const char* k) { return args.contains(k) ? args[k].get<int64_t>() : int64_t{0}; };
  const int64_t years = get("years"), months = get("months");
  year_month_day ymd{sys_days(std::chrono::days(dt.days))};
  if (years || months) {
    const int64_t total = static_cast<int>(ymd.year()) * 12 + (static_cast<unsigned>(ymd.month()) - 1) + years * 12 + months;
    const int64_t ny = floor_div(total, 12);
    if (ny < -9999 || ny > 9999) return invalid_argument("the resulting year is outside -9999..9999");
    const year_month_day_last last{year{static_cast<int>(ny)}, month_day_last{month{static_cast<unsigned>(total - ny * 12 + 1)}}};
    ymd = year_month_day{last.year(), last.month(), std::min(ymd.day(), last.day())};
  }
  int64_t t = sys_days(ymd).time_since_epoch().count() * 86400 + dt.seconds;
  t += (get("weeks") * 7 + get("days")) * 86400 + get("hours") * 3600 + get("minutes") * 60 + get("seconds");
  const bool with_time = dt.has_time || get("hours") || get("minutes") || get("seconds");
  Json j = describe(t, with_time, std::nullopt, "");
  j["from"] = args["date"];
  return j;
}

Result<Json> diff(const Json& args) {
  if (!args.contains("date") || !args.contains("other_date"))
    return invalid_argument("operation 'diff' needs arguments.date and arguments.other_date");
  KANANA_ASSIGN_OR_RETURN(DateTime a, parse_datetime("arguments.date", args["date"].get<std::string>()));
  KANANA_ASSIGN_OR_RETURN(DateTime b, parse_datetime("arguments.other_date", args["other_date"].get<std::string>()));
  const int64_t secs = (b.total() - b.offset.value_or(0)) - (a.total() - a.offset.value_or(0));
  Json j;
  j["from"] = args["date"];
  j["to"] = args["other_date"];
  if (secs % 86400 == 0) {
    j["days"] = secs / 86400;
  } else {
    j["days"] = static_cast<double>(secs) / 86400.0;
    j["hours"] = static_cast<double>(secs) / 3600.0;
  }
  j["weeks"] = static_cast<double>(secs) / (7 * 86400.0);
  return j;
}

Result<Json> weekday_of(const Json& args) {
  if (!args.contains("date")) return invalid_argument("arguments.date is required for operation 'weekday'");
  KANANA_ASSIGN_OR_RETURN(DateTime dt, parse_datetime("arguments.date", args["date"].get<std::string>()));
  Json j = describe(dt.days * 86400, false, std::nullopt, "");
  const year_month_day ymd{sys_days(std::chrono::days(dt.days))};
  j["day_of_year"] = dt.days - sys_days(ymd.year() / January / 1).time_since_epoch().count() + 1;
  j["leap_year"] = ymd.year().is_leap();
  // ISO 8601 week: the week with the year's first Thursday is week 1.
  const int64_t thursday = dt.days - ((weekday_index(dt.days) + 6) % 7) + 3;
  const year_month_day ty{sys_days(std::chrono::days(thursday))};
  const int64_t jan1 = sys_days(ty.year() / January / 1).time_since_epoch().count();
  j["iso_week"] = (thursday - jan1) / 7 + 1;
  return j;
}

Result<Json> convert(const Json& args) {
  if (!args.contains("date")) return invalid_argument("arguments.date (the date and time to convert) is required for 'convert'");
  KANANA_ASSIGN_OR_RETURN(DateTime dt, parse_datetime("arguments.date", args["date"].get<std::string>()));
  KANANA_ASSIGN_OR_RETURN(auto to, zone_arg(args, "timezone", "UTC"));
  int64_t utc;
  if (dt.offset) {
    utc = dt.total() - *dt.offset;
  } else {
    KANANA_ASSIGN_OR_RETURN(auto from, zone_arg(args, "from_timezone", "UTC"));
    utc = from->to_utc(dt.total());
  }
  const ZoneOffset z = to->at(utc);
  Json j = describe(utc + z.utc_offset, true, z, to->name());
  j["from"] = args["date"];
  return j;
}

}  // namespace

Tool make_datetime_tool(std::function<int64_t()> now) {
  if (!now) now = [] { return static_cast<int64_t>(duration_cast<seconds>(system_clock::now().time_since_epoch()).count()); };
  Tool t;
  t.spec.name = "datetime";
  t.spec.description =
      "Dates and times. operation 'now': the current date and time in a time zone (IANA name like Asia/Seoul, "
      "or UTC). 'add': add years/months/weeks/days/hours/minutes to a date. 'diff': days from date to other_date. "
      "'weekday': the weekday, ISO week and day of year of a date. 'convert': a date and time from from_timezone "
      "to timezone. Dates are YYYY-MM-DD or YYYY-MM-DDTHH:MM.";
  const Json integer = {{"type", "integer"}, {"minimum", -1000000}, {"maximum", 1000000}};
  t.spec.parameters = {
      {"type", "object"},
      {"properties",
       {{"operation", {{"type", "string"}, {"enum", {"now", "add", "diff", "weekday", "convert"}}}},
        {"timezone", {{"type", "string"}, {"description", "IANA time zone, e.g. Asia/Seoul; default UTC"}, {"maxLength", 64}}},
        {"from_timezone", {{"type", "string"}, {"description", "convert: the zone the date is written in"}, {"maxLength", 64}}},
        {"date", {{"type", "string"}, {"description", "YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]"}, {"maxLength", 40}}},
        {"other_date", {{"type", "string"}, {"description", "diff: the second date"}, {"maxLength", 40}}},
        {"years", integer}, {"months", integer}, {"weeks", integer}, {"days", integer},
        {"hours", integer}, {"minutes", integer}, {"seconds", integer}}},
      {"required", {"operation"}},
      {"additionalProperties", false}};
  t.run = [now](const Json& args, const ToolContext&) -> Result<Json> {
    const std::string op = args["operation"].get<std::string>();
    if (op == "now") {
      KANANA_ASSIGN_OR_RETURN(auto tz, zone_arg(args, "timezone", "UTC"));
      const int64_t utc = now();
      const ZoneOffset z = tz->at(utc);
      return describe(utc + z.utc_offset, true, z, tz->name());
    }
    if (op == "add") return add(args);
    if (op == "diff") return diff(args);
    if (op == "weekday") return weekday_of(args);
    return convert(args);
  };
  return t;
}

}  // namespace kanana::tools
