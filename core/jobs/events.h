// The event stream of a run: <run_dir>/events.jsonl, one JSON object per line, appended by the
// worker (trainer, data job, ...) and tailed by the GUI, the CLI and the run registry. It is
// the only channel between a worker and its watchers, so a run survives the GUI closing and
// can be re-attached from any machine that can read the file (directly, over SSH, on the
// shared filesystem of a Slurm cluster).
//
// Schema (every event; unknown keys are kept and ignored by readers that don't know them):
//   "t"     number   unix time in seconds (fractional), set by EventWriter if absent
//   "type"  string   one of the types below (readers skip types they don't know)
//   "step"  integer  optimizer step the event belongs to (optional for log/state/stage)
//   "rank"  integer  global rank that wrote it (optional; absent = rank 0 / single process)
// Types and their extra fields:
//   "metric"     "metrics": {"loss": f, "lr": f, "grad_norm": f, "tokens_per_s": f,
//                            "mfu": f, "val_loss": f, ... any name → number}
//                "tokens": integer tokens seen so far (optional)
//   "log"        "level": "debug"|"info"|"warning"|"error", "message": string
//   "state"      "state": "queued"|"running"|"finished"|"failed"|"cancelled",
//                "reason": string (optional; why it failed / was cancelled)
//   "stage"      "stage": string (e.g. "stage1", "annealing"), "index": integer,
//                "total_steps": integer (optional), "tokens": integer (optional)
//   "checkpoint" "path": string (folder in Hugging Face layout; relative paths are relative
//                to the run dir), "tokens": integer (optional), "config": object (optional)
//   "summary"    "summary": object (final numbers of the run: best val_loss, tokens, time, ...)
//
// Writing rules: one write() per line with O_APPEND so lines from several threads or ranks
// never interleave; "state" and "checkpoint" events are fsync'ed (they are what a restart
// reads). Reading rules: a last line without '\n' is being written and is not consumed yet;
// a line that is not a JSON object with a string "type" is reported (line number) and skipped.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/status.h"

namespace kanana::jobs {

inline constexpr const char* kEventsFileName = "events.jsonl";

// Unix time in seconds with sub-second precision.
double unix_time_now();

// Appends events to one events.jsonl. Thread-safe; every event is on disk (page cache) when
// write() returns, state/checkpoint events also fsync'ed.
class EventWriter {
 public:
  // Opens (creating) the file for appending. If a previous writer died mid-line (SIGKILL),
  // the torn line is terminated first so the next event starts on a line of its own.
  static Result<std::unique_ptr<EventWriter>> open(const std::filesystem::path& path);
  // For a worker started by a launcher: <run_dir>/events.jsonl, events stamped with $RANK
  // when $WORLD_SIZE > 1 (torchrun's variables, set by every launcher).
  static Result<std::unique_ptr<EventWriter>> open_for_worker(const std::filesystem::path& run_dir);
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  // Writes `event` (an object with a string "type"); adds "t" (and "rank" if set) if absent.
  Status write(Json event);

  Status metric(int64_t step, const Json& metrics, std::optional<int64_t> tokens = std::nullopt);
  Status log(const std::string& level, const std::string& message, std::optional<int64_t> step = std::nullopt);
  Status state(const std::string& state, const std::string& reason = {});
  Status stage(const std::string& stage, int64_t index, std::optional<int64_t> total_steps = std::nullopt);
  Status checkpoint(int64_t step, const std::string& path, std::optional<int64_t> tokens = std::nullopt);
  Status summary(const Json& summary);

  // Stamp every event with this rank (workers launched with RANK set call this).
  void set_rank(std::optional<int64_t> rank) { rank_ = rank; }
  const std::filesystem::path& path() const { return path_; }

 private:
  EventWriter(std::filesystem::path path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::filesystem::path path_;
  int fd_ = -1;
  std::optional<int64_t> rank_;
  std::mutex mutex_;
};

struct Event {
  int64_t line = 0;     // 1-based line number in events.jsonl
  uint64_t offset = 0;  // byte offset of the line's first byte
  double t = 0;
  std::string type;
  std::optional<int64_t> step;
  Json json;            // the whole object
};

struct CorruptLine {
  int64_t line = 0;
  uint64_t offset = 0;
  std::string error;    // "line 7: invalid JSON (...)" / "line 9: missing string field 'type'"
};

struct EventBatch {
  std::vector<Event> events;
  std::vector<CorruptLine> corrupt;
  uint64_t next_offset = 0;   // where the next read starts (just after the last full line)
  int64_t next_line = 1;      // line number of the line at next_offset
  bool partial_pending = false;  // bytes after next_offset without a '\n' yet
};

// Parse one line (without '\n'); errors name the line number.
Result<Event> parse_event_line(std::string_view line, int64_t line_number);

// Reads complete lines of `path` starting at byte `offset` (which must be a line start, e.g.
// a previous next_offset; `first_line` numbers it). At most `max_bytes` are read per call so
// a huge file is consumed in pieces. A missing file is an empty batch, not an error.
Result<EventBatch> read_events(const std::filesystem::path& path, uint64_t offset = 0,
                               int64_t first_line = 1, uint64_t max_bytes = 64ull << 20);

// Incremental reader: remembers where it stopped. Used to follow a live run.
class EventTailer {
 public:
  explicit EventTailer(std::filesystem::path path, uint64_t offset = 0, int64_t line = 1)
      : path_(std::move(path)), offset_(offset), line_(line) {}
  // New complete events since the last call (drains the file in max_bytes pieces).
  Result<EventBatch> poll();
  uint64_t offset() const { return offset_; }
  int64_t line() const { return line_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  uint64_t offset_;
  int64_t line_;
};

// What a watcher wants to know about a run from its events alone.
struct EventSummary {
  std::optional<std::string> last_state;  // last "state" event's state
  std::string last_state_reason;
  std::optional<int64_t> last_step;
  Json last_metrics = Json::object();     // merged: latest value of each metric name
  std::optional<int64_t> last_metric_step;
  std::vector<Event> checkpoints;
  std::vector<std::string> recent_logs;   // last few log messages, "level: message"
  int64_t corrupt_lines = 0;
  int64_t event_count = 0;
  void add(const Event& event);
};

// Reads a whole events.jsonl into a summary (corrupt lines counted, not fatal).
Result<EventSummary> summarize_events(const std::filesystem::path& path);

}  // namespace kanana::jobs
