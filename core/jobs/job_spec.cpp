#include "jobs/job_spec.h"

#include <regex>

namespace kanana::jobs {

const char* target_kind_name(TargetKind kind) {
  switch (kind) {
    case TargetKind::kLocal: return "local";
    case TargetKind::kSsh: return "ssh";
    case TargetKind::kSlurm: return "slurm";
  }
  return "local";
}

Result<TargetKind> parse_target_kind(const std::string& name) {
  if (name == "local") return TargetKind::kLocal;
  if (name == "ssh") return TargetKind::kSsh;
  if (name == "slurm") return TargetKind::kSlurm;
  return invalid_argument("unknown target kind '" + name + "' (expected local, ssh or slurm)");
}

namespace {

Status field(const std::string& name, const std::string& what) {
  return invalid_argument("job spec: field '" + name + "' " + what);
}

bool has_control_chars(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

}  // namespace

Status JobSpec::validate() const {
  if (name.empty()) return field("name", "is empty");
  if (command.empty()) return field("command", "is empty (argv of the worker, e.g. [\"kanana\", \"train\", ...])");
  if (command[0].empty()) return field("command[0]", "is empty");
  if (run_dir.empty()) return field("run_dir", "is empty");
  if (has_control_chars(run_dir)) return field("run_dir", "contains control characters");
  for (const auto& [k, v] : env) {
    static const std::regex kEnvName("[A-Za-z_][A-Za-z0-9_]*");
    if (!std::regex_match(k, kEnvName)) return field("env." + k, "is not a valid environment variable name");
  }
  const Resources& r = resources;
  if (r.nproc_per_node < 1 || r.nproc_per_node > 1024) return field("resources.nproc_per_node", "must be in 1..1024");
  if (r.nodes < 1 || r.nodes > 4096) return field("resources.nodes", "must be in 1..4096");
  if (r.gpus_per_node < 0) return field("resources.gpus_per_node", "must be >= 0");
  if (r.cpus_per_task < 0) return field("resources.cpus_per_task", "must be >= 0");
  if (r.requeue_warning_s < 0 || r.requeue_warning_s > 65535)
    return field("resources.requeue_warning_s", "must be in 0..65535 (seconds)");
  if (r.requeue_warning_s > 0 && target.kind != TargetKind::kSlurm)
    return field("resources.requeue_warning_s", "needs target 'slurm' (the scheduler sends the warning)");
  if (!r.time_limit.empty()) {
    // Slurm accepts MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS.
    static const std::regex kTime(R"((\d+-)?\d+(:\d{1,2}){0,2})");
    if (!std::regex_match(r.time_limit, kTime)) {
      return field("resources.time_limit", "must look like HH:MM:SS or D-HH:MM:SS, got '" + r.time_limit + "'");
    }
  }
  if (!r.mem.empty()) {
    static const std::regex kMem(R"(\d+[KMGT]?)");
    if (!std::regex_match(r.mem, kMem)) return field("resources.mem", "must look like 32G or 4000M, got '" + r.mem + "'");
  }
  static const std::regex kSlurmWord(R"([A-Za-z0-9_.,\-]*)");
  if (!std::regex_match(r.partition, kSlurmWord)) return field("resources.partition", "has characters Slurm does not accept");
  const Target& t = target;
  if (t.kind != TargetKind::kSlurm && r.nodes != 1) {
    return field("resources.nodes", std::string("must be 1 for target '") + target_kind_name(t.kind) +
                                        "' (multi-node jobs run under Slurm)");
  }
  if (t.kind == TargetKind::kSsh && t.host.empty()) return field("target.host", "is required for an ssh target");
  // A host or user starting with '-' would be read by ssh as an option.
  if (!t.host.empty() && (t.host[0] == '-' || has_control_chars(t.host) || t.host.find(' ') != std::string::npos)) {
    return field("target.host", "is not a valid host name: '" + t.host + "'");
  }
  if (!t.user.empty() && (t.user[0] == '-' || t.user.find_first_of(" @\t\n") != std::string::npos)) {
    return field("target.user", "is not a valid user name: '" + t.user + "'");
  }
  if (t.port < 0 || t.port > 65535) return field("target.port", "must be in 0..65535");
  return Status::ok();
}

std::vector<std::string> JobSpec::resolved_command(const std::string& run_dir_as_seen_by_job) const {
  std::vector<std::string> out;
  out.reserve(command.size());
  for (size_t i = 0; i < command.size(); ++i) {
    std::string arg = command[i];
    if (i == 0 && arg == "kanana" && !target.kanana_binary.empty()) arg = target.kanana_binary;
    for (size_t pos = arg.find("{run_dir}"); pos != std::string::npos; pos = arg.find("{run_dir}", pos)) {
      arg.replace(pos, 9, run_dir_as_seen_by_job);
      pos += run_dir_as_seen_by_job.size();
    }
    out.push_back(std::move(arg));
  }
  return out;
}

Json job_spec_to_json(const JobSpec& s) {
  Json env = Json::object();
  for (const auto& [k, v] : s.env) env[k] = v;
  return Json{
      {"name", s.name},
      {"kind", s.kind},
      {"command", s.command},
      {"recipe_path", s.recipe_path},
      {"recipe", s.recipe},
      {"run_dir", s.run_dir},
      {"local_dir", s.local_dir},
      {"workdir", s.workdir},
      {"env", env},
      {"inputs", s.inputs},
      {"resources",
       {{"nproc_per_node", s.resources.nproc_per_node},
        {"nodes", s.resources.nodes},
        {"gpus_per_node", s.resources.gpus_per_node},
        {"cpus_per_task", s.resources.cpus_per_task},
        {"mem", s.resources.mem},
        {"time_limit", s.resources.time_limit},
        {"partition", s.resources.partition},
        {"requeue_warning_s", s.resources.requeue_warning_s}}},
      {"target",
       {{"kind", target_kind_name(s.target.kind)},
        {"host", s.target.host},
        {"user", s.target.user},
        {"port", s.target.port},
        {"identity_file", s.target.identity_file},
        {"remote_workdir", s.target.remote_workdir},
        {"kanana_binary", s.target.kanana_binary},
        {"ssh_options", s.target.ssh_options}}},
  };
}

namespace {

Result<std::vector<std::string>> get_string_list(const JsonReader& r, const std::string& key) {
  std::vector<std::string> out;
  if (!r.has(key)) return out;
  const Json& v = r.json()[key];
  if (!v.is_array()) return r.field_error(key, "must be a list of strings");
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string()) return r.field_error(key + "[" + std::to_string(i) + "]", "must be a string, got " + v[i].dump());
    out.push_back(v[i].get<std::string>());
  }
  return out;
}

// An integer field that must fit an int in [lo, hi]: checked as int64 before narrowing, so
// 2^32 + 1 ranks is an error rather than 1.
Result<int> get_int_in(const JsonReader& r, const std::string& key, int64_t fallback, int64_t lo, int64_t hi) {
  Status e;
  const int64_t v = r.get_int_or(key, fallback, &e);
  if (!e.is_ok()) return e;
  if (v < lo || v > hi)
    return r.field_error(key, "must be in " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " + std::to_string(v));
  return static_cast<int>(v);
}

#define KANANA_GET_OR(var, expr) \
  do {                           \
    Status e_;                   \
    var = (expr);                \
    if (!e_.is_ok()) return e_;  \
  } while (0)

}  // namespace

Result<JobSpec> job_spec_from_json(const Json& json, const std::string& origin) {
  if (!json.is_object()) return invalid_argument(origin + ": a job spec must be a JSON object");
  JsonReader r(json, origin);
  KANANA_RETURN_IF_ERROR(r.check_no_unknown({"name", "kind", "command", "recipe_path", "recipe", "run_dir",
                                             "local_dir", "workdir", "env", "inputs", "resources", "target"}));
  JobSpec s;
  KANANA_ASSIGN_OR_RETURN(s.name, r.get_string("name"));
  KANANA_GET_OR(s.kind, r.get_string_or("kind", s.kind, &e_));
  KANANA_ASSIGN_OR_RETURN(s.command, get_string_list(r, "command"));
  KANANA_GET_OR(s.recipe_path, r.get_string_or("recipe_path", "", &e_));
  if (r.has("recipe")) {
    if (!json["recipe"].is_object()) return r.field_error("recipe", "must be an object");
    s.recipe = json["recipe"];
  }
  // May be omitted: RunRegistry::launch puts the run under the workspace's runs/ folder.
  KANANA_GET_OR(s.run_dir, r.get_string_or("run_dir", "", &e_));
  KANANA_GET_OR(s.local_dir, r.get_string_or("local_dir", "", &e_));
  KANANA_GET_OR(s.workdir, r.get_string_or("workdir", "", &e_));
  if (r.has("env")) {
    KANANA_ASSIGN_OR_RETURN(JsonReader env, r.child("env"));
    for (const auto& [k, v] : json["env"].items()) {
      if (!v.is_string()) return env.field_error(k, "must be a string, got " + v.dump());
      s.env[k] = v.get<std::string>();
    }
  }
  KANANA_ASSIGN_OR_RETURN(s.inputs, get_string_list(r, "inputs"));
  if (r.has("resources")) {
    KANANA_ASSIGN_OR_RETURN(JsonReader res, r.child("resources"));
    KANANA_RETURN_IF_ERROR(res.check_no_unknown({"nproc_per_node", "ranks", "nodes", "gpus_per_node",
                                                 "cpus_per_task", "mem", "time_limit", "partition",
                                                 "requeue_warning_s"}));
    Resources& o = s.resources;
    KANANA_ASSIGN_OR_RETURN(const int ranks, get_int_in(res, "ranks", 1, 1, 1024));
    KANANA_ASSIGN_OR_RETURN(o.nproc_per_node, get_int_in(res, "nproc_per_node", ranks, 1, 1024));
    KANANA_ASSIGN_OR_RETURN(o.nodes, get_int_in(res, "nodes", 1, 1, 4096));
    KANANA_ASSIGN_OR_RETURN(o.gpus_per_node, get_int_in(res, "gpus_per_node", 0, 0, 1024));
    KANANA_ASSIGN_OR_RETURN(o.cpus_per_task, get_int_in(res, "cpus_per_task", 0, 0, 1 << 20));
    KANANA_GET_OR(o.mem, res.get_string_or("mem", "", &e_));
    KANANA_GET_OR(o.time_limit, res.get_string_or("time_limit", "", &e_));
    KANANA_GET_OR(o.partition, res.get_string_or("partition", "", &e_));
    KANANA_GET_OR(o.requeue_warning_s, static_cast<int>(res.get_int_or("requeue_warning_s", 0, &e_)));
  }
  if (r.has("target")) {
    KANANA_ASSIGN_OR_RETURN(JsonReader tr, r.child("target"));
    KANANA_RETURN_IF_ERROR(tr.check_no_unknown({"kind", "host", "user", "port", "identity_file", "remote_workdir",
                                                "kanana_binary", "ssh_options"}));
    Target& t = s.target;
    std::string kind;
    KANANA_GET_OR(kind, tr.get_string_or("kind", "local", &e_));
    auto parsed = parse_target_kind(kind);
    if (!parsed.is_ok()) return tr.field_error("kind", "must be local, ssh or slurm, got '" + kind + "'");
    t.kind = *parsed;
    KANANA_GET_OR(t.host, tr.get_string_or("host", "", &e_));
    KANANA_GET_OR(t.user, tr.get_string_or("user", "", &e_));
    KANANA_ASSIGN_OR_RETURN(t.port, get_int_in(tr, "port", 0, 0, 65535));
    KANANA_GET_OR(t.identity_file, tr.get_string_or("identity_file", "", &e_));
    KANANA_GET_OR(t.remote_workdir, tr.get_string_or("remote_workdir", "", &e_));
    KANANA_GET_OR(t.kanana_binary, tr.get_string_or("kanana_binary", "", &e_));
    KANANA_ASSIGN_OR_RETURN(t.ssh_options, get_string_list(tr, "ssh_options"));
  }
  JobSpec check = s;
  if (check.run_dir.empty()) check.run_dir = "(chosen at launch)";
  Status valid = check.validate();
  if (!valid.is_ok()) {
    std::string m = valid.message();
    if (m.rfind("job spec: ", 0) == 0) m = m.substr(10);
    return invalid_argument(origin + ": " + m);
  }
  return s;
}

Result<JobSpec> read_job_spec(const std::filesystem::path& path) {
  KANANA_ASSIGN_OR_RETURN(Json json, read_json_file(path));
  return json_guard(path.string(), [&] { return job_spec_from_json(json, path.string()); });
}

std::vector<std::string> train_command(const std::string& recipe_path, const std::string& run_dir, bool resume,
                                       const std::string& kanana) {
  std::vector<std::string> argv = {kanana, "train", "--recipe", recipe_path, "--run-dir", run_dir};
  if (resume) argv.push_back("--resume");
  return argv;
}

}  // namespace kanana::jobs
