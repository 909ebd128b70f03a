#include "jobs/run_registry.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>

#include "base/json.h"
#include "base/files.h"
#include "base/strings.h"
#include "jobs/eval_events.h"
#include "jobs/local_launcher.h"
#include "shards/shard.h"

namespace kanana::jobs {

namespace fs = std::filesystem;

store::RunState to_run_state(JobState s) {
  switch (s) {
    case JobState::kQueued: return store::RunState::kQueued;
    case JobState::kRunning: return store::RunState::kRunning;
    case JobState::kFinished: return store::RunState::kFinished;
    case JobState::kFailed: return store::RunState::kFailed;
    case JobState::kCancelled: return store::RunState::kCancelled;
  }
  return store::RunState::kFailed;
}

JobState to_job_state(store::RunState s) {
  switch (s) {
    case store::RunState::kQueued: return JobState::kQueued;
    case store::RunState::kRunning: return JobState::kRunning;
    case store::RunState::kFinished: return JobState::kFinished;
    case store::RunState::kFailed: return JobState::kFailed;
    case store::RunState::kCancelled: return JobState::kCancelled;
  }
  return JobState::kFailed;
}

namespace {

std::string timestamp_suffix() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return buf;
}

std::string folder_name(const std::string& name) {
  std::string out;
  for (char c : name) out.push_back((c == '/' || c == '\\' || static_cast<unsigned char>(c) < 0x20) ? '_' : c);
  return out;
}

Result<Json> parse_meta(const store::RunRecord& run) {
  Json meta = parse_json_or_discarded(run.meta_json.empty() ? "{}" : run.meta_json);
  if (!meta.is_object()) return data_loss("run " + std::to_string(run.id) + ": meta_json is not a JSON object");
  return meta;
}

std::string canonical(const std::string& p) {
  std::error_code ec;
  auto c = fs::weakly_canonical(fs::absolute(p), ec);
  return ec ? fs::absolute(p).lexically_normal().string() : c.string();
}

}  // namespace

Result<int64_t> RunRegistry::launch(JobSpec spec) {
  const std::string folder = folder_name(spec.name.empty() ? "run" : spec.name) + "-" + timestamp_suffix();
  if (spec.run_dir.empty()) {
    if (spec.target.kind != TargetKind::kLocal && spec.target.remote_workdir.empty() && !spec.target.host.empty()) {
      return invalid_argument("job spec: field 'run_dir' (or 'target.remote_workdir') is required for a remote target");
    }
    spec.run_dir = spec.target.kind == TargetKind::kLocal || spec.target.host.empty()
                       ? (ws_.runs_dir() / folder).string()
                       : folder;
  }
  if (spec.local_dir.empty() && spec.target.kind != TargetKind::kLocal) spec.local_dir = (ws_.runs_dir() / folder).string();
  KANANA_RETURN_IF_ERROR(spec.validate());
  auto launcher = make_launcher(spec.target.kind, options_);
  KANANA_ASSIGN_OR_RETURN(JobHandle handle, launcher->launch(spec));
  return record(spec, handle);
}

Result<int64_t> RunRegistry::record(const JobSpec& spec, const JobHandle& handle) {
  store::RunRecord r;
  r.name = spec.name;
  r.kind = spec.kind;
  r.state = handle.target == TargetKind::kSlurm ? store::RunState::kQueued : store::RunState::kRunning;
  r.target = target_kind_name(handle.target);
  r.host = handle.host;
  r.run_dir = handle.run_dir;
  Json recipe = spec.recipe;
  if (!spec.recipe_path.empty() && recipe.is_object()) recipe["_recipe_path"] = spec.recipe_path;
  r.recipe_json = recipe.dump();
  if (handle.pid > 0) r.pid = handle.pid;
  r.remote_job_id = handle.remote_job_id;
  r.meta_json = Json{{"handle", job_handle_to_json(handle)},
                     {"events_offset", 0},
                     {"events_line", 1},
                     {"spec", job_spec_to_json(spec)}}
                    .dump();
  KANANA_ASSIGN_OR_RETURN(int64_t id, ws_.add_run(r));
  KANANA_RETURN_IF_ERROR(record_inputs(id, spec));
  return id;
}

namespace {

// A token pack (`kanana data pack`) input: its manifest gives documents and tokens, its
// files the bytes. Anything else (a folder of text, a pack being written) stays at zero.
void describe_token_pack(const fs::path& dir, store::DatasetRecord* d, Json* meta) {
  auto m = shards::read_manifest(dir);
  if (!m.is_ok()) return;
  d->format = "kanana-shards";
  d->doc_count = static_cast<int64_t>(m->train_docs + m->val_docs);
  (*meta)["train_tokens"] = m->train_tokens;
  (*meta)["val_tokens"] = m->val_tokens;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec)) d->byte_count += static_cast<int64_t>(it->file_size(ec));
}

}  // namespace

Status RunRegistry::record_inputs(int64_t run_id, const JobSpec& spec) {
  for (const std::string& input : spec.inputs) {
    KANANA_ASSIGN_OR_RETURN(auto found, ws_.find_dataset_by_path(input));
    int64_t dataset_id = 0;
    if (found) {
      dataset_id = found->id;
    } else {
      // Not registered yet: record it so the lineage edge has a node (the data module can
      // fill in counts later).
      store::DatasetRecord d;
      d.name = fs::path(input).filename().string();
      if (d.name.empty()) d.name = input;
      std::error_code ec;
      const fs::path local = ws_.resolve(input);
      d.kind = spec.kind == "eval" ? "eval" : fs::is_directory(local, ec) ? "shards" : "corpus";
      d.path = input;
      Json meta = {{"registered_by", "run launch"}, {"run_id", run_id}};
      if (d.kind == "shards") describe_token_pack(local, &d, &meta);
      else if (fs::is_regular_file(local, ec)) d.byte_count = static_cast<int64_t>(fs::file_size(local, ec));
      d.meta_json = meta.dump();
      KANANA_ASSIGN_OR_RETURN(dataset_id, ws_.add_dataset(d));
    }
    // An evaluation reads its task files; a training run trains on its inputs.
    const char* relation = spec.kind == "eval" ? "evaluated" : "trained";
    KANANA_RETURN_IF_ERROR(ws_.add_lineage({"dataset", dataset_id}, {"run", run_id}, relation).status());
  }
  return Status::ok();
}

Result<JobHandle> RunRegistry::handle(int64_t run_id) {
  KANANA_ASSIGN_OR_RETURN(store::RunRecord run, ws_.get_run(run_id));
  KANANA_ASSIGN_OR_RETURN(Json meta, parse_meta(run));
  if (!meta.contains("handle")) {
    return not_found("run " + std::to_string(run_id) + " ('" + run.name + "') was not started by the job system (no handle)");
  }
  return job_handle_from_json(meta["handle"], "run " + std::to_string(run_id) + " meta_json.handle");
}

Result<fs::path> RunRegistry::events_path(int64_t run_id) {
  KANANA_ASSIGN_OR_RETURN(JobHandle h, handle(run_id));
  return fs::path(h.local_dir) / kEventsFileName;
}

Result<int64_t> RunRegistry::record_checkpoint(const store::RunRecord& run, const JobHandle& h, const Event& event) {
  const Json& j = event.json;
  if (!j.contains("path") || !j["path"].is_string() || j["path"].get<std::string>().empty()) {
    return data_loss("events.jsonl line " + std::to_string(event.line) + ": checkpoint event without a 'path'");
  }
  std::string path = j["path"].get<std::string>();
  if (path[0] != '/') path = (fs::path(h.run_dir) / path).lexically_normal().string();
  KANANA_ASSIGN_OR_RETURN(auto existing, ws_.list_checkpoints(run.id));
  for (const auto& c : existing) {
    if (c.path == path) return c.id;  // the same event seen again (a re-read after a restart)
  }
  store::CheckpointRecord c;
  c.run_id = run.id;
  c.step = event.step.value_or(0);
  c.name = run.name + "/step-" + std::to_string(c.step);
  c.path = path;
  if (j.contains("tokens") && j["tokens"].is_number_integer()) c.tokens = j["tokens"].get<int64_t>();
  if (j.contains("config") && j["config"].is_object()) c.config_json = j["config"].dump();
  KANANA_ASSIGN_OR_RETURN(int64_t id, ws_.add_checkpoint(c));
  KANANA_RETURN_IF_ERROR(ws_.add_lineage({"run", run.id}, {"checkpoint", id}, "produced").status());
  return id;
}

Result<std::vector<int64_t>> RunRegistry::forget_deleted_checkpoints(int64_t run_id) {
  std::vector<int64_t> forgotten;
  KANANA_ASSIGN_OR_RETURN(auto checkpoints, ws_.list_checkpoints(run_id));
  for (const auto& c : checkpoints) {
    if (ws_.checkpoint_on_disk(c)) continue;
    KANANA_ASSIGN_OR_RETURN(auto edges, ws_.lineage_edges({"checkpoint", c.id}));
    const bool used = std::any_of(edges.begin(), edges.end(), [&](const store::LineageEdge& e) {
      return !(e.relation == "produced" && e.src == store::NodeRef{"run", run_id});
    });
    KANANA_ASSIGN_OR_RETURN(auto evals, ws_.list_eval_results(std::nullopt, c.id));
    if (used || !evals.empty()) continue;
    KANANA_RETURN_IF_ERROR(ws_.delete_checkpoint(c.id));
    forgotten.push_back(c.id);
  }
  return forgotten;
}

Result<RunRefresh> RunRegistry::refresh(int64_t run_id) {
  KANANA_ASSIGN_OR_RETURN(store::RunRecord run, ws_.get_run(run_id));
  KANANA_ASSIGN_OR_RETURN(Json meta, parse_meta(run));
  KANANA_ASSIGN_OR_RETURN(JobHandle h, handle(run_id));
  RunRefresh out;
  out.run_id = run_id;
  out.state = to_job_state(run.state);
  if (meta.contains("last_metrics") && meta["last_metrics"].is_object()) out.last_metrics = meta["last_metrics"];
  // A run that has ended is not polled again: its reason is the one recorded when it ended.
  if (is_final(out.state) && meta.contains("reason") && meta["reason"].is_string()) out.reason = meta["reason"];

  auto launcher = make_launcher(h.target, options_);
  // Poll before reading events: a job that ends between the two still has all its events read.
  std::optional<JobStatus> status;
  if (!is_final(out.state)) {
    auto polled = launcher->poll(h);
    if (polled.is_ok()) {
      status = *polled;
    } else {
      out.error = polled.status().to_string();
    }
  }
  auto events_file = launcher->sync_events(h);
  if (!events_file.is_ok() && out.error.empty()) out.error = events_file.status().to_string();

  // New events since the last refresh.
  const fs::path path = fs::path(h.local_dir) / kEventsFileName;
  EventTailer tailer(path, meta.value("events_offset", uint64_t{0}), meta.value("events_line", int64_t{1}));
  auto batch = tailer.poll();
  if (!batch.is_ok() && batch.status().code() == StatusCode::kDataLoss) {
    if (h.target == TargetKind::kLocal || (h.target == TargetKind::kSlurm && h.target_info.host.empty())) {
      tailer = EventTailer(path);  // the file was replaced: read it again from the start
      batch = tailer.poll();
    } else {
      batch = EventBatch{};  // a remote mirror still catching up (refetched in pieces): wait
      batch->next_offset = tailer.offset();
      batch->next_line = tailer.line();
    }
  }
  if (batch.is_ok()) {
    out.new_events = static_cast<int64_t>(batch->events.size());
    out.corrupt = batch->corrupt;
    for (const Event& e : batch->events) {
      if (e.type == "checkpoint") {
        auto id = record_checkpoint(run, h, e);
        if (id.is_ok()) {
          out.new_checkpoints.push_back(*id);
        } else {
          out.corrupt.push_back({e.line, e.offset, id.status().message()});
        }
      } else if (e.type == kEvalResultEventType) {
        auto id = record_eval_result_event(ws_, run.id, e.json);
        if (!id.is_ok()) out.corrupt.push_back({e.line, e.offset, id.status().message()});
      } else if (e.type == "metric" && e.json.contains("metrics") && e.json["metrics"].is_object()) {
        for (const auto& [k, v] : e.json["metrics"].items()) out.last_metrics[k] = v;
        if (e.step) meta["last_step"] = *e.step;
      }
    }
    if (h.target == TargetKind::kLocal) {  // a remote run's folders are not on this machine
      auto forgotten = forget_deleted_checkpoints(run_id);
      if (forgotten.is_ok()) out.forgotten_checkpoints = std::move(forgotten).value();
      else if (out.error.empty()) out.error = forgotten.status().to_string();
    }
    meta["events_offset"] = tailer.offset();
    meta["events_line"] = tailer.line();
    meta["last_metrics"] = out.last_metrics;
  } else if (out.error.empty()) {
    out.error = batch.status().to_string();
  }

  if (status) {
    out.reason = status->reason;
    meta["reason"] = status->reason;
    if (status->exit_code) meta["exit_code"] = *status->exit_code;
    if (status->signal) meta["signal"] = *status->signal;
    if (!status->scheduler_state.empty()) meta["scheduler_state"] = status->scheduler_state;
    JobState target = status->state;
    JobState current = out.state;
    // queued → finished is not a transition the workspace allows: pass through running.
    if (current == JobState::kQueued && (target == JobState::kFinished)) {
      KANANA_RETURN_IF_ERROR(ws_.update_run_state(run_id, store::RunState::kRunning));
      current = JobState::kRunning;
      out.state_changed = true;
    }
    if (target != current && !is_final(current) &&
        store::run_state_transition_allowed(to_run_state(current), to_run_state(target))) {
      KANANA_RETURN_IF_ERROR(ws_.update_run_state(run_id, to_run_state(target)));
      current = target;
      out.state_changed = true;
    }
    out.state = current;
  }
  KANANA_RETURN_IF_ERROR(ws_.set_run_meta(run_id, meta.dump()));
  return out;
}

Result<std::vector<RunRefresh>> RunRegistry::refresh_active() {
  std::vector<RunRefresh> out;
  for (store::RunState s : {store::RunState::kQueued, store::RunState::kRunning}) {
    KANANA_ASSIGN_OR_RETURN(auto runs, ws_.list_runs(s));
    for (const auto& run : runs) {
      auto r = refresh(run.id);
      if (r.is_ok()) {
        out.push_back(std::move(r).value());
      } else {
        RunRefresh failed;
        failed.run_id = run.id;
        failed.state = to_job_state(run.state);
        failed.error = r.status().to_string();
        out.push_back(std::move(failed));
      }
    }
  }
  return out;
}

Status RunRegistry::cancel(int64_t run_id) {
  KANANA_ASSIGN_OR_RETURN(JobHandle h, handle(run_id));
  KANANA_RETURN_IF_ERROR(make_launcher(h.target, options_)->cancel(h));
  return refresh(run_id).status();
}

Result<int64_t> RunRegistry::resume(int64_t run_id) {
  KANANA_ASSIGN_OR_RETURN(store::RunRecord run, ws_.get_run(run_id));
  if (!is_final(to_job_state(run.state))) {
    return failed_precondition("run " + std::to_string(run_id) + " ('" + run.name + "') is " +
                               store::run_state_name(run.state) + "; only an ended run can be resumed");
  }
  KANANA_ASSIGN_OR_RETURN(Json meta, parse_meta(run));
  if (!meta.contains("spec")) return not_found("run " + std::to_string(run_id) + " has no recorded job spec to resume");
  KANANA_ASSIGN_OR_RETURN(JobSpec spec, job_spec_from_json(meta["spec"], "run " + std::to_string(run_id) + " spec"));
  KANANA_ASSIGN_OR_RETURN(JobHandle old, handle(run_id));
  // Same folder as before, as the job saw it (a relative run_dir was resolved at launch).
  spec.run_dir = old.run_dir;
  if (old.target != TargetKind::kLocal) spec.local_dir = old.local_dir;
  if (spec.kind != kServeJobKind && std::find(spec.command.begin(), spec.command.end(), "--resume") == spec.command.end()) {
    spec.command.push_back("--resume");
  }
  auto launcher = make_launcher(spec.target.kind, options_);
  // Where the old run's events end: the new run starts reading there.
  KANANA_ASSIGN_OR_RETURN(fs::path events, launcher->sync_events(old));
  std::string before = read_file(events).value_or(std::string());
  KANANA_ASSIGN_OR_RETURN(JobHandle h, launcher->launch(spec));
  KANANA_ASSIGN_OR_RETURN(int64_t id, record(spec, h));
  KANANA_ASSIGN_OR_RETURN(store::RunRecord fresh, ws_.get_run(id));
  KANANA_ASSIGN_OR_RETURN(Json fresh_meta, parse_meta(fresh));
  fresh_meta["events_offset"] = before.size();
  fresh_meta["events_line"] = 1 + std::count(before.begin(), before.end(), '\n');
  fresh_meta["resumed_from"] = run_id;
  KANANA_RETURN_IF_ERROR(ws_.set_run_meta(id, fresh_meta.dump()));
  KANANA_RETURN_IF_ERROR(ws_.add_lineage({"run", run_id}, {"run", id}, "resumed").status());
  return id;
}

Result<int64_t> RunRegistry::find(const std::string& id_or_dir) {
  const std::string key(trim(id_or_dir));
  if (!key.empty() && key.find_first_not_of("0123456789") == std::string::npos) {
    const int64_t id = std::stoll(key);
    KANANA_RETURN_IF_ERROR(ws_.get_run(id).status());
    return id;
  }
  const std::string want = canonical(key);
  KANANA_ASSIGN_OR_RETURN(auto runs, ws_.list_runs());
  for (auto it = runs.rbegin(); it != runs.rend(); ++it) {  // newest first
    if (canonical(ws_.resolve(it->run_dir).string()) == want) return it->id;
    auto meta = parse_meta(*it);
    if (meta.is_ok() && meta->contains("handle") && (*meta)["handle"].contains("local_dir") &&
        canonical((*meta)["handle"]["local_dir"].get<std::string>()) == want) {
      return it->id;
    }
  }
  return not_found("no run with id or folder '" + key + "' in workspace " + ws_.root().string());
}

}  // namespace kanana::jobs
