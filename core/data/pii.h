// PII detection and anonymization for web text: e-mail addresses, phone numbers (Korean
// 010-1234-5678 / 02-123-4567 / +82 10 …, and international E.164), Korean resident
// registration numbers (YYMMDD-[1-4]xxxxxx with a real birth date, checksum optional),
// payment card numbers (13–19 digits, spaces/dashes allowed, Luhn-checked) and IPv4/IPv6
// addresses. Hand-written scanners (no std::regex: it is far too slow for corpus scale).
// Spans are byte offsets into the input, for highlighting in a GUI.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace kanana::data {

enum class PiiType : int { kEmail = 0, kPhone, kKrRrn, kCard, kIp, kCount };
const char* pii_type_name(PiiType t);     // "email", "phone", "kr_rrn", "card", "ip"
const char* pii_placeholder(PiiType t);   // "<EMAIL>", "<PHONE>", "<KR_RRN>", "<CARD>", "<IP>"

struct PiiOptions {
  bool email = true;
  bool phone = true;
  bool kr_rrn = true;
  bool card = true;
  bool ip = true;
  bool rrn_checksum = false;  // also require the RRN check digit (numbers issued since Oct 2020 lack it)
};

struct PiiSpan {
  PiiType type;
  size_t begin = 0, end = 0;  // byte offsets in the input, [begin, end)
};

struct PiiResult {
  std::string text;                                      // with placeholders
  std::vector<PiiSpan> spans;                            // in the input, sorted, disjoint
  std::array<int, static_cast<size_t>(PiiType::kCount)> counts{};
};

std::vector<PiiSpan> find_pii(std::string_view text, const PiiOptions& options = {});
PiiResult anonymize_pii(std::string_view text, const PiiOptions& options = {});

// Building blocks, exposed for tests and for other modules.
bool luhn_valid(std::string_view digits);
// "YYMMDD" + gender digit 1–4 → a real date? (1,2 → 19YY; 3,4 → 20YY)
bool rrn_date_valid(std::string_view yymmdd, char gender_digit);
bool rrn_checksum_valid(std::string_view thirteen_digits);

}  // namespace kanana::data
