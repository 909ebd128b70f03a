// TZif and POSIX TZ rule reading (see time_zone.h). TZif layout: RFC 8536.
#include "tools/time_zone.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>

#include "base/files.h"

namespace kanana::tools {
namespace {

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

int64_t year_of_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
}

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(int64_t y, unsigned m) {
  static const unsigned d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : d[m - 1];
}

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

struct TimeZone::Rule {
  struct When {
    char kind = 'M';  // 'M' (month.week.day), 'J' (1-365, no Feb 29), 'n' (0-365)
    int month = 0, week = 0, weekday = 0, day = 0;
    int64_t time = 7200;  // local seconds after midnight (may be negative or > 24h)
  };
  ZoneOffset std_zone, dst_zone;
  bool has_dst = false;
  When start, end;

  // Seconds since the epoch, local wall time, of `w` in `year`.
  static int64_t local_moment(const When& w, int64_t year) {
    int64_t day;
    if (w.kind == 'M') {
      const int64_t first = days_from_civil(year, static_cast<unsigned>(w.month), 1);
      const int first_wd = static_cast<int>(((first % 7) + 11) % 7);  // 1970-01-01 was a Thursday (4)
      int64_t d = 1 + ((w.weekday - first_wd + 7) % 7) + (w.week - 1) * 7;
      while (d > days_in_month(year, static_cast<unsigned>(w.month))) d -= 7;
      day = first + d - 1;
    } else if (w.kind == 'J') {
      int n = w.day;  // 1..365, February 29 is never counted
      day = days_from_civil(year, 1, 1) + n - 1 + (is_leap(year) && n >= 60 ? 1 : 0);
    } else {
      day = days_from_civil(year, 1, 1) + w.day;
    }
    return day * 86400 + w.time;
  }

  ZoneOffset at(int64_t utc) const {
    if (!has_dst) return std_zone;
    const int64_t year = year_of_days(floor_div(utc + std_zone.utc_offset, 86400));
    const int64_t s = local_moment(start, year) - std_zone.utc_offset;
    const int64_t e = local_moment(end, year) - dst_zone.utc_offset;
    const bool dst = s < e ? (utc >= s && utc < e) : (utc < e || utc >= s);
    return dst ? dst_zone : std_zone;
  }
};

namespace {

class RuleParser {
 public:
  explicit RuleParser(std::string_view s) : s_(s) {}

  Result<TimeZone::Rule> parse() {
    TimeZone::Rule r;
    KANANA_ASSIGN_OR_RETURN(r.std_zone.abbreviation, name());
    KANANA_ASSIGN_OR_RETURN(int64_t off, offset());
    r.std_zone.utc_offset = static_cast<int32_t>(-off);  // POSIX offsets are west-positive
    if (pos_ == s_.size()) return r;
    r.has_dst = true;
    r.dst_zone.dst = true;
    KANANA_ASSIGN_OR_RETURN(r.dst_zone.abbreviation, name());
    r.dst_zone.utc_offset = r.std_zone.utc_offset + 3600;
    if (pos_ < s_.size() && s_[pos_] != ',') {
      KANANA_ASSIGN_OR_RETURN(int64_t d, offset());
      r.dst_zone.utc_offset = static_cast<int32_t>(-d);
    }
    if (pos_ == s_.size()) {  // no rule: the US rule POSIX implies
      r.start = {'M', 3, 2, 0, 0, 7200};
      r.end = {'M', 11, 1, 0, 0, 7200};
      return r;
    }
    if (s_[pos_++] != ',') return bad("',' before the start rule");
    KANANA_ASSIGN_OR_RETURN(r.start, when());
    if (pos_ >= s_.size() || s_[pos_++] != ',') return bad("',' before the end rule");
    KANANA_ASSIGN_OR_RETURN(r.end, when());
    if (pos_ != s_.size()) return bad("the end of the rule");
    return r;
  }

 private:
  Status bad(const std::string& expected) const {
    return invalid_argument("POSIX TZ rule '" + std::string(s_) + "': expected " + expected + " at position " +
                            std::to_string(pos_ + 1));
  }
  Result<std::string> name() {
    if (pos_ < s_.size() && s_[pos_] == '<') {
      const size_t close = s_.find('>', pos_);
      if (close == std::string_view::npos) return bad("'>'");
      std::string n(s_.substr(pos_ + 1, close - pos_ - 1));
      pos_ = close + 1;
      return n;
    }
    const size_t b = pos_;
    while (pos_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    if (pos_ - b < 3) return bad("a zone abbreviation of 3+ letters");
    return std::string(s_.substr(b, pos_ - b));
  }
  Result<int64_t> number(int max) {
    const size_t b = pos_;
    int64_t v = 0;
    while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) v = v * 10 + (s_[pos_++] - '0');
    if (pos_ == b || v > max) return bad("a number up to " + std::to_string(max));
    return v;
  }
  // [+-]hh[:mm[:ss]] in seconds.
  Result<int64_t> offset(int max_hours = 24) {
    int sign = 1;
    if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) sign = s_[pos_++] == '-' ? -1 : 1;
    KANANA_ASSIGN_OR_RETURN(int64_t h, number(max_hours));
    int64_t secs = h * 3600;
    for (int64_t unit : {60, 1}) {
      if (pos_ < s_.size() && s_[pos_] == ':') {
        ++pos_;
        KANANA_ASSIGN_OR_RETURN(int64_t v, number(59));
        secs += v * unit;
      } else {
        break;
      }
    }
    return sign * secs;
  }
  Result<TimeZone::Rule::When> when() {
    TimeZone::Rule::When w;
    if (pos_ < s_.size() && s_[pos_] == 'M') {
      ++pos_;
      KANANA_ASSIGN_OR_RETURN(int64_t m, number(12));
      if (pos_ >= s_.size() || s_[pos_++] != '.') return bad("'.' after the month");
      KANANA_ASSIGN_OR_RETURN(int64_t wk, number(5));
      if (pos_ >= s_.size() || s_[pos_++] != '.') return bad("'.' after the week");
      KANANA_ASSIGN_OR_RETURN(int64_t d, number(6));
      if (m < 1 || wk < 1) return bad("month 1-12 and week 1-5");
      w = {'M', static_cast<int>(m), static_cast<int>(wk), static_cast<int>(d), 0, 7200};
    } else if (pos_ < s_.size() && s_[pos_] == 'J') {
      ++pos_;
      KANANA_ASSIGN_OR_RETURN(int64_t n, number(365));
      if (n < 1) return bad("a Julian day 1-365");
      w = {'J', 0, 0, 0, static_cast<int>(n), 7200};
    } else {
      KANANA_ASSIGN_OR_RETURN(int64_t n, number(365));
      w = {'n', 0, 0, 0, static_cast<int>(n), 7200};
    }
    if (pos_ < s_.size() && s_[pos_] == '/') {
      ++pos_;
      KANANA_ASSIGN_OR_RETURN(w.time, offset(/*max_hours=*/167));
    }
    return w;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

// "+09:00", "-0530", "+9" → seconds east of UTC.
std::optional<int32_t> fixed_offset(const std::string& s) {
  std::string t = s;
  if (t.rfind("UTC", 0) == 0 || t.rfind("GMT", 0) == 0) t = t.substr(3);
  if (t.empty() || (t[0] != '+' && t[0] != '-')) return std::nullopt;
  const int sign = t[0] == '-' ? -1 : 1;
  std::string digits;
  for (size_t i = 1; i < t.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(t[i]))) digits += t[i];
    else if (t[i] != ':' || i == 1) return std::nullopt;
  }
  int h = 0, m = 0;
  if (digits.size() <= 2 && !digits.empty()) h = std::stoi(digits);
  else if (digits.size() == 4) h = std::stoi(digits.substr(0, 2)), m = std::stoi(digits.substr(2));
  else return std::nullopt;
  if (h > 14 || m > 59) return std::nullopt;
  return sign * (h * 3600 + m * 60);
}

uint32_t be32(const std::string& d, size_t p) {
  return (uint32_t(uint8_t(d[p])) << 24) | (uint32_t(uint8_t(d[p + 1])) << 16) | (uint32_t(uint8_t(d[p + 2])) << 8) |
         uint32_t(uint8_t(d[p + 3]));
}
int64_t be64(const std::string& d, size_t p) { return static_cast<int64_t>((uint64_t(be32(d, p)) << 32) | be32(d, p + 4)); }

}  // namespace

Result<std::shared_ptr<const TimeZone>> TimeZone::from_posix_rule(const std::string& rule) {
  KANANA_ASSIGN_OR_RETURN(Rule r, RuleParser(rule).parse());
  auto tz = std::make_shared<TimeZone>();
  tz->name_ = rule;
  tz->before_first_ = r.std_zone;
  tz->rule_ = std::make_shared<const Rule>(std::move(r));
  return std::shared_ptr<const TimeZone>(std::move(tz));
}

Result<std::shared_ptr<const TimeZone>> TimeZone::load(const std::string& name) {
  auto tz = std::make_shared<TimeZone>();
  tz->name_ = name;
  if (name == "UTC" || name == "Z" || name == "GMT" || name == "Etc/UTC") {
    tz->before_first_ = {0, false, "UTC"};
    return std::shared_ptr<const TimeZone>(std::move(tz));
  }
  if (auto off = fixed_offset(name)) {
    char abbr[16];
    std::snprintf(abbr, sizeof abbr, "%c%02d:%02d", *off < 0 ? '-' : '+', std::abs(*off) / 3600, std::abs(*off) % 3600 / 60);
    tz->before_first_ = {*off, false, abbr};
    return std::shared_ptr<const TimeZone>(std::move(tz));
  }
  // Only zone-like names reach the file system: no absolute paths, no "..", no odd bytes.
  bool ok = !name.empty() && name.size() < 64 && name[0] != '/';
  for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '+' || c == '/');
  ok = ok && name.find("..") == std::string::npos && name.find("//") == std::string::npos;
  if (!ok) return invalid_argument("'" + name + "' is not a time zone name (use an IANA name like Asia/Seoul, UTC, or +09:00)");
  const char* env = std::getenv("TZDIR");
  const std::filesystem::path dir = env && *env ? env : "/usr/share/zoneinfo";
  std::error_code ec;
  if (!std::filesystem::is_regular_file(dir / name, ec))
    return not_found("unknown time zone '" + name + "' (use an IANA name like Asia/Seoul, America/New_York, UTC)");
  KANANA_ASSIGN_OR_RETURN(std::string d, read_file(dir / name));
  const auto corrupt = [&](const std::string& why) { return data_loss((dir / name).string() + ": not a TZif file: " + why); };
  if (d.size() < 44 || d.compare(0, 4, "TZif") != 0) return corrupt("bad header");
  const auto counts = [&](size_t p, uint32_t c[6]) {
    for (int i = 0; i < 6; ++i) c[i] = be32(d, p + 20 + 4 * i);
  };
  uint32_t c[6];  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  counts(0, c);
  const char version = d[4];
  size_t p = 44;
  int time_size = 4;
  if (version >= '2') {  // skip the 32-bit block; use the 64-bit one
    p += size_t(c[3]) * 4 + c[3] + size_t(c[4]) * 6 + c[5] + size_t(c[2]) * 8 + c[1] + c[0];
    if (d.size() < p + 44 || d.compare(p, 4, "TZif") != 0) return corrupt("bad second header");
    counts(p, c);
    p += 44;
    time_size = 8;
  }
  const size_t need = size_t(c[3]) * time_size + c[3] + size_t(c[4]) * 6 + c[5] + size_t(c[2]) * (time_size + 4) + c[1] + c[0];
  if (c[4] == 0 || d.size() < p + need) return corrupt("truncated");
  for (uint32_t i = 0; i < c[3]; ++i) tz->transitions_.push_back(time_size == 8 ? be64(d, p + 8 * i) : int32_t(be32(d, p + 4 * i)));
  p += size_t(c[3]) * time_size;
  for (uint32_t i = 0; i < c[3]; ++i) {
    const uint8_t t = uint8_t(d[p + i]);
    if (t >= c[4]) return corrupt("transition type out of range");
    tz->type_of_.push_back(t);
  }
  p += c[3];
  const size_t abbr_at = p + size_t(c[4]) * 6;
  for (uint32_t i = 0; i < c[4]; ++i) {
    ZoneOffset z;
    z.utc_offset = static_cast<int32_t>(be32(d, p + 6 * i));
    z.dst = d[p + 6 * i + 4] != 0;
    const uint8_t ai = uint8_t(d[p + 6 * i + 5]);
    if (ai < c[5]) z.abbreviation = std::string(d.c_str() + abbr_at + ai, strnlen(d.c_str() + abbr_at + ai, c[5] - ai));
    tz->types_.push_back(z);
  }
  p += need - size_t(c[3]) * time_size - c[3];
  tz->before_first_ = tz->types_[0];
  for (const auto& t : tz->types_)
    if (!t.dst) {
      tz->before_first_ = t;
      break;
    }
  if (version >= '2' && p < d.size() && d[p] == '\n') {
    const size_t end = d.find('\n', p + 1);
    const std::string footer = d.substr(p + 1, end == std::string::npos ? std::string::npos : end - p - 1);
    if (!footer.empty()) {
      KANANA_ASSIGN_OR_RETURN(Rule r, RuleParser(footer).parse());
      tz->rule_ = std::make_shared<const Rule>(std::move(r));
    }
  }
  return std::shared_ptr<const TimeZone>(std::move(tz));
}

ZoneOffset TimeZone::at(int64_t utc) const {
  if (transitions_.empty() || utc < transitions_.front()) {
    if (transitions_.empty() && rule_) return rule_->at(utc);
    return before_first_;
  }
  if (utc >= transitions_.back() && rule_) return rule_->at(utc);
  const auto it = std::upper_bound(transitions_.begin(), transitions_.end(), utc);
  return types_[type_of_[static_cast<size_t>(it - transitions_.begin()) - 1]];
}

int64_t TimeZone::to_utc(int64_t local) const {
  // Try the offsets in force around that time; keep one that maps back to `local`.
  const ZoneOffset a = at(local - 86400), b = at(local + 86400), here = at(local);
  for (const ZoneOffset& z : {a, here, b})
    if (at(local - z.utc_offset).utc_offset == z.utc_offset) return local - z.utc_offset;
  return local - a.utc_offset;  // a gap: interpret with the offset before it
}

}  // namespace kanana::tools
