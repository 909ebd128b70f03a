// Small string and UTF-8 helpers shared by tokenizers, data signals and the CLI.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kanana {

std::vector<std::string> split(std::string_view text, char sep);
std::string_view trim(std::string_view text);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
bool starts_with(std::string_view text, std::string_view prefix);
bool ends_with(std::string_view text, std::string_view suffix);
std::string to_lower_ascii(std::string_view text);

// Decode one UTF-8 code point starting at text[*pos] and advance *pos. Invalid or truncated
// sequences (overlong forms, surrogates, > U+10FFFF) yield -1 and advance by one byte.
int32_t utf8_next(std::string_view text, size_t* pos);
bool is_valid_utf8(std::string_view text);
void append_utf8(std::string* out, uint32_t code_point);
// Replace each invalid byte with U+FFFD.
std::string sanitize_utf8(std::string_view text);
size_t utf8_length(std::string_view text);

// "1.5 GiB", "12.0 MiB".
std::string format_bytes(uint64_t bytes);

}  // namespace kanana
