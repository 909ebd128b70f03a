// The JSON Lines reader; see jsonl.h.
#include "base/jsonl.h"

#include <cstring>
#include <fstream>

#include "base/files.h"

namespace kanana {

namespace {

// Turns lines into values and applies the skip policy; fed by the file and text readers.
class LineHandler {
 public:
  LineHandler(const JsonlCallback& on_line, const JsonlOptions& options, std::string name)
      : on_line_(on_line), options_(options), name_(std::move(name)) {}

  // One line without its '\n' (`length` is its full length when it was too long to keep).
  Status handle(std::string_view text, uint64_t length, bool too_long) {
    ++number_;
    if (!too_long && !text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (!too_long && text.find_first_not_of(" \t\r") == std::string_view::npos) return Status::ok();
    ++report_.lines;
    JsonlLine line;
    line.number = number_;
    line.origin = name_ + ":" + std::to_string(number_);
    Status problem;
    if (too_long) {
      problem = invalid_argument(line.origin + ": line of " + std::to_string(length) + " bytes is longer than the " +
                                 std::to_string(options_.max_line_bytes) + "-byte limit");
    } else {
      if (Status deep = check_json_depth(text, line.origin); !deep.is_ok()) {
        problem = deep;
      } else if (line.value = parse_json_or_discarded(text); line.value.is_discarded()) {
        problem = invalid_argument(line.origin + ": not valid JSON (" + parse_message(text) + ")");
      } else if (options_.objects_only && !line.value.is_object()) {
        problem = invalid_argument(line.origin + ": a line must be a JSON object");
      } else {
        // A callback reading a field of the wrong type (get<T>(), value()) is a bad line, not a crash.
        problem = json_guard(line.origin, [&] { return on_line_(line); });
        if (!problem.is_ok() && problem.message().rfind(line.origin, 0) != 0)
          problem = Status(problem.code(), line.origin + ": " + problem.message());
        if (!problem.is_ok() && problem.code() != StatusCode::kInvalidArgument) return problem;
      }
    }
    if (problem.is_ok() || !options_.skip_bad_lines) return problem;
    ++report_.bad_lines;
    if (report_.problems.size() < options_.max_problems) report_.problems.push_back({number_, problem.message()});
    return Status::ok();
  }

  JsonlReport take_report() { return std::move(report_); }

 private:
  static std::string parse_message(std::string_view text) {
    try {
      const Json again = Json::parse(text);  // throws with nlohmann's description of what and where
    } catch (const Json::exception& e) {
      std::string what = e.what();
      if (auto pos = what.find("parse error"); pos != std::string::npos) what = what.substr(pos);
      return what;
    }
    return "unexpected input";
  }

  const JsonlCallback& on_line_;
  const JsonlOptions& options_;
  std::string name_;
  uint64_t number_ = 0;
  JsonlReport report_;
};

}  // namespace

std::vector<std::string> JsonlReport::messages() const {
  std::vector<std::string> out;
  out.reserve(problems.size());
  for (const auto& p : problems) out.push_back(p.message);
  return out;
}

Result<JsonlReport> read_jsonl_text(std::string_view text, const JsonlCallback& on_line, const JsonlOptions& options) {
  LineHandler handler(on_line, options, options.name.empty() ? std::string("(text)") : options.name);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const size_t length = end - pos;
    const bool too_long = length > options.max_line_bytes;
    KANANA_RETURN_IF_ERROR(handler.handle(too_long ? std::string_view() : text.substr(pos, length), length, too_long));
    pos = end + 1;
  }
  return handler.take_report();
}

Result<JsonlReport> read_jsonl(const std::filesystem::path& file, const JsonlCallback& on_line,
                               const JsonlOptions& options) {
  KANANA_RETURN_IF_ERROR(check_regular_file(file));
  std::ifstream in(file, std::ios::binary);
  if (!in) return errno_status(file, "opening");
  LineHandler handler(on_line, options, options.name.empty() ? file.string() : options.name);
  std::vector<char> chunk(size_t{1} << 20);
  std::string line;        // the current line's bytes so far (up to the cap)
  uint64_t length = 0;     // its full length
  bool too_long = false;
  bool pending = false;    // bytes of an unfinished line were seen
  for (;;) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    const size_t got = static_cast<size_t>(in.gcount());
    if (got == 0) break;
    size_t pos = 0;
    while (pos < got) {
      const char* nl = static_cast<const char*>(std::memchr(chunk.data() + pos, '\n', got - pos));
      const size_t end = nl ? static_cast<size_t>(nl - chunk.data()) : got;
      const size_t n = end - pos;
      length += n;
      pending = true;
      if (!too_long) {
        if (length > options.max_line_bytes) {
          too_long = true;
          line.clear();
          line.shrink_to_fit();
        } else {
          line.append(chunk.data() + pos, n);
        }
      }
      if (!nl) break;
      KANANA_RETURN_IF_ERROR(handler.handle(line, length, too_long));
      line.clear();
      length = 0;
      too_long = false;
      pending = false;
      pos = end + 1;
    }
  }
  if (in.bad()) return errno_status(file, "reading");
  if (pending) KANANA_RETURN_IF_ERROR(handler.handle(line, length, too_long));
  return handler.take_report();
}

}  // namespace kanana
