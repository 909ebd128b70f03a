#include "jobs/ssh_launcher.h"

#include <filesystem>
#include <fstream>

#include "base/json.h"
#include "base/files.h"
#include "base/strings.h"
#include "jobs/events.h"
#include "jobs/local_launcher.h"
#include "jobs/shell_quote.h"
#include "jobs/subprocess.h"
#include "jobs/supervisor_script.h"

namespace kanana::jobs {

namespace fs = std::filesystem;

namespace {

constexpr const char* kEventsMarker = "--kanana-events--";
constexpr uint64_t kMaxEventBytesPerPoll = 16ull << 20;

std::string destination(const Target& t) { return t.user.empty() ? t.host : t.user + "@" + t.host; }

// Shell fragment: is pid $1 alive, not a zombie, and (if $2 != 0) started at $2?
const char* kAliveFunction =
    "alive() { kill -0 \"$1\" 2>/dev/null || return 1; "
    "[ -r /proc/$1/stat ] || return 0; "
    "s=$(sed 's/.*) //' /proc/$1/stat | cut -d' ' -f1,20); "
    "case \"$s\" in Z*|X*) return 1;; esac; "
    "[ \"$2\" = 0 ] || [ \"${s#* }\" = \"$2\" ]; }\n";

}  // namespace

std::vector<std::string> ssh_command(const Target& t, const std::string& remote_command, const std::string& ssh_program) {
  std::vector<std::string> argv = {ssh_program, "-T", "-o", "BatchMode=yes"};
  if (t.port > 0) {
    argv.push_back("-p");
    argv.push_back(std::to_string(t.port));
  }
  if (!t.identity_file.empty()) {
    argv.push_back("-i");
    argv.push_back(t.identity_file);
    argv.push_back("-o");
    argv.push_back("IdentitiesOnly=yes");
  }
  for (const auto& o : t.ssh_options) argv.push_back(o);
  argv.push_back("--");  // nothing after this is read as an ssh option
  argv.push_back(destination(t));
  argv.push_back(remote_command);
  return argv;
}

std::string remote_sh(const std::string& script) { return "sh -c " + shell_quote(script); }

Result<std::string> remote_run_dir(const JobSpec& spec) {
  if (!spec.run_dir.empty() && spec.run_dir[0] == '/') return fs::path(spec.run_dir).lexically_normal().string();
  if (!spec.target.remote_workdir.empty() && spec.target.remote_workdir[0] == '/') {
    return (fs::path(spec.target.remote_workdir) / spec.run_dir).lexically_normal().string();
  }
  return invalid_argument("job spec: field 'run_dir' must be absolute for a remote target, or "
                          "'target.remote_workdir' must be an absolute folder on the host (got run_dir '" +
                          spec.run_dir + "')");
}

Result<std::string> run_remote(const Target& target, const std::string& script, const LauncherOptions& options,
                               const std::string& stdin_data) {
  ProcessOptions po;
  po.timeout_s = options.command_timeout_s;
  po.stdin_data = stdin_data;
  KANANA_ASSIGN_OR_RETURN(ProcessResult r, run_process(ssh_command(target, remote_sh(script), options.ssh_program), po));
  if (!r.ok()) return unavailable(r.describe("ssh to " + destination(target)));
  return r.out;
}

namespace {

struct Probe {
  bool missing = false;
  StateEvidence evidence;
  uint64_t events_size = 0;
  std::string event_bytes;
};

// One round trip: liveness, exit files and the events bytes after `offset`.
std::string probe_script(const std::string& dir, uint64_t start_time, int world_size, uint64_t offset) {
  std::string s = kAliveFunction;
  s += "cd " + shell_quote(dir) + " 2>/dev/null || { echo missing=1; exit 0; }\n";
  s += "pid=$(cat supervisor.pid 2>/dev/null)\n";
  s += "if [ -n \"$pid\" ] && alive \"$pid\" " + std::to_string(start_time) + "; then echo alive=1; else echo alive=0; fi\n";
  s += "w=0; for f in rank-*.pid; do [ -f \"$f\" ] && alive \"$(cat \"$f\")\" 0 && w=$((w + 1)); done; echo workers=$w\n";
  s += "[ -f cancel_requested ] && echo cancel=1\n";
  s += "[ -f exit_status.json ] && echo \"exit_status=$(cat exit_status.json)\"\n";
  s += "k=0; while [ $k -lt " + std::to_string(world_size) +
       " ]; do [ -f rank-$k.exit ] && echo \"rank_exit=$k:$(cat rank-$k.exit)\"; k=$((k + 1)); done\n";
  s += "echo \"events_size=$(wc -c < events.jsonl 2>/dev/null || echo 0)\"\n";
  s += std::string("echo ") + kEventsMarker + "\n";
  s += "[ -f events.jsonl ] && tail -c +" + std::to_string(offset + 1) + " events.jsonl | head -c " +
       std::to_string(kMaxEventBytesPerPoll) + "\n";
  s += "exit 0\n";
  return s;
}

Probe parse_probe(const std::string& out, int world_size) {
  Probe p;
  p.evidence.rank_exit_codes.assign(static_cast<size_t>(std::max(world_size, 1)), std::nullopt);
  const std::string marker = std::string(kEventsMarker) + "\n";
  size_t head_end = out.find(marker);
  const std::string head = out.substr(0, head_end);
  if (head_end != std::string::npos) p.event_bytes = out.substr(head_end + marker.size());
  for (const auto& raw : split(head, '\n')) {
    const std::string line(trim(raw));
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "missing") p.missing = true;
    if (key == "alive") p.evidence.supervisor_alive = value == "1";
    if (key == "workers") p.evidence.workers_alive = std::atoi(value.c_str());
    if (key == "cancel") p.evidence.cancel_requested = true;
    if (key == "exit_status") {
      Json j = parse_json_or_discarded(value);
      if (j.is_object()) p.evidence.exit_status = j;
    }
    if (key == "rank_exit") {
      const size_t colon = value.find(':');
      if (colon != std::string::npos) {
        const int k = std::atoi(value.substr(0, colon).c_str());
        const std::string code(trim(value.substr(colon + 1)));
        if (k >= 0 && k < static_cast<int>(p.evidence.rank_exit_codes.size()) && !code.empty() &&
            code.find_first_not_of("0123456789") == std::string::npos) {
          p.evidence.rank_exit_codes[static_cast<size_t>(k)] = std::atoi(code.c_str());
        }
      }
    }
    if (key == "events_size") p.events_size = std::strtoull(value.c_str(), nullptr, 10);
  }
  return p;
}

uint64_t local_size(const fs::path& p) {
  std::error_code ec;
  const auto s = fs::file_size(p, ec);
  return ec ? 0 : s;
}

Status append_bytes(const fs::path& path, const std::string& bytes, bool truncate) {
  std::ofstream out(path, std::ios::binary | (truncate ? std::ios::trunc : std::ios::app));
  if (!out) return errno_status(path, "open events mirror");
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.flush();
  if (!out) return errno_status(path, "write events mirror");
  return Status::ok();
}

// Runs the probe and keeps the mirror in step with the remote file.
Result<Probe> probe(const Target& target, const std::string& remote_dir, const fs::path& local_dir,
                    uint64_t start_time, int world_size, const LauncherOptions& options) {
  std::error_code ec;
  fs::create_directories(local_dir, ec);
  const fs::path mirror = local_dir / kEventsFileName;
  uint64_t offset = local_size(mirror);
  KANANA_ASSIGN_OR_RETURN(std::string out,
                          run_remote(target, probe_script(remote_dir, start_time, world_size, offset), options));
  Probe p = parse_probe(out, world_size);
  if (p.missing) return p;
  if (p.events_size < offset) {
    // The remote file was replaced (e.g. a new job in the same folder): mirror it afresh.
    KANANA_ASSIGN_OR_RETURN(out, run_remote(target, probe_script(remote_dir, start_time, world_size, 0), options));
    p = parse_probe(out, world_size);
    KANANA_RETURN_IF_ERROR(append_bytes(mirror, p.event_bytes, /*truncate=*/true));
    return p;
  }
  if (!p.event_bytes.empty()) KANANA_RETURN_IF_ERROR(append_bytes(mirror, p.event_bytes, false));
  return p;
}

}  // namespace

Result<fs::path> mirror_remote_events(const Target& target, const std::string& remote_dir, const fs::path& local_dir,
                                      const LauncherOptions& options) {
  KANANA_ASSIGN_OR_RETURN(Probe p, probe(target, remote_dir, local_dir, 0, 1, options));
  if (p.missing) return not_found(destination(target) + ":" + remote_dir + ": run folder does not exist on the host");
  return local_dir / kEventsFileName;
}

Result<JobHandle> SshLauncher::launch(const JobSpec& spec) {
  KANANA_RETURN_IF_ERROR(spec.validate());
  if (spec.target.kind != TargetKind::kSsh) return invalid_argument("SshLauncher needs a target of kind 'ssh'");
  if (spec.local_dir.empty()) {
    return invalid_argument("job spec: field 'local_dir' is required for an ssh target (this machine's folder "
                            "for job.json and the copy of events.jsonl)");
  }
  KANANA_ASSIGN_OR_RETURN(std::string dir, remote_run_dir(spec));
  const fs::path local_dir = fs::absolute(spec.local_dir).lexically_normal();
  std::error_code ec;
  fs::create_directories(local_dir, ec);
  if (ec) return unavailable(local_dir.string() + ": cannot create the local run folder: " + ec.message());
  KANANA_RETURN_IF_ERROR(write_json_file(local_dir / "job_spec.json", job_spec_to_json(spec)));
  // Rewrite a fresh mirror: events of an earlier job in this folder would be misread.
  std::filesystem::remove(local_dir / kEventsFileName, ec);

  SupervisorPlan plan;
  plan.run_dir = dir;
  plan.workdir = spec.workdir;
  plan.command = spec.resolved_command(dir);
  plan.env = spec.env;
  plan.nproc = spec.resources.nproc_per_node;
  plan.world_size = plan.nproc;
  // The host picks its own free port (python3 if present, else one derived from the pid).
  plan.master_port_shell =
      "python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])' "
      "2>/dev/null || echo $((20000 + $$ % 20000))";
  plan.cancel_grace_s = options_.cancel_grace_s;
  const std::string supervisor = supervisor_script(plan);

  const std::string q_dir = shell_quote(dir);
  std::string s;
  s += kAliveFunction;
  s += "mkdir -p " + q_dir + " && cd " + q_dir + " || exit 1\n";
  s += "if [ -f supervisor.pid ] && [ ! -f exit_status.json ] && alive \"$(cat supervisor.pid)\" 0; then "
       "echo 'a job is still running in this folder' >&2; exit 3; fi\n";
  s += "rm -f supervisor.pid exit_status.json cancel_requested pids rank-*.exit rank-*.pid\n";
  s += "cat > job_spec.json\n";  // the spec arrives on stdin
  s += "if command -v setsid >/dev/null 2>&1; then DETACH=setsid; else DETACH=; fi\n";
  s += "nohup $DETACH sh -c " + shell_quote(supervisor) + " kanana-supervisor > supervisor.log 2>&1 < /dev/null &\n";
  s += "i=0; while [ ! -s supervisor.pid ] && [ $i -lt 200 ]; do sleep 0.05 2>/dev/null || sleep 1; i=$((i + 1)); done\n";
  s += "pid=$(cat supervisor.pid 2>/dev/null) || { echo 'supervisor did not start' >&2; exit 4; }\n";
  s += "echo \"pid=$pid\"\n";
  s += "echo \"start=$(sed 's/.*) //' /proc/$pid/stat 2>/dev/null | cut -d' ' -f20)\"\n";
  s += "echo \"host=$(hostname)\"\n";
  KANANA_ASSIGN_OR_RETURN(std::string out, run_remote(spec.target, s, options_, job_spec_to_json(spec).dump(2) + "\n"));

  JobHandle h;
  h.target = TargetKind::kSsh;
  h.name = spec.name;
  h.run_dir = dir;
  h.local_dir = local_dir.string();
  h.world_size = plan.nproc;
  h.started_at = unix_time_now();
  h.command = plan.command;
  h.target_info = spec.target;
  for (const auto& line : split(out, '\n')) {
    if (starts_with(line, "pid=")) h.pid = std::atoll(line.c_str() + 4);
    if (starts_with(line, "start=")) h.pid_start_time = std::strtoull(line.c_str() + 6, nullptr, 10);
    if (starts_with(line, "host=")) h.host = std::string(trim(line.substr(5)));
  }
  if (h.pid <= 0) return unavailable("ssh launch on " + destination(spec.target) + " did not report a pid: " + out);
  KANANA_RETURN_IF_ERROR(write_job_file(h));
  return h;
}

Result<JobStatus> SshLauncher::poll(const JobHandle& h) {
  KANANA_ASSIGN_OR_RETURN(Probe p, probe(h.target_info, h.run_dir, h.local_dir, h.pid_start_time, h.world_size, options_));
  if (p.missing) {
    return not_found(destination(h.target_info) + ":" + h.run_dir + ": run folder does not exist on the host");
  }
  StateEvidence ev = p.evidence;
  const fs::path mirror = fs::path(h.local_dir) / kEventsFileName;
  if (auto st = last_state_event(mirror.string()); st.is_ok() && st->has_value()) {
    ev.last_state_event = (*st)->first;
    ev.last_state_reason = (*st)->second;
  }
  return derive_job_status(ev);
}

Status SshLauncher::cancel(const JobHandle& h) {
  std::string s = kAliveFunction;
  s += "cd " + shell_quote(h.run_dir) + " || exit 1\n";
  s += "[ -f exit_status.json ] && exit 0\n";
  s += ": > cancel_requested\n";
  s += "pid=$(cat supervisor.pid 2>/dev/null)\n";
  s += "if [ -n \"$pid\" ] && alive \"$pid\" " + std::to_string(h.pid_start_time) + "; then kill -TERM \"$pid\"; exit 0; fi\n";
  // The supervisor is gone: stop the ranks directly.
  s += "for f in rank-*.pid; do [ -f \"$f\" ] && alive \"$(cat \"$f\")\" 0 && kill -TERM \"$(cat \"$f\")\"; done\n";
  s += "exit 0\n";
  auto r = run_remote(h.target_info, s, options_);
  return r.is_ok() ? Status::ok() : r.status();
}

Result<fs::path> SshLauncher::sync_events(const JobHandle& h) {
  return mirror_remote_events(h.target_info, h.run_dir, h.local_dir, options_);
}

std::vector<std::string> SshLauncher::follow_command(const JobHandle& h, uint64_t from_offset) const {
  const std::string script = "cd " + shell_quote(h.run_dir) + " && exec tail -c +" + std::to_string(from_offset + 1) +
                             " -f events.jsonl";
  return ssh_command(h.target_info, remote_sh(script), options_.ssh_program);
}

}  // namespace kanana::jobs
