// Runs a job on a host reached with OpenSSH. Every connection uses BatchMode=yes, so ssh uses
// keys or an agent and fails instead of prompting: no password is ever asked for or stored.
// The remote command is one `sh -c '<script>'` word (shell_quote.h), so the user's login
// shell (bash, zsh, csh, fish) only parses a single quoted string.
//
// The job itself runs under the same supervisor script as a local job, started with
// nohup + setsid and all output redirected, so it keeps running when the ssh connection drops
// (network loss, laptop sleep, GUI closed). Polling is one short ssh call that reports the
// supervisor's liveness, exit_status.json, rank exits and the new bytes of events.jsonl, which
// are appended to a local mirror (handle.local_dir/events.jsonl) that watchers tail as usual.
#pragma once

#include "jobs/launcher.h"

namespace kanana::jobs {

// argv of `ssh -o BatchMode=yes ... [user@]host <remote_command>`.
std::vector<std::string> ssh_command(const Target& target, const std::string& remote_command,
                                     const std::string& ssh_program = "ssh");
// `sh -c '<script>'`, the form sent as the remote command.
std::string remote_sh(const std::string& script);
// The remote run folder of a spec: run_dir if absolute, else remote_workdir/run_dir.
Result<std::string> remote_run_dir(const JobSpec& spec);

// Runs `script` on the target's host with `sh`; kUnavailable (with ssh's message) on failure.
Result<std::string> run_remote(const Target& target, const std::string& script, const LauncherOptions& options,
                               const std::string& stdin_data = {});

// Appends the remote events.jsonl bytes the local mirror lacks (restarting the mirror if the
// remote file shrank). Returns the mirror's path.
Result<std::filesystem::path> mirror_remote_events(const Target& target, const std::string& remote_dir,
                                                   const std::filesystem::path& local_dir,
                                                   const LauncherOptions& options);

class SshLauncher : public Launcher {
 public:
  explicit SshLauncher(LauncherOptions options = {}) : options_(std::move(options)) {}
  // spec.local_dir must name this machine's folder for job.json and the events mirror.
  Result<JobHandle> launch(const JobSpec& spec) override;
  Result<JobStatus> poll(const JobHandle& handle) override;
  Status cancel(const JobHandle& handle) override;
  Result<std::filesystem::path> sync_events(const JobHandle& handle) override;
  // argv that streams the remote events live (`tail -f`), for a watcher that wants them as
  // they come; killing it (or losing the connection) does not affect the job.
  std::vector<std::string> follow_command(const JobHandle& handle, uint64_t from_offset = 0) const;

 private:
  LauncherOptions options_;
};

}  // namespace kanana::jobs
