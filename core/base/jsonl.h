// One reader for JSON Lines files (preference and prompt imports, post-training data, eval
// results, RAG sets, events.jsonl, ...): lines end at '\n' with a trailing '\r' dropped, blank
// lines are skipped, each line is parsed as JSON, and every error names the file and the line
// ("prefs.jsonl:12: not valid JSON (...)"). A line longer than the cap is an error (or a
// counted skip), never an allocation the size of the file. Memory stays bounded by the cap:
// files are read in chunks.
//
// With skip_bad_lines a line that is not valid JSON, is too long, is not an object (with
// objects_only), or whose callback answers kInvalidArgument is counted and its message kept
// (up to max_problems), and reading goes on; any other error from the callback stops the read
// and is returned, so a failing database write is never mistaken for a bad line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/status.h"

namespace kanana {

struct JsonlLine {
  Json value;
  uint64_t number = 0;  // 1-based line number in the file
  std::string origin;   // "<name>:<number>", the prefix of every message about this line
};

struct JsonlOptions {
  size_t max_line_bytes = size_t{64} << 20;
  bool skip_bad_lines = false;
  bool objects_only = false;  // a line must be a JSON object
  std::string name;           // the file's name in messages (default: the path as given)
  size_t max_problems = 1000; // messages kept in skip mode (all bad lines are counted)
};

struct JsonlProblem {
  uint64_t line = 0;    // 1-based line number in the file
  std::string message;  // "<name>:<line>: ..."
};

struct JsonlReport {
  uint64_t lines = 0;      // non-blank lines
  uint64_t bad_lines = 0;  // skipped (skip_bad_lines only)
  std::vector<JsonlProblem> problems;
  std::vector<std::string> messages() const;  // the problems' messages
};

// Called once per non-blank line, in order; the value may be moved from.
using JsonlCallback = std::function<Status(JsonlLine& line)>;

Result<JsonlReport> read_jsonl(const std::filesystem::path& file, const JsonlCallback& on_line,
                               const JsonlOptions& options = {});
// The same over text already in memory (`options.name` names it in messages).
Result<JsonlReport> read_jsonl_text(std::string_view text, const JsonlCallback& on_line,
                                    const JsonlOptions& options = {});

}  // namespace kanana
