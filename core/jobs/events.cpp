#include "jobs/events.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "base/json.h"
#include "base/files.h"

namespace kanana::jobs {

double unix_time_now() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

namespace {

Status write_all(int fd, const char* data, size_t size, const std::filesystem::path& path) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_status(path, "append event to");
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<EventWriter>> EventWriter::open(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return errno_status(path, "open events file");
  auto writer = std::unique_ptr<EventWriter>(new EventWriter(path, fd));
  // A writer killed mid-line leaves a torn last line; end it so our first event parses.
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0) {
    const int rfd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (rfd >= 0) {
      char last = '\n';
      if (::pread(rfd, &last, 1, st.st_size - 1) == 1 && last != '\n') {
        ::close(rfd);
        KANANA_RETURN_IF_ERROR(write_all(fd, "\n", 1, path));
      } else {
        ::close(rfd);
      }
    }
  }
  return writer;
}

Result<std::unique_ptr<EventWriter>> EventWriter::open_for_worker(const std::filesystem::path& run_dir) {
  KANANA_ASSIGN_OR_RETURN(auto writer, open(run_dir / kEventsFileName));
  const char* rank = std::getenv("RANK");
  const char* world = std::getenv("WORLD_SIZE");
  if (rank && world && std::atoi(world) > 1) writer->set_rank(std::atoll(rank));
  return writer;
}

EventWriter::~EventWriter() {
  if (fd_ >= 0) ::close(fd_);
}

Status EventWriter::write(Json event) {
  if (!event.is_object() || !event.contains("type") || !event["type"].is_string()) {
    return invalid_argument("event must be a JSON object with a string 'type', got " + event.dump());
  }
  if (!event.contains("t")) event["t"] = unix_time_now();
  if (rank_ && !event.contains("rank")) event["rank"] = *rank_;
  std::string line;
  try {
    // Invalid UTF-8 in a log message must not make the whole stream unreadable.
    line = event.dump(-1, ' ', false, Json::error_handler_t::replace);
  } catch (const std::exception& e) {
    return invalid_argument(std::string("event cannot be serialized: ") + e.what());
  }
  line.push_back('\n');
  const std::string type = event["type"].get<std::string>();
  std::lock_guard<std::mutex> lock(mutex_);
  // One write() per line: O_APPEND makes it land whole at the end, even across processes.
  KANANA_RETURN_IF_ERROR(write_all(fd_, line.data(), line.size(), path_));
  if (type == "state" || type == "checkpoint") {
    if (::fsync(fd_) != 0) return errno_status(path_, "fsync");
  }
  return Status::ok();
}

Status EventWriter::metric(int64_t step, const Json& metrics, std::optional<int64_t> tokens) {
  Json e = {{"type", "metric"}, {"step", step}, {"metrics", metrics}};
  if (tokens) e["tokens"] = *tokens;
  return write(std::move(e));
}

Status EventWriter::log(const std::string& level, const std::string& message, std::optional<int64_t> step) {
  Json e = {{"type", "log"}, {"level", level}, {"message", message}};
  if (step) e["step"] = *step;
  return write(std::move(e));
}

Status EventWriter::state(const std::string& state, const std::string& reason) {
  Json e = {{"type", "state"}, {"state", state}};
  if (!reason.empty()) e["reason"] = reason;
  return write(std::move(e));
}

Status EventWriter::stage(const std::string& stage, int64_t index, std::optional<int64_t> total_steps) {
  Json e = {{"type", "stage"}, {"stage", stage}, {"index", index}};
  if (total_steps) e["total_steps"] = *total_steps;
  return write(std::move(e));
}

Status EventWriter::checkpoint(int64_t step, const std::string& path, std::optional<int64_t> tokens) {
  Json e = {{"type", "checkpoint"}, {"step", step}, {"path", path}};
  if (tokens) e["tokens"] = *tokens;
  return write(std::move(e));
}

Status EventWriter::summary(const Json& summary) {
  return write(Json{{"type", "summary"}, {"summary", summary}});
}

Result<Event> parse_event_line(std::string_view line, int64_t line_number) {
  const std::string where = "line " + std::to_string(line_number);
  Json json = parse_json_or_discarded(line);
  if (json.is_discarded()) return data_loss(where + ": invalid JSON");
  if (!json.is_object()) return data_loss(where + ": not a JSON object");
  if (!json.contains("type") || !json["type"].is_string()) {
    return data_loss(where + ": missing string field 'type'");
  }
  Event event;
  event.line = line_number;
  event.type = json["type"].get<std::string>();
  if (json.contains("t") && json["t"].is_number()) event.t = json["t"].get<double>();
  if (json.contains("step") && json["step"].is_number_integer()) event.step = json["step"].get<int64_t>();
  event.json = std::move(json);
  return event;
}

Result<EventBatch> read_events(const std::filesystem::path& path, uint64_t offset,
                               int64_t first_line, uint64_t max_bytes) {
  EventBatch batch;
  batch.next_offset = offset;
  batch.next_line = first_line;
  // O_NONBLOCK: a FIFO in place of events.jsonl must not block the reader (it is refused below).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) return batch;
    return errno_status(path, "open events file");
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return errno_status(path, "stat");
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return invalid_argument(path.string() + " is not a regular file");
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < offset) {
    ::close(fd);
    return data_loss(path.string() + ": file shrank below the read offset " + std::to_string(offset) +
                     " (truncated or replaced while being followed)");
  }
  const uint64_t want = std::min<uint64_t>(size - offset, max_bytes);
  std::string buffer(want, '\0');
  uint64_t got = 0;
  while (got < want) {
    const ssize_t n = ::pread(fd, buffer.data() + got, want - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<uint64_t>(n);
  }
  ::close(fd);
  buffer.resize(got);

  size_t pos = 0;
  while (pos < buffer.size()) {
    const size_t nl = buffer.find('\n', pos);
    if (nl == std::string::npos) break;  // being written: leave it for the next read
    std::string_view line(buffer.data() + pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const uint64_t line_offset = offset + pos;
    if (!std::string_view(line).empty() && line.find_first_not_of(" \t") != std::string_view::npos) {
      auto event = parse_event_line(line, batch.next_line);
      if (event.is_ok()) {
        event->offset = line_offset;
        batch.events.push_back(std::move(event).value());
      } else {
        batch.corrupt.push_back({batch.next_line, line_offset, path.filename().string() + ": " +
                                                                   event.status().message()});
      }
    }
    ++batch.next_line;
    pos = nl + 1;
  }
  batch.next_offset = offset + pos;
  batch.partial_pending = batch.next_offset < size && want == size - offset;
  // A single line longer than max_bytes would stall the tailer forever: report and skip it.
  if (pos == 0 && want == max_bytes && want < size - offset) {
    const size_t skip = buffer.size();
    batch.corrupt.push_back({batch.next_line, offset, path.filename().string() + ": line " +
                                                          std::to_string(batch.next_line) +
                                                          ": longer than " + std::to_string(max_bytes) +
                                                          " bytes, skipped"});
    batch.next_offset = offset + skip;  // the rest of that line is then reported as one more corrupt line
  }
  return batch;
}

Result<EventBatch> EventTailer::poll() {
  EventBatch all;
  all.next_offset = offset_;
  all.next_line = line_;
  for (;;) {
    KANANA_ASSIGN_OR_RETURN(EventBatch batch, read_events(path_, offset_, line_));
    const bool progressed = batch.next_offset != offset_;
    offset_ = batch.next_offset;
    line_ = batch.next_line;
    for (auto& e : batch.events) all.events.push_back(std::move(e));
    for (auto& c : batch.corrupt) all.corrupt.push_back(std::move(c));
    all.next_offset = offset_;
    all.next_line = line_;
    all.partial_pending = batch.partial_pending;
    if (!progressed || batch.partial_pending) break;
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0 || static_cast<uint64_t>(st.st_size) <= offset_) break;
  }
  return all;
}

void EventSummary::add(const Event& event) {
  ++event_count;
  if (event.step) last_step = std::max(last_step.value_or(*event.step), *event.step);
  const Json& j = event.json;
  if (event.type == "state" && j.contains("state") && j["state"].is_string()) {
    last_state = j["state"].get<std::string>();
    last_state_reason = j.value("reason", std::string());
  } else if (event.type == "metric" && j.contains("metrics") && j["metrics"].is_object()) {
    for (const auto& [k, v] : j["metrics"].items()) last_metrics[k] = v;
    if (event.step) last_metric_step = event.step;
  } else if (event.type == "checkpoint") {
    checkpoints.push_back(event);
  } else if (event.type == "log") {
    const std::string level = j.contains("level") && j["level"].is_string() ? j["level"].get<std::string>() : "info";
    const std::string message = j.contains("message") && j["message"].is_string() ? j["message"].get<std::string>() : j.dump();
    recent_logs.push_back(level + ": " + message);
    if (recent_logs.size() > 20) recent_logs.erase(recent_logs.begin());
  }
}

Result<EventSummary> summarize_events(const std::filesystem::path& path) {
  EventTailer tailer(path);
  KANANA_ASSIGN_OR_RETURN(EventBatch batch, tailer.poll());
  EventSummary summary;
  for (const auto& e : batch.events) summary.add(e);
  summary.corrupt_lines = static_cast<int64_t>(batch.corrupt.size());
  return summary;
}

}  // namespace kanana::jobs
