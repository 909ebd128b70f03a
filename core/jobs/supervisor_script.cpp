#include "jobs/supervisor_script.h"

#include "jobs/job_status.h"
#include "jobs/shell_quote.h"

namespace kanana::jobs {

std::string supervisor_script(const SupervisorPlan& p) {
  const std::string q_run = shell_quote(p.run_dir);
  const std::string q_work = p.workdir.empty() ? "\"$RUN\"" : shell_quote(p.workdir);
  const std::string cmd = shell_join(p.command);
  std::string ranks;  // "0 1 2 3": the loop list
  for (int k = 0; k < p.nproc; ++k) ranks += (k ? " " : "") + std::to_string(k);

  std::string s;
  s += "# kanana job supervisor (generated): starts the ranks, records how they end.\n";
  s += "set -u\n";
  // The trap comes first: a cancel that arrives while the script is still starting must be
  // recorded, not end the shell silently (the launcher's SIGTERM can come right after launch).
  s += "cancelled=0; stop_at=0; killed=0\n";
  // Absolute paths: the trap may fire before the `cd` below.
  s += "signal_ranks() { for f in " + q_run + "/rank-*.pid; do [ -f \"$f\" ] && kill -\"$1\" \"$(cat \"$f\")\" 2>/dev/null; done; }\n";
  s += "on_cancel() { cancelled=1; stop_at=$(date +%s); : > " + q_run + "/cancel_requested; signal_ranks TERM; }\n";
  s += "trap on_cancel TERM INT\n";
  s += "cd " + q_run + " || { echo 'kanana supervisor: cannot enter the run folder' >&2; exit 1; }\n";
  s += "RUN=$(pwd -P)\n";
  // write_status EXIT_CODE FAILED_RANK CANCELLED(true|false) RANK_CODES(comma-separated), atomically.
  s += "write_status() { printf '{\"exit_code\":%s,\"failed_rank\":%s,\"cancelled\":%s,\"rank_exit_codes\":[%s],\"finished_at\":%s}\\n' "
       "\"$1\" \"$2\" \"$3\" \"$4\" \"$(date +%s)\" > exit_status.json.tmp && mv -f exit_status.json.tmp exit_status.json; }\n";
  s += "echo $$ > supervisor.pid.tmp && mv -f supervisor.pid.tmp supervisor.pid\n";
  // The launcher cleared an earlier job's evidence before starting us; cancel_requested is left
  // alone here because a cancel may already have written it.
  s += "rm -f exit_status.json pids rank-*.exit rank-*.pid\n";
  for (const auto& [k, v] : p.env) s += "export " + k + "=" + shell_quote(v) + "\n";
  const std::string port =
      p.master_port_shell.empty() ? std::to_string(p.master_port) : std::string("\"$MASTER_PORT\"");
  if (!p.master_port_shell.empty()) s += "MASTER_PORT=$(" + p.master_port_shell + ")\n";
  s += "export WORLD_SIZE=" + std::to_string(p.world_size) + " LOCAL_WORLD_SIZE=" + std::to_string(p.nproc) +
       " GROUP_RANK=" + std::to_string(p.node_rank) + " MASTER_ADDR=" + shell_quote(p.master_addr) +
       " MASTER_PORT=" + port + " KANANA_RUN_DIR=\"$RUN\"\n";
  // Cancelled before any rank started: record that and start nothing.
  s += "if [ $cancelled = 1 ] || [ -f cancel_requested ]; then\n";
  s += "  write_status 143 -1 true ''\n";
  s += "  exit 143\n";
  s += "fi\n";
  s += "for k in " + ranks + "; do\n";
  s += "  (\n";
  s += "    cd " + q_work + " || { echo 1 > \"$RUN/rank-$k.exit\"; exit 1; }\n";
  s += "    RANK=$((k + " + std::to_string(p.node_rank * p.nproc) + ")) LOCAL_RANK=$k " + cmd +
       " >> \"$RUN/rank-$k.log\" 2>&1 < /dev/null &\n";
  s += "    echo $! > \"$RUN/rank-$k.pid\"\n";
  s += "    wait $!\n";
  s += "    echo $? > \"$RUN/rank-$k.exit.tmp\" && mv -f \"$RUN/rank-$k.exit.tmp\" \"$RUN/rank-$k.exit\"\n";
  s += "  ) &\n";
  s += "done\n";
  // Record all rank pids once they are known (the watcher's SIGKILL test and cancel use them).
  // Also here the run folder may vanish (a test's temp folder, a user's rm -r): without the check
  // the loop polled 20 times a second for ever (left behind by test_jobs_registry, issue 18).
  s += "for k in " + ranks + "; do while [ ! -f rank-$k.pid ] && [ ! -f rank-$k.exit ]; do [ -d \"$RUN\" ] || exit 1; "
       "sleep 0.05 2>/dev/null || sleep 1; done; done\n";
  s += "cat rank-*.pid 2>/dev/null | tr '\\n' ' ' > pids.tmp; mv -f pids.tmp pids\n";
  s += "failed_rank=-1; fail_code=0\n";
  s += "lost=0\n";
  s += "while :; do\n";
  // The run folder was deleted under us: nobody can read what we would record.
  s += "  [ -d \"$RUN\" ] || exit 1\n";
  s += "  done_n=0; gone=0\n";
  s += "  for k in " + ranks + "; do\n";
  s += "    if [ ! -f rank-$k.exit ]; then\n";
  // A rank whose wrapper was killed never gets an exit file: after ~10 s of its process being
  // gone, record it as lost (255) so the supervisor still finishes.
  s += "      kill -0 \"$(cat rank-$k.pid 2>/dev/null || echo 0)\" 2>/dev/null || gone=$((gone + 1))\n";
  s += "      continue\n";
  s += "    fi\n";
  s += "    done_n=$((done_n + 1))\n";
  s += "    c=$(cat rank-$k.exit)\n";
  s += "    if [ \"$c\" != 0 ] && [ $failed_rank = -1 ]; then\n";
  s += "      failed_rank=$k; fail_code=$c\n";
  // One rank failed: stop the others, like torchrun does.
  s += "      if [ $stop_at = 0 ]; then stop_at=$(date +%s); signal_ranks TERM; fi\n";
  s += "    fi\n";
  s += "  done\n";
  s += "  [ $done_n = " + std::to_string(p.nproc) + " ] && break\n";
  s += "  if [ $gone -gt 0 ]; then lost=$((lost + 1)); else lost=0; fi\n";
  s += "  if [ $lost -ge 50 ]; then for k in " + ranks + "; do [ -f rank-$k.exit ] || echo 255 > rank-$k.exit; done; fi\n";
  s += "  if [ $stop_at != 0 ] && [ $killed = 0 ] && [ $(( $(date +%s) - stop_at )) -ge " +
       std::to_string(p.cancel_grace_s) + " ]; then killed=1; signal_ranks KILL; fi\n";
  s += "  sleep 0.2 2>/dev/null || sleep 1\n";
  s += "done\n";
  s += "wait\n";
  s += "codes=''; for k in " + ranks + "; do codes=\"$codes${codes:+,}$(cat rank-$k.exit)\"; done\n";
  s += "[ $cancelled = 1 ] && cj=true || cj=false\n";
  s += "write_status \"$fail_code\" \"$failed_rank\" \"$cj\" \"$codes\"\n";
  s += "exit $fail_code\n";
  return s;
}

}  // namespace kanana::jobs
