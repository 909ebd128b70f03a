// `kanana runs ...`: launch job specs, list the workspace's runs, show one (state, last
// metrics, checkpoints, log tail), cancel it, and tail its events.jsonl. Works headless on a
// login node the same way the GUI's jobs plugin does (same RunRegistry underneath).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "base/files.h"
#include "base/json.h"
#include "base/strings.h"
#include "cli/registry.h"
#include "jobs/events.h"
#include "jobs/job_spec.h"
#include "jobs/launcher.h"
#include "jobs/run_registry.h"
#include "cli/workspace_args.h"
#include "store/workspace.h"

namespace kanana::cli {
namespace {

namespace fs = std::filesystem;
using jobs::JobState;


std::string format_metrics(const Json& metrics) {
  std::string out;
  if (!metrics.is_object()) return out;
  for (const auto& [k, v] : metrics.items()) {
    if (!out.empty()) out += " ";
    char buf[64];
    if (v.is_number_float()) {
      std::snprintf(buf, sizeof buf, "%.4g", v.get<double>());
    } else {
      std::snprintf(buf, sizeof buf, "%s", v.dump().c_str());
    }
    out += k + "=" + buf;
  }
  return out;
}

// One event as a human line: "step 12  loss=3.21 lr=0.001".
std::string format_event(const jobs::Event& e) {
  const Json& j = e.json;
  const std::string step = e.step ? "step " + std::to_string(*e.step) + "  " : "";
  if (e.type == "metric") return step + format_metrics(j.value("metrics", Json::object()));
  if (e.type == "log") return step + j.value("level", std::string("info")) + ": " + j.value("message", std::string());
  if (e.type == "state") {
    const std::string reason = j.value("reason", std::string());
    return "state " + j.value("state", std::string("?")) + (reason.empty() ? "" : " (" + reason + ")");
  }
  if (e.type == "stage") return "stage " + j.value("stage", std::string("?"));
  if (e.type == "checkpoint") return step + "checkpoint " + j.value("path", std::string());
  if (e.type == "summary") return "summary " + j.value("summary", Json::object()).dump();
  return e.type + " " + j.dump();
}

std::string tail_lines(const std::string& text, int n) {
  auto lines = split(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  const size_t from = lines.size() > static_cast<size_t>(n) ? lines.size() - static_cast<size_t>(n) : 0;
  std::string out;
  for (size_t i = from; i < lines.size(); ++i) out += "  " + lines[i] + "\n";
  return out;
}

// A run folder with job.json, outside any workspace: attach, poll and summarize directly.
int show_run_dir(const fs::path& dir, int log_lines) {
  auto h = jobs::attach(dir);
  if (!h.is_ok()) return report_error(h.status());
  auto launcher = jobs::make_launcher(h->target);
  auto st = launcher->poll(*h);
  (void)launcher->sync_events(*h);
  std::printf("run folder: %s\n", h->local_dir.c_str());
  std::printf("target:     %s%s%s\n", jobs::target_kind_name(h->target), h->host.empty() ? "" : " on ",
              h->host.c_str());
  if (st.is_ok()) {
    std::printf("state:      %s%s%s\n", jobs::job_state_name(st->state), st->reason.empty() ? "" : " — ",
                st->reason.c_str());
  } else {
    std::printf("state:      unknown (%s)\n", st.status().to_string().c_str());
  }
  auto summary = jobs::summarize_events(fs::path(h->local_dir) / jobs::kEventsFileName);
  if (summary.is_ok()) {
    if (summary->last_metric_step) {
      std::printf("step:       %lld\n", static_cast<long long>(*summary->last_metric_step));
    }
    std::printf("metrics:    %s\n", format_metrics(summary->last_metrics).c_str());
    for (const auto& c : summary->checkpoints) std::printf("checkpoint: %s\n", c.json.value("path", std::string()).c_str());
    if (summary->corrupt_lines) std::printf("events.jsonl: %lld corrupt line(s) skipped\n", static_cast<long long>(summary->corrupt_lines));
  }
  for (int k = 0; k < h->world_size && k < 8; ++k) {
    auto log = read_file(fs::path(h->local_dir) / jobs::rank_log_name(k));
    if (log.is_ok() && !log->empty()) std::printf("%s (last %d lines):\n%s", jobs::rank_log_name(k).c_str(), log_lines, tail_lines(*log, log_lines).c_str());
  }
  return st.is_ok() ? kExitOk : kExitFailure;
}

}  // namespace

KANANA_COMMAND(runs_launch) {
  return {.path = "runs launch",
          .summary = "launch a job spec (local, ssh or slurm) and record it in the workspace",
          .description = "Reads a job spec (JSON; see core/jobs/job_spec.h), starts it detached and records the\n"
                         "run, with lineage from its input datasets. Prints the run id and folder.",
          .options = {{.name = "spec", .value_name = "FILE", .help = "job spec JSON", .required = true},
                      {.name = "overwrite", .help = "launch into a run_dir that already holds a finished run"},
                      workspace_option()},
          .run = [](const Args& args, Context&) -> int {
            auto spec = jobs::read_job_spec(args.get("spec"));
            if (!spec.is_ok()) return report_error(spec.status(), /*usage=*/true);
            // A run folder that already holds a job (a finished run) is rewritten only by a
            // resume of it or when asked: its checkpoints, events and results would be replaced.
            const bool resume = std::find(spec->command.begin(), spec->command.end(), "--resume") != spec->command.end();
            if (!spec->run_dir.empty() && spec->target.kind == jobs::TargetKind::kLocal && !resume) {
              const fs::path job_file = fs::path(spec->run_dir) / jobs::kJobFileName;
              if (Status s = check_output_target(job_file, args.flag("overwrite"), "run_dir"); !s.is_ok())
                return report_error(Status(s.code(), spec->run_dir + " already holds a run (" + job_file.string() +
                                                         "); resume it (--resume in the command), pass --overwrite to "
                                                         "reuse the folder, or choose another run_dir"));
            }
            auto ws = open_workspace(args);
            if (!ws.is_ok()) return report_error(ws.status());
            jobs::RunRegistry registry(**ws);
            auto id = registry.launch(*spec);
            if (!id.is_ok()) return report_error(id.status());
            auto h = registry.handle(*id);
            std::printf("run %lld launched: %s\n", static_cast<long long>(*id), h.is_ok() ? h->local_dir.c_str() : "");
            return kExitOk;
          }};
}

KANANA_COMMAND(runs_list) {
  return {.path = "runs list",
          .summary = "list the workspace's recent runs of every state (refreshing the active ones)",
          .options = {workspace_option(),
                      {.name = "state", .value_name = "STATE", .help = "only runs in this state: queued, running, finished, failed or cancelled (repeatable)", .repeated = true},
                      {.name = "active", .help = "only queued and running runs"},
                      {.name = "limit", .value_name = "N", .help = "the N most recent runs (0 = all)", .default_value = "20"},
                      {.name = "all", .help = "every run (same as --limit 0)"},
                      {.name = "no-refresh", .help = "print the recorded states without polling the jobs"}},
          .run = [](const Args& args, Context&) -> int {
            auto ws = open_workspace(args);
            if (!ws.is_ok()) return report_error(ws.status());
            jobs::RunRegistry registry(**ws);
            if (!args.flag("no-refresh")) {
              auto refreshed = registry.refresh_active();
              if (!refreshed.is_ok()) return report_error(refreshed.status());
              for (const auto& r : *refreshed) {
                if (!r.error.empty()) std::fprintf(stderr, "run %lld: %s\n", static_cast<long long>(r.run_id), r.error.c_str());
              }
            }
            std::vector<store::RunState> states;
            for (const auto& name : args.get_all("state")) {
              auto st = store::parse_run_state(name);
              if (!st.is_ok()) return report_error(invalid_argument("--state: " + st.status().message()), true);
              states.push_back(*st);
            }
            if (args.flag("active")) states.insert(states.end(), {store::RunState::kQueued, store::RunState::kRunning});
            auto limit = args.get_int("limit");
            if (!limit.is_ok()) return report_error(limit.status(), true);
            if (*limit < 0) return report_error(invalid_argument("--limit must be 0 or more"), true);
            auto runs = (*ws)->list_runs();
            if (!runs.is_ok()) return report_error(runs.status());
            std::vector<store::RunRecord> shown;
            for (const auto& run : *runs)
              if (states.empty() || std::find(states.begin(), states.end(), run.state) != states.end()) shown.push_back(run);
            const size_t total = shown.size();
            // The most recent N (highest ids), printed oldest first like the whole list.
            if (*limit > 0 && !args.flag("all") && shown.size() > size_t(*limit)) {
              std::sort(shown.begin(), shown.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
              shown.erase(shown.begin(), shown.end() - *limit);
            }
            std::printf("%-5s %-10s %-6s %-9s %-24s %-8s %s\n", "ID", "STATE", "TARGET", "KIND", "NAME", "STEP", "METRICS");
            if (shown.empty())
              std::fprintf(stderr, "no runs%s in this workspace (launch one with `kanana runs launch`)\n",
                           states.empty() ? "" : " in the states asked for");
            else if (shown.size() < total)
              std::fprintf(stderr, "(the %zu most recent of %zu runs; --all lists every one)\n", shown.size(), total);
            for (const auto& run : shown) {
              Json meta = parse_json_or_discarded(run.meta_json);
              std::string step = "-", metrics;
              if (meta.is_object()) {
                if (meta.contains("last_step")) step = meta["last_step"].dump();
                if (meta.contains("last_metrics")) metrics = format_metrics(meta["last_metrics"]);
              }
              std::printf("%-5lld %-10s %-6s %-9s %-24s %-8s %s\n", static_cast<long long>(run.id),
                          store::run_state_name(run.state), run.target.c_str(), run.kind.c_str(), run.name.c_str(),
                          step.c_str(), metrics.c_str());
            }
            return kExitOk;
          }};
}

KANANA_COMMAND(runs_show) {
  return {.path = "runs show",
          .summary = "show a run: state, last metrics, checkpoints, tail of its logs",
          .options = {workspace_option(),
                      {.name = "lines", .value_name = "N", .help = "log lines to show per rank", .default_value = "10"}},
          .positional = {"RUN_ID|RUN_DIR", 1, 1},
          .run = [](const Args& args, Context&) -> int {
            const std::string key = args.positional()[0];
            auto lines = args.get_int("lines");
            if (!lines.is_ok()) return report_error(lines.status(), true);
            // A run folder can be shown without a workspace.
            if (fs::exists(fs::path(key) / jobs::kJobFileName) && !choose_workspace(args).is_ok()) {
              return show_run_dir(key, static_cast<int>(*lines));
            }
            auto ws = open_workspace(args);
            if (!ws.is_ok()) return report_error(ws.status());
            jobs::RunRegistry registry(**ws);
            auto id = registry.find(key);
            if (!id.is_ok()) {
              if (fs::exists(fs::path(key) / jobs::kJobFileName)) return show_run_dir(key, static_cast<int>(*lines));
              return report_error(id.status());
            }
            auto r = registry.refresh(*id);
            if (!r.is_ok()) return report_error(r.status());
            auto run = (*ws)->get_run(*id);
            if (!run.is_ok()) return report_error(run.status());
            std::printf("run %lld: %s (%s)\n", static_cast<long long>(run->id), run->name.c_str(), run->kind.c_str());
            std::printf("state:      %s%s%s\n", store::run_state_name(run->state), r->reason.empty() ? "" : " — ",
                        r->reason.c_str());
            if (!r->error.empty()) std::printf("poll error: %s\n", r->error.c_str());
            std::printf("target:     %s%s%s\n", run->target.c_str(), run->host.empty() ? "" : " on ", run->host.c_str());
            std::printf("run folder: %s\n", run->run_dir.c_str());
            std::printf("created:    %s  started: %s  finished: %s\n", run->created_at.c_str(),
                        run->started_at.value_or("-").c_str(), run->finished_at.value_or("-").c_str());
            if (run->pid) std::printf("pid:        %lld\n", static_cast<long long>(*run->pid));
            if (!run->remote_job_id.empty()) std::printf("slurm job:  %s\n", run->remote_job_id.c_str());
            std::printf("metrics:    %s\n", format_metrics(r->last_metrics).c_str());
            auto cps = (*ws)->list_checkpoints(*id);
            if (cps.is_ok()) {
              for (const auto& c : *cps) std::printf("checkpoint: step %lld  %s\n", static_cast<long long>(c.step), c.path.c_str());
            }
            for (const auto& c : r->corrupt) std::printf("skipped:    %s\n", c.error.c_str());
            auto h = registry.handle(*id);
            if (h.is_ok()) {
              for (int k = 0; k < h->world_size && k < 8; ++k) {
                auto log = read_file(fs::path(h->local_dir) / jobs::rank_log_name(k));
                if (log.is_ok() && !log->empty()) {
                  std::printf("%s (last %lld lines):\n%s", jobs::rank_log_name(k).c_str(), static_cast<long long>(*lines),
                              tail_lines(*log, static_cast<int>(*lines)).c_str());
                }
              }
            }
            return kExitOk;
          }};
}

KANANA_COMMAND(runs_cancel) {
  return {.path = "runs cancel",
          .summary = "cancel a queued or running run (SIGTERM to its ranks, SIGKILL after a grace period; scancel)",
          .options = {workspace_option()},
          .positional = {"RUN_ID|RUN_DIR", 1, 1},
          .run = [](const Args& args, Context&) -> int {
            const std::string key = args.positional()[0];
            auto ws = open_workspace(args);
            if (ws.is_ok()) {
              jobs::RunRegistry registry(**ws);
              auto id = registry.find(key);
              if (id.is_ok()) {
                Status st = registry.cancel(*id);
                if (!st.is_ok()) return report_error(st);
                std::printf("run %lld: cancel requested\n", static_cast<long long>(*id));
                return kExitOk;
              }
              if (!fs::exists(fs::path(key) / jobs::kJobFileName)) return report_error(id.status());
            } else if (!fs::exists(fs::path(key) / jobs::kJobFileName)) {
              return report_error(ws.status());
            }
            auto h = jobs::attach(key);
            if (!h.is_ok()) return report_error(h.status());
            Status st = jobs::make_launcher(h->target)->cancel(*h);
            if (!st.is_ok()) return report_error(st);
            std::printf("%s: cancel requested\n", h->local_dir.c_str());
            return kExitOk;
          }};
}

KANANA_COMMAND(runs_resume) {
  return {.path = "runs resume",
          .summary = "relaunch an ended run in its folder with --resume (continues from its last checkpoint)",
          .options = {workspace_option()},
          .positional = {"RUN_ID|RUN_DIR", 1, 1},
          .run = [](const Args& args, Context&) -> int {
            auto ws = open_workspace(args);
            if (!ws.is_ok()) return report_error(ws.status());
            jobs::RunRegistry registry(**ws);
            auto id = registry.find(args.positional()[0]);
            if (!id.is_ok()) return report_error(id.status());
            auto fresh = registry.resume(*id);
            if (!fresh.is_ok()) return report_error(fresh.status());
            std::printf("run %lld resumed as run %lld\n", static_cast<long long>(*id), static_cast<long long>(*fresh));
            return kExitOk;
          }};
}

KANANA_COMMAND(runs_tail) {
  return {.path = "runs tail",
          .summary = "print a run's events (metrics, logs, states); --follow until it ends",
          .options = {workspace_option(),
                      {.name = "follow", .help = "keep printing new events until the run ends (Ctrl-C stops); exit 0 only if it finished", .short_name = 'f'},
                      {.name = "json", .help = "print the raw JSON lines"},
                      {.name = "interval", .value_name = "S", .help = "seconds between polls with --follow", .default_value = "1"}},
          .positional = {"RUN_DIR|RUN_ID", 1, 1},
          .run = [](const Args& args, Context& ctx) -> int {
            const std::string key = args.positional()[0];
            auto interval = args.get_double("interval");
            if (!interval.is_ok() || *interval <= 0) return report_error(invalid_argument("--interval must be a positive number"), true);
            fs::path dir = key;
            if (!fs::exists(dir / jobs::kJobFileName) && !fs::exists(dir / jobs::kEventsFileName)) {
              auto ws = open_workspace(args);
              if (!ws.is_ok()) return report_error(ws.status());
              jobs::RunRegistry registry(**ws);
              auto id = registry.find(key);
              if (!id.is_ok()) return report_error(id.status());
              auto h = registry.handle(*id);
              if (!h.is_ok()) return report_error(h.status());
              dir = h->local_dir;
            }
            std::optional<jobs::JobHandle> handle;
            std::unique_ptr<jobs::Launcher> launcher;
            if (auto h = jobs::attach(dir); h.is_ok()) {
              handle = *h;
              launcher = jobs::make_launcher(h->target);
            }
            jobs::EventTailer tailer(dir / jobs::kEventsFileName);
            for (;;) {
              if (launcher) (void)launcher->sync_events(*handle);
              std::optional<jobs::JobStatus> st;
              if (launcher && args.flag("follow")) {
                if (auto s = launcher->poll(*handle); s.is_ok()) st = *s;
              }
              auto batch = tailer.poll();
              if (!batch.is_ok()) return report_error(batch.status());
              for (const auto& e : batch->events) {
                if (args.flag("json")) {
                  std::printf("%s\n", e.json.dump().c_str());
                } else {
                  std::printf("%s\n", format_event(e).c_str());
                }
              }
              for (const auto& c : batch->corrupt) std::fprintf(stderr, "skipped %s\n", c.error.c_str());
              std::fflush(stdout);
              if (!args.flag("follow")) break;
              if (!launcher) break;
              if (st && jobs::is_final(st->state) && batch->events.empty()) {
                std::fprintf(stderr, "run %s%s%s\n", jobs::job_state_name(st->state), st->reason.empty() ? "" : ": ",
                             st->reason.c_str());
                // Scripts can wait on a run: the exit code says how it ended.
                return st->state == jobs::JobState::kFinished ? kExitOk : kExitFailure;
              }
              if (ctx.cancel && ctx.cancel->is_cancelled()) return kExitCancelled;
              std::this_thread::sleep_for(std::chrono::duration<double>(*interval));
            }
            return kExitOk;
          }};
}

}  // namespace kanana::cli
