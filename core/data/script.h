// Unicode script classes the data signals need (Hangul, Latin, Han, digits, punctuation),
// by code point range: fast, no ICU, and exact enough for ratios over web text.
#pragma once

#include <cstdint>

namespace kanana::data {

enum class ScriptClass : uint8_t { kSpace, kHangul, kLatin, kHan, kDigit, kPunct, kOther };

inline bool is_hangul(uint32_t c) {
  return (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0x1100 && c <= 0x11FF) || (c >= 0x3130 && c <= 0x318F) ||
         (c >= 0xA960 && c <= 0xA97F) || (c >= 0xD7B0 && c <= 0xD7FF);
}
inline bool is_han(uint32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0xF900 && c <= 0xFAFF) ||
         (c >= 0x20000 && c <= 0x2FFFF);
}
inline bool is_latin(uint32_t c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= 0xC0 && c <= 0x24F && c != 0xD7 && c != 0xF7) || (c >= 0x1E00 && c <= 0x1EFF);
}
inline bool is_space(uint32_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == 0xA0 ||
         c == 0x3000 || (c >= 0x2000 && c <= 0x200B) || c == 0x202F || c == 0x205F || c == 0xFEFF;
}
inline bool is_digit(uint32_t c) { return (c >= '0' && c <= '9') || (c >= 0xFF10 && c <= 0xFF19); }
inline bool is_punct(uint32_t c) {
  return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
         (c >= 0x7B && c <= 0x7E) || (c >= 0xA1 && c <= 0xBF) || c == 0xD7 || c == 0xF7 ||
         (c >= 0x2010 && c <= 0x2BFF) || (c >= 0x3001 && c <= 0x303F) || (c >= 0xFF01 && c <= 0xFF0F) ||
         (c >= 0xFF1A && c <= 0xFF20) || (c >= 0xFF3B && c <= 0xFF40) || (c >= 0xFF5B && c <= 0xFF65);
}
inline ScriptClass script_of(uint32_t c) {
  if (is_space(c)) return ScriptClass::kSpace;
  if (c < 0x80) {
    if (is_latin(c)) return ScriptClass::kLatin;
    if (is_digit(c)) return ScriptClass::kDigit;
    if (is_punct(c)) return ScriptClass::kPunct;
    return ScriptClass::kOther;
  }
  if (is_hangul(c)) return ScriptClass::kHangul;
  if (is_han(c)) return ScriptClass::kHan;
  if (is_latin(c)) return ScriptClass::kLatin;
  if (is_digit(c)) return ScriptClass::kDigit;
  if (is_punct(c)) return ScriptClass::kPunct;
  return ScriptClass::kOther;
}
// Letters of any script (Gopher's "word has an alphabetic character" check, Hangul included).
inline bool is_letter(uint32_t c) {
  const ScriptClass s = script_of(c);
  return s == ScriptClass::kHangul || s == ScriptClass::kLatin || s == ScriptClass::kHan || s == ScriptClass::kOther;
}

}  // namespace kanana::data
