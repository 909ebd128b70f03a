// PII scanners (see pii.h). One left-to-right pass; at each position the detectors are tried
// in a fixed priority (e-mail, RRN, card, IP, phone) so a card number is not also read as a
// phone number; a match advances past its span.
#include "data/pii.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace kanana::data {
namespace {

bool dig(char c) { return c >= '0' && c <= '9'; }
bool alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool alnum(char c) { return dig(c) || alpha(c); }
bool hex(char c) { return dig(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool local_char(char c) { return alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'; }
bool domain_char(char c) { return alnum(c) || c == '.' || c == '-'; }

// Number-like tokens must not be glued to letters/digits around them ("A010-..." is an id).
bool left_ok(std::string_view s, size_t i) { return i == 0 || !(alnum(s[i - 1]) || s[i - 1] == '_'); }
bool right_ok(std::string_view s, size_t e) { return e >= s.size() || !(alnum(s[e]) || s[e] == '_'); }
// Numbers also must not continue with ".<digit>" or "-<digit>" (part of a longer number).
bool right_num_ok(std::string_view s, size_t e) {
  if (!right_ok(s, e)) return false;
  if (e + 1 < s.size() && (s[e] == '.' || s[e] == '-') && dig(s[e + 1])) return false;
  return true;
}
bool left_num_ok(std::string_view s, size_t i) {
  if (!left_ok(s, i)) return false;
  if (i >= 2 && (s[i - 1] == '.' || s[i - 1] == '-') && dig(s[i - 2])) return false;
  return true;
}

// Email: local@domain.tld, anchored at the '@' found from position i (i is the local start).
size_t match_email(std::string_view s, size_t i) {
  if (!local_char(s[i]) || s[i] == '.' || (i > 0 && local_char(s[i - 1]))) return 0;
  size_t at = i;
  while (at < s.size() && local_char(s[at])) ++at;
  if (at >= s.size() || s[at] != '@' || at == i) return 0;
  size_t e = at + 1;
  while (e < s.size() && domain_char(s[e])) ++e;
  while (e > at + 1 && (s[e - 1] == '.' || s[e - 1] == '-')) --e;  // sentence-final dot
  std::string_view domain = s.substr(at + 1, e - at - 1);
  const size_t dot = domain.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || domain.size() - dot - 1 < 2) return 0;
  for (size_t k = dot + 1; k < domain.size(); ++k) if (!alpha(domain[k])) return 0;
  if (domain.find("..") != std::string_view::npos) return 0;
  return e;
}

size_t read_digits(std::string_view s, size_t i, size_t max, std::string* out = nullptr) {
  size_t e = i;
  while (e < s.size() && dig(s[e]) && e - i < max) { if (out) out->push_back(s[e]); ++e; }
  return e - i;
}

size_t match_rrn(std::string_view s, size_t i, bool checksum) {
  if (!left_num_ok(s, i)) return 0;
  if (read_digits(s, i, 7) != 6 || i + 14 > s.size() || s[i + 6] != '-') return 0;
  if (read_digits(s, i + 7, 8) != 7 || !right_num_ok(s, i + 14)) return 0;
  const char g = s[i + 7];
  if (g < '1' || g > '4') return 0;
  if (!rrn_date_valid(s.substr(i, 6), g)) return 0;
  if (checksum) {
    std::string d(s.substr(i, 6));
    d += s.substr(i + 7, 7);
    if (!rrn_checksum_valid(d)) return 0;
  }
  return i + 14;
}

// Card: 13–19 digits, single spaces or dashes between digit groups, Luhn-valid.
size_t match_card(std::string_view s, size_t i) {
  if (!dig(s[i]) || !left_num_ok(s, i)) return 0;
  std::string digits;
  std::vector<size_t> groups{0};
  size_t e = i, last_digit_end = i;
  while (e < s.size() && digits.size() < 20) {
    if (dig(s[e])) { digits.push_back(s[e]); ++groups.back(); ++e; last_digit_end = e; continue; }
    if ((s[e] == ' ' || s[e] == '-') && e + 1 < s.size() && dig(s[e + 1]) && dig(s[e - 1])) { groups.push_back(0); ++e; continue; }
    break;
  }
  e = last_digit_end;
  if (digits.size() < 13 || digits.size() > 19 || !right_num_ok(s, e)) return 0;
  // Issuer ranges start with 2–6 (Mastercard, Amex/Diners, Visa, Mastercard, Discover/UnionPay).
  if (digits[0] < '2' || digits[0] > '6') return 0;
  // Separated numbers must be grouped the way cards print: 4-4-4-4(-3), 4-6-5 or 4-6-4.
  if (groups.size() > 1) {
    const bool fours = std::all_of(groups.begin(), groups.end() - 1, [](size_t g) { return g == 4; }) && groups.back() >= 1 &&
                       groups.back() <= 4;
    const bool amex = groups.size() == 3 && groups[0] == 4 && groups[1] == 6 && (groups[2] == 5 || groups[2] == 4);
    if (!fours && !amex) return 0;
  }
  if (!luhn_valid(digits)) return 0;
  return e;
}

size_t match_ipv4(std::string_view s, size_t i) {
  if (!dig(s[i]) || !left_num_ok(s, i)) return 0;
  size_t e = i;
  bool multi_digit = false;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) { if (e >= s.size() || s[e] != '.') return 0; ++e; }
    std::string d;
    const size_t n = read_digits(s, e, 4, &d);
    if (n == 0 || n > 3 || std::stoi(d) > 255 || (n > 1 && d[0] == '0')) return 0;
    e += n;
    if (n > 1) multi_digit = true;
  }
  if (!right_num_ok(s, e)) return 0;
  // "6.3.4.6" is far more often a manual's section number than an address.
  if (!multi_digit) return 0;
  return e;
}

size_t match_ipv6(std::string_view s, size_t i) {
  if (!(hex(s[i]) || s[i] == ':') || !left_ok(s, i) || (i > 0 && s[i - 1] == ':')) return 0;
  size_t e = i, colons = 0;
  while (e < s.size() && (hex(s[e]) || s[e] == ':' || (s[e] == '.' && colons >= 2)) && e - i < 45) {
    if (s[e] == ':') ++colons;
    ++e;
  }
  while (e > i && (s[e - 1] == '.' || (s[e - 1] == ':' && !(e >= i + 2 && s[e - 2] == ':')))) --e;
  // At least two non-empty groups: "1954::" or "a::" are not addresses worth hiding.
  size_t groups = 0;
  for (size_t k = i; k < e; ++k)
    if (s[k] != ':' && (k == i || s[k - 1] == ':')) ++groups;
  if (colons < 2 || groups < 2 || !right_ok(s, e)) return 0;
  const std::string cand(s.substr(i, e - i));
  if (cand.find("::") == std::string::npos && colons != 7 && cand.find('.') == std::string::npos) return 0;
  unsigned char buf[16];
  if (inet_pton(AF_INET6, cand.c_str(), buf) != 1) return 0;
  return e;
}

// Digit groups separated by single ' ', '-', '.' (and one optional "(0)" / parentheses).
// Returns the end and collects the digits.
size_t phone_groups(std::string_view s, size_t i, std::string* digits, int* groups) {
  size_t e = i;
  *groups = 0;
  while (e < s.size()) {
    if (s[e] == '(') {
      const size_t close = s.find(')', e);
      if (close == std::string_view::npos || close - e > 5 || close == e + 1) break;
      bool ok = true;
      for (size_t k = e + 1; k < close; ++k) ok &= dig(s[k]);
      if (!ok) break;
      for (size_t k = e + 1; k < close; ++k) digits->push_back(s[k]);
      e = close + 1;
      ++*groups;
      if (e < s.size() && (s[e] == ' ' || s[e] == '-')) ++e;
      continue;
    }
    const size_t n = read_digits(s, e, 20, digits);
    if (n == 0) break;
    e += n;
    ++*groups;
    if (e + 1 < s.size() && (s[e] == ' ' || s[e] == '-' || s[e] == '.') && (dig(s[e + 1]) || s[e + 1] == '(')) { ++e; continue; }
    break;
  }
  while (e > i && !dig(s[e - 1]) && s[e - 1] != ')') --e;
  return e;
}

bool korean_prefix_ok(std::string_view d) {
  // d starts with '0': 02 (Seoul), 0[3-6][1-5] (regions), 01[016789] (mobile), 070, 050x, 080.
  if (d.size() < 9) return false;
  if (d[1] == '2') return d.size() == 9 || d.size() == 10;
  if (d.size() != 10 && d.size() != 11) return false;
  if (d[1] == '1') return std::strchr("016789", d[2]) != nullptr;
  if (d[1] >= '3' && d[1] <= '6') return d[2] >= '1' && d[2] <= '5';
  return (d[1] == '7' && d[2] == '0') || (d[1] == '5' && d[2] == '0') || (d[1] == '8' && d[2] == '0');
}

size_t match_phone(std::string_view s, size_t i) {
  if (s[i] == '+') {
    if (i + 1 >= s.size() || !dig(s[i + 1]) || (i > 0 && (alnum(s[i - 1]) || s[i - 1] == '+'))) return 0;
    std::string d;
    int groups = 0;
    size_t e = phone_groups(s, i + 1, &d, &groups);
    if (!right_num_ok(s, e)) return 0;
    // E.164: at most 15 digits including the country code; at least 8 to look like a number.
    if (d.size() < 8 || d.size() > 15) return 0;
    if (d.rfind("82", 0) == 0) {  // Korea: +82 10 1234 5678 / +82 (0)2 123 4567
      std::string national = "0" + d.substr(2);
      if (d.size() > 3 && d[2] == '0') national = d.substr(2);
      if (!korean_prefix_ok(national)) return 0;
    }
    if (groups == 1 && d.size() < 10) return 0;
    return e;
  }
  if (s[i] != '0' || !left_num_ok(s, i) || (i > 0 && s[i - 1] == '+')) return 0;
  std::string d;
  int groups = 0;
  size_t e = phone_groups(s, i, &d, &groups);
  if (!right_num_ok(s, e)) return 0;
  if (groups != 1 && groups != 3) return 0;
  if (groups == 1 && !(d.size() == 11 && d[1] == '1')) return 0;  // bare digits: mobiles only
  if (!korean_prefix_ok(d)) return 0;
  return e;
}

}  // namespace

const char* pii_type_name(PiiType t) {
  static const char* names[] = {"email", "phone", "kr_rrn", "card", "ip"};
  return names[static_cast<int>(t)];
}
const char* pii_placeholder(PiiType t) {
  static const char* names[] = {"<EMAIL>", "<PHONE>", "<KR_RRN>", "<CARD>", "<IP>"};
  return names[static_cast<int>(t)];
}

bool luhn_valid(std::string_view digits) {
  int sum = 0;
  bool dbl = false;
  for (size_t k = digits.size(); k-- > 0;) {
    if (!dig(digits[k])) return false;
    int v = digits[k] - '0';
    if (dbl) { v *= 2; if (v > 9) v -= 9; }
    sum += v;
    dbl = !dbl;
  }
  return !digits.empty() && sum % 10 == 0;
}

bool rrn_date_valid(std::string_view d, char g) {
  if (d.size() != 6) return false;
  const int yy = (d[0] - '0') * 10 + (d[1] - '0');
  const int mm = (d[2] - '0') * 10 + (d[3] - '0');
  const int dd = (d[4] - '0') * 10 + (d[5] - '0');
  const int year = (g == '1' || g == '2' ? 1900 : 2000) + yy;
  if (mm < 1 || mm > 12 || dd < 1) return false;
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return dd <= days[mm - 1] + (mm == 2 && leap ? 1 : 0);
}

bool rrn_checksum_valid(std::string_view d) {
  if (d.size() != 13) return false;
  static const int w[] = {2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5};
  int sum = 0;
  for (int k = 0; k < 12; ++k) sum += (d[k] - '0') * w[k];
  return (11 - sum % 11) % 10 == d[12] - '0';
}

std::vector<PiiSpan> find_pii(std::string_view s, const PiiOptions& o) {
  std::vector<PiiSpan> out;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    // Fast skip: every detector starts at an ASCII alphanumeric, '+' or ':'.
    if (!(alnum(c) || c == '+' || c == ':' || c == '_' || c == '%')) { ++i; continue; }
    size_t e = 0;
    PiiType t = PiiType::kEmail;
    if (o.email && (e = match_email(s, i))) t = PiiType::kEmail;
    else if (o.kr_rrn && dig(c) && (e = match_rrn(s, i, o.rrn_checksum))) t = PiiType::kKrRrn;
    else if (o.card && dig(c) && (e = match_card(s, i))) t = PiiType::kCard;
    else if (o.ip && dig(c) && (e = match_ipv4(s, i))) t = PiiType::kIp;
    else if (o.ip && (hex(c) || c == ':') && (e = match_ipv6(s, i))) t = PiiType::kIp;
    else if (o.phone && (c == '+' || c == '0') && (e = match_phone(s, i))) t = PiiType::kPhone;
    if (e > i) {
      out.push_back({t, i, e});
      i = e;
      continue;
    }
    // Skip the rest of a word/number so detectors only start at token boundaries.
    if (alnum(c)) { while (i < s.size() && alnum(s[i])) ++i; } else { ++i; }
  }
  return out;
}

PiiResult anonymize_pii(std::string_view s, const PiiOptions& o) {
  PiiResult r;
  r.spans = find_pii(s, o);
  r.text.reserve(s.size());
  size_t prev = 0;
  for (const auto& sp : r.spans) {
    r.text.append(s.substr(prev, sp.begin - prev));
    r.text += pii_placeholder(sp.type);
    ++r.counts[static_cast<size_t>(sp.type)];
    prev = sp.end;
  }
  r.text.append(s.substr(prev));
  return r;
}

}  // namespace kanana::data
