#include "jobs/local_launcher.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>

#include "base/files.h"
#include "base/strings.h"
#include "jobs/events.h"
#include "jobs/supervisor_script.h"

namespace kanana::jobs {

namespace fs = std::filesystem;

Result<int> find_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return unavailable(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int e = errno;
    ::close(fd);
    return unavailable(std::string("cannot find a free port: ") + std::strerror(e));
  }
  ::close(fd);
  return static_cast<int>(ntohs(addr.sin_port));
}

std::string local_host_name() {
  char name[256] = {0};
  if (::gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

Result<JobHandle> attach(const fs::path& local_dir) {
  const fs::path file = local_dir / kJobFileName;
  if (!fs::exists(file)) {
    return not_found(file.string() + ": no job.json (not a run folder, or the job was never launched)");
  }
  KANANA_ASSIGN_OR_RETURN(Json json, read_json_file(file));
  KANANA_ASSIGN_OR_RETURN(JobHandle h, job_handle_from_json(json, file.string()));
  // A run folder moved or mounted elsewhere: trust where we found job.json.
  h.local_dir = fs::absolute(local_dir).lexically_normal().string();
  if (h.target != TargetKind::kSsh) h.run_dir = h.local_dir;
  return h;
}

Status write_job_file(const JobHandle& handle) {
  return write_json_file(fs::path(handle.local_dir) / kJobFileName, job_handle_to_json(handle));
}

namespace {

std::vector<int64_t> read_pids(const fs::path& dir, int world_size) {
  std::vector<int64_t> pids;
  for (int k = 0; k < world_size; ++k) {
    auto text = read_file(dir / ("rank-" + std::to_string(k) + ".pid"));
    if (!text.is_ok()) continue;
    const std::string t(trim(*text));
    if (!t.empty() && t.find_first_not_of("0123456789") == std::string::npos) pids.push_back(std::stoll(t));
  }
  return pids;
}

}  // namespace

Result<JobHandle> LocalLauncher::launch(const JobSpec& spec) {
  KANANA_RETURN_IF_ERROR(spec.validate());
  if (spec.target.kind != TargetKind::kLocal) {
    return invalid_argument(std::string("LocalLauncher cannot launch a '") + target_kind_name(spec.target.kind) + "' job");
  }
  std::error_code ec;
  const fs::path run_dir = fs::absolute(spec.run_dir).lexically_normal();
  fs::create_directories(run_dir, ec);
  if (ec) return unavailable(run_dir.string() + ": cannot create the run folder: " + ec.message());
  // Refuse to start a second job in a folder whose job is still running.
  if (fs::exists(run_dir / kJobFileName)) {
    if (auto old = attach(run_dir); old.is_ok() && process_alive(old->pid, old->pid_start_time)) {
      return already_exists(run_dir.string() + ": a job is still running there (pid " + std::to_string(old->pid) + ")");
    }
  }
  KANANA_RETURN_IF_ERROR(write_json_file(run_dir / "job_spec.json", job_spec_to_json(spec)));
  // Evidence left by an earlier job in this folder (a resume) must be gone before launch()
  // returns, or a poll right after would read the old job's ending as this one's.
  for (const auto& entry : fs::directory_iterator(run_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name == kExitStatusFileName || name == kCancelRequestedFileName || name == kPidsFileName ||
        name == kSupervisorPidFileName || (starts_with(name, "rank-") && (ends_with(name, ".exit") || ends_with(name, ".pid")))) {
      fs::remove(entry.path(), ec);
    }
  }

  const int nproc = spec.resources.nproc_per_node;
  KANANA_ASSIGN_OR_RETURN(int port, find_free_port());
  SupervisorPlan plan;
  plan.run_dir = run_dir.string();
  plan.workdir = spec.workdir.empty() ? std::string() : fs::absolute(spec.workdir).string();
  plan.command = spec.resolved_command(run_dir.string());
  plan.env = spec.env;
  plan.nproc = nproc;
  plan.world_size = nproc;
  plan.master_port = port;
  plan.cancel_grace_s = options_.cancel_grace_s;
  const std::string script = supervisor_script(plan);

  // Everything the children need exists before fork: they only make async-signal-safe calls.
  const std::string log_path = (run_dir / "supervisor.log").string();
  const char* argv[] = {"/bin/sh", "-c", script.c_str(), "kanana-supervisor", nullptr};
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return internal_error(std::string("pipe: ") + std::strerror(errno));

  // Signals stay blocked from here until the supervisor child has reset every handler: a
  // cancel() right after launch() may SIGTERM the child before it has exec'ed, and the parent's
  // handlers (Qt Test's crash handler, say) must never run in that forked copy — they are not
  // fork-safe in a copy of a multi-threaded process. Blocked, the signal waits and then takes its
  // default action: the would-be supervisor dies and the job reads as cancelled.
  sigset_t all_signals, parent_mask;
  sigfillset(&all_signals);
  ::pthread_sigmask(SIG_SETMASK, &all_signals, &parent_mask);
  const pid_t middle = ::fork();
  if (middle != 0) ::pthread_sigmask(SIG_SETMASK, &parent_mask, nullptr);
  if (middle < 0) {
    ::close(report[0]);
    ::close(report[1]);
    return internal_error(std::string("fork: ") + std::strerror(errno));
  }
  if (middle == 0) {
    ::setsid();  // no controlling terminal, own session: Ctrl-C in the launching shell doesn't reach it
    const pid_t supervisor = ::fork();
    if (supervisor == 0) {
      const int null_fd = ::open("/dev/null", O_RDONLY);
      const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (null_fd >= 0) ::dup2(null_fd, 0);
      if (log_fd >= 0) {
        ::dup2(log_fd, 1);
        ::dup2(log_fd, 2);
      }
      ::close_range(3, UINT_MAX, 0);  // the GUI's sockets and files stay with the GUI
      for (int sig = 1; sig < NSIG; ++sig) {
        if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
      }
      ::signal(SIGHUP, SIG_IGN);  // as nohup
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);  // only now: handlers are the defaults
      ::execv("/bin/sh", const_cast<char* const*>(argv));
      ::_exit(127);
    }
    const int64_t pid = supervisor;
    (void)!::write(report[1], &pid, sizeof pid);
    ::_exit(supervisor > 0 ? 0 : 1);
  }
  ::close(report[1]);
  int64_t supervisor_pid = 0;
  ssize_t n;
  do {
    n = ::read(report[0], &supervisor_pid, sizeof supervisor_pid);
  } while (n < 0 && errno == EINTR);
  ::close(report[0]);
  int middle_status = 0;
  while (::waitpid(middle, &middle_status, 0) < 0 && errno == EINTR) {
  }
  if (n != static_cast<ssize_t>(sizeof supervisor_pid) || supervisor_pid <= 0) {
    return internal_error("could not start the job supervisor for " + run_dir.string());
  }

  JobHandle h;
  h.target = TargetKind::kLocal;
  h.name = spec.name;
  h.run_dir = run_dir.string();
  h.local_dir = run_dir.string();
  h.pid = supervisor_pid;
  h.pid_start_time = process_start_time(supervisor_pid);
  h.host = local_host_name();
  h.world_size = nproc;
  h.master_port = port;
  h.started_at = unix_time_now();
  h.command = plan.command;
  h.target_info = spec.target;
  KANANA_RETURN_IF_ERROR(write_job_file(h));
  return h;
}

Result<JobStatus> LocalLauncher::poll(const JobHandle& h) {
  StateEvidence ev = read_run_dir_evidence(h.local_dir, h.world_size);
  ev.supervisor_alive = process_alive(h.pid, h.pid_start_time);
  if (!*ev.supervisor_alive && !ev.exit_status) {
    // Ranks can outlive a killed supervisor; they still count as the job running.
    for (int64_t pid : read_pids(h.local_dir, h.world_size)) ev.workers_alive += process_alive(pid) ? 1 : 0;
  }
  return derive_job_status(ev);
}

Status LocalLauncher::cancel(const JobHandle& h) {
  KANANA_ASSIGN_OR_RETURN(JobStatus st, poll(h));
  if (is_final(st.state)) return Status::ok();  // nothing left to stop
  const fs::path dir(h.local_dir);
  KANANA_RETURN_IF_ERROR(write_file_atomic(dir / kCancelRequestedFileName, ""));
  if (process_alive(h.pid, h.pid_start_time)) {
    // The supervisor forwards SIGTERM to the ranks and escalates to SIGKILL after the grace.
    if (::kill(static_cast<pid_t>(h.pid), SIGTERM) != 0 && errno != ESRCH) {
      return errno_status(dir, "signal the supervisor of");
    }
    return Status::ok();
  }
  for (int64_t pid : read_pids(dir, h.world_size)) {
    if (process_alive(pid)) ::kill(static_cast<pid_t>(pid), SIGTERM);
  }
  return Status::ok();
}

Result<fs::path> LocalLauncher::sync_events(const JobHandle& h) {
  return fs::path(h.local_dir) / kEventsFileName;
}

}  // namespace kanana::jobs
