#include "jobs/job_status.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/files.h"
#include "base/strings.h"
#include "jobs/events.h"

namespace kanana::jobs {

std::string rank_log_name(int rank) { return "rank-" + std::to_string(rank) + ".log"; }
std::string rank_exit_name(int rank) { return "rank-" + std::to_string(rank) + ".exit"; }

const char* job_state_name(JobState state) {
  switch (state) {
    case JobState::kQueued: return "queued";
    case JobState::kRunning: return "running";
    case JobState::kFinished: return "finished";
    case JobState::kFailed: return "failed";
    case JobState::kCancelled: return "cancelled";
  }
  return "failed";
}

Result<JobState> parse_job_state(const std::string& name) {
  if (name == "queued") return JobState::kQueued;
  if (name == "running") return JobState::kRunning;
  if (name == "finished") return JobState::kFinished;
  if (name == "failed") return JobState::kFailed;
  if (name == "cancelled") return JobState::kCancelled;
  return invalid_argument("unknown job state '" + name + "'");
}

bool is_final(JobState s) {
  return s == JobState::kFinished || s == JobState::kFailed || s == JobState::kCancelled;
}

Json job_handle_to_json(const JobHandle& h) {
  Json target = job_spec_to_json(JobSpec{.target = h.target_info})["target"];
  return Json{{"target", target_kind_name(h.target)}, {"name", h.name},
              {"run_dir", h.run_dir},                 {"local_dir", h.local_dir},
              {"pid", h.pid},                         {"pid_start_time", h.pid_start_time},
              {"remote_job_id", h.remote_job_id},     {"host", h.host},
              {"world_size", h.world_size},           {"master_port", h.master_port},
              {"started_at", h.started_at},           {"command", h.command},
              {"target_info", target}};
}

Result<JobHandle> job_handle_from_json(const Json& json, const std::string& origin) {
  if (!json.is_object()) return invalid_argument(origin + ": job handle must be a JSON object");
  JsonReader r(json, origin);
  JobHandle h;
  Status e;
  auto kind = parse_target_kind(r.get_string_or("target", "local", &e));
  if (!kind.is_ok()) return r.field_error("target", kind.status().message());
  h.target = *kind;
  h.name = r.get_string_or("name", "", &e);
  KANANA_ASSIGN_OR_RETURN(h.run_dir, r.get_string("run_dir"));
  h.local_dir = r.get_string_or("local_dir", h.run_dir, &e);
  h.pid = r.get_int_or("pid", 0, &e);
  h.pid_start_time = static_cast<uint64_t>(r.get_int_or("pid_start_time", 0, &e));
  h.remote_job_id = r.get_string_or("remote_job_id", "", &e);
  h.host = r.get_string_or("host", "", &e);
  h.world_size = static_cast<int>(r.get_int_or("world_size", 1, &e));
  h.master_port = static_cast<int>(r.get_int_or("master_port", 0, &e));
  h.started_at = r.get_number_or("started_at", 0, &e);
  KANANA_RETURN_IF_ERROR(e);
  if (json.contains("command") && json["command"].is_array()) {
    for (const auto& a : json["command"]) {
      if (a.is_string()) h.command.push_back(a.get<std::string>());
    }
  }
  if (json.contains("target_info") && json["target_info"].is_object()) {
    Json spec = {{"name", "handle"}, {"command", {"x"}}, {"run_dir", h.run_dir}, {"target", json["target_info"]}};
    KANANA_ASSIGN_OR_RETURN(JobSpec s, job_spec_from_json(spec, origin + " (target_info)"));
    h.target_info = s.target;
  }
  h.target_info.kind = h.target;
  return h;
}

std::string signal_description(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return "signal " + std::to_string(sig) + (abbrev ? std::string(" (SIG") + abbrev + ")" : std::string());
}

void exit_code_to_status(int code, std::optional<int>* exit_code, std::optional<int>* sig) {
  if (code > 128 && code < 128 + 65) {
    *sig = code - 128;
    exit_code->reset();
  } else {
    *exit_code = code;
    sig->reset();
  }
}

namespace {

void describe_failure(JobStatus* s) {
  std::string what;
  if (s->signal) {
    what = "killed by " + signal_description(*s->signal);
  } else if (s->exit_code) {
    what = "exit code " + std::to_string(*s->exit_code);
  }
  if (s->failed_rank && !what.empty()) what = "rank " + std::to_string(*s->failed_rank) + " " + what;
  if (!what.empty()) s->reason = s->reason.empty() ? what : what + ": " + s->reason;
}

}  // namespace

JobStatus derive_job_status(const StateEvidence& ev) {
  JobStatus s;
  s.process_alive = ev.supervisor_alive.value_or(false) || ev.workers_alive > 0;
  s.scheduler_state = ev.scheduler_word;
  const bool event_failed = ev.last_state_event && *ev.last_state_event == "failed";

  // 1. The supervisor's record of how the ranks ended is the most direct evidence.
  if (ev.exit_status && ev.exit_status->is_object()) {
    const Json& x = *ev.exit_status;
    const int code = x.value("exit_code", -1);
    if (x.contains("failed_rank") && x["failed_rank"].is_number_integer() && x["failed_rank"].get<int>() >= 0) {
      s.failed_rank = x["failed_rank"].get<int>();
    }
    exit_code_to_status(code, &s.exit_code, &s.signal);
    if (x.value("cancelled", false) || ev.cancel_requested) {
      s.state = JobState::kCancelled;
      s.reason = "cancelled";
      return s;
    }
    if (code == 0 && !event_failed) {
      s.state = JobState::kFinished;
      return s;
    }
    s.state = JobState::kFailed;
    s.reason = event_failed ? ev.last_state_reason : std::string();
    describe_failure(&s);
    if (s.reason.empty()) s.reason = "failed";
    return s;
  }

  // 2. The scheduler knows about queued and finished jobs the files can't show.
  if (ev.scheduler_state) {
    s.state = *ev.scheduler_state;
    if (ev.scheduler_exit_code && *ev.scheduler_exit_code != 0) s.exit_code = ev.scheduler_exit_code;
    s.signal = ev.scheduler_signal;
    if (s.state == JobState::kFinished && event_failed) s.state = JobState::kFailed;
    if (s.state == JobState::kFailed) {
      s.reason = ev.scheduler_word.empty() ? ev.last_state_reason : ev.scheduler_word;
      describe_failure(&s);
    } else if (s.state == JobState::kCancelled) {
      s.reason = "cancelled (" + ev.scheduler_word + ")";
    }
    return s;
  }

  // 3. Still running?
  if (ev.supervisor_alive.value_or(false)) {
    s.state = JobState::kRunning;
    return s;
  }
  if (ev.workers_alive > 0) {
    s.state = JobState::kRunning;
    s.reason = "supervisor is gone but " + std::to_string(ev.workers_alive) + " rank(s) still run";
    return s;
  }

  // 4. Everything is gone without a final record: read what the ranks left.
  bool all_ranks_recorded = !ev.rank_exit_codes.empty();
  int first_bad = -1, bad_code = 0;
  for (size_t k = 0; k < ev.rank_exit_codes.size(); ++k) {
    if (!ev.rank_exit_codes[k]) {
      all_ranks_recorded = false;
    } else if (*ev.rank_exit_codes[k] != 0 && first_bad < 0) {
      first_bad = static_cast<int>(k);
      bad_code = *ev.rank_exit_codes[k];
    }
  }
  if (ev.cancel_requested) {
    s.state = JobState::kCancelled;
    s.reason = "cancelled";
    return s;
  }
  if (first_bad >= 0) {
    s.state = JobState::kFailed;
    s.failed_rank = first_bad;
    exit_code_to_status(bad_code, &s.exit_code, &s.signal);
    describe_failure(&s);
    return s;
  }
  if (all_ranks_recorded) {
    s.exit_code = 0;
    s.state = event_failed ? JobState::kFailed : JobState::kFinished;
    if (event_failed) s.reason = ev.last_state_reason;
    return s;
  }
  if (ev.last_state_event) {
    auto st = parse_job_state(*ev.last_state_event);
    if (st.is_ok() && is_final(*st)) {
      s.state = *st;
      s.reason = ev.last_state_reason;
      return s;
    }
  }
  s.state = JobState::kFailed;
  s.reason = "interrupted: the job's processes ended without recording an exit status "
             "(killed with SIGKILL, out of memory, or the machine restarted)";
  return s;
}

uint64_t process_start_time(int64_t pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // comm (field 2) may contain spaces and ')': fields after the last ')' are fixed.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  // rest starts at field 3 (state); start time is field 22.
  for (int i = 3; i <= 22; ++i) {
    if (!(rest >> field)) return 0;
  }
  return std::strtoull(field.c_str(), nullptr, 10);
}

bool process_alive(int64_t pid, uint64_t start_time) {
  if (pid <= 0) return false;
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  if (!in) return false;
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return false;
  const char state = stat[close + 2];
  if (state == 'Z' || state == 'X' || state == 'x') return false;  // exited, not yet reaped
  if (start_time != 0 && process_start_time(pid) != start_time) return false;  // pid reused
  return true;
}

Result<std::optional<std::pair<std::string, std::string>>> last_state_event(const std::string& events_path) {
  using Found = std::optional<std::pair<std::string, std::string>>;
  std::error_code ec;
  const auto size = std::filesystem::file_size(events_path, ec);
  if (ec) return Found{};
  auto scan = [](const std::vector<Event>& events) -> Found {
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
      if (it->type == "state" && it->json.contains("state") && it->json["state"].is_string()) {
        return std::make_pair(it->json["state"].get<std::string>(), it->json.value("reason", std::string()));
      }
    }
    return std::nullopt;
  };
  // Fast path: the tail. Start reading after the first '\n' of the window (a line start).
  const uint64_t window = 256 * 1024;
  if (size > window) {
    std::ifstream in(events_path, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(size - window));
    std::string chunk(window, '\0');
    in.read(chunk.data(), static_cast<std::streamsize>(window));
    const size_t nl = chunk.find('\n');
    if (nl != std::string::npos) {
      KANANA_ASSIGN_OR_RETURN(EventBatch tail, read_events(events_path, size - window + nl + 1));
      if (Found f = scan(tail.events)) return f;
    }
  }
  EventTailer tailer(events_path);
  Found found;
  for (;;) {
    KANANA_ASSIGN_OR_RETURN(EventBatch b, tailer.poll());
    if (Found f = scan(b.events)) found = f;
    if (b.events.empty() && b.corrupt.empty()) break;
  }
  return found;
}

StateEvidence read_run_dir_evidence(const std::string& dir, int world_size) {
  namespace fs = std::filesystem;
  StateEvidence ev;
  const fs::path d(dir);
  if (auto j = read_json_file(d / kExitStatusFileName); j.is_ok()) ev.exit_status = *j;
  std::error_code ec;
  ev.cancel_requested = fs::exists(d / kCancelRequestedFileName, ec);
  for (int k = 0; k < world_size; ++k) {
    std::optional<int> code;
    if (auto text = read_file(d / rank_exit_name(k)); text.is_ok()) {
      const std::string t(trim(*text));
      if (!t.empty() && t.find_first_not_of("0123456789") == std::string::npos) code = std::stoi(t);
    }
    ev.rank_exit_codes.push_back(code);
  }
  if (auto st = last_state_event((d / kEventsFileName).string()); st.is_ok() && st->has_value()) {
    ev.last_state_event = (*st)->first;
    ev.last_state_reason = (*st)->second;
  }
  return ev;
}

}  // namespace kanana::jobs
