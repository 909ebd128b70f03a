// A job spec: what to run (command, recipe), with which resources (ranks, nodes, GPUs, time)
// and where (this machine, a host over SSH, a Slurm cluster). The GUI's launch dialog and
// `kanana runs launch --spec FILE` both produce one; launchers consume it; it is saved as
// <run_dir>/job_spec.json so every run records exactly how it was started.
//
// JSON form (unknown keys are rejected so typos surface):
// {
//   "name": "tiny-pretrain", "kind": "pretrain",
//   "command": ["kanana", "train", "--recipe", "recipe.json", "--run-dir", "{run_dir}"],
//   "recipe_path": "recipes/tiny.json", "recipe": {...},          // optional
//   "run_dir": "/abs/or/relative/run/folder",   // on the target (absolute for ssh/slurm hosts);
//                                        // may be omitted when launched through RunRegistry
//   "local_dir": "",                     // this machine's folder for job.json and a copy of
//                                        // events.jsonl when the run lives elsewhere (ssh)
//   "workdir": "",                       // cwd of the ranks; default: run_dir
//   "env": {"OMP_NUM_THREADS": "2"},
//   "inputs": ["data/shards/ko-en"],      // dataset paths, recorded as lineage
//   "resources": {"nproc_per_node": 1, "nodes": 1, "gpus_per_node": 0, "cpus_per_task": 0,
//                 "mem": "", "time_limit": "", "partition": ""},
//   "target": {"kind": "local"|"ssh"|"slurm", "host": "", "user": "", "port": 0,
//              "identity_file": "", "remote_workdir": "", "kanana_binary": "",
//              "ssh_options": ["-o", "ConnectTimeout=10"]}
// }
// "{run_dir}" in command arguments is replaced by the (remote, for ssh) run folder.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/status.h"

namespace kanana::jobs {

enum class TargetKind { kLocal, kSsh, kSlurm };
const char* target_kind_name(TargetKind kind);  // "local", "ssh", "slurm"
Result<TargetKind> parse_target_kind(const std::string& name);

struct Resources {
  int nproc_per_node = 1;       // ranks per node (torchrun's --nproc_per_node)
  int nodes = 1;                // > 1 only under Slurm
  int gpus_per_node = 0;
  int cpus_per_task = 0;        // 0 = scheduler default
  std::string mem;              // Slurm --mem ("32G"); empty = default
  std::string time_limit;       // Slurm --time ("HH:MM:SS" or "D-HH:MM:SS"); empty = default
  std::string partition;        // Slurm --partition; empty = default
  // Slurm: seconds before the time limit (or a preemption) at which the job gets SIGUSR1
  // (sbatch --signal=B:USR1@N --requeue); the ranks checkpoint, the job requeues itself and
  // the requeued job runs the command again with --resume. 0 = off.
  int requeue_warning_s = 0;
  int world_size() const { return nproc_per_node * nodes; }
};

struct Target {
  TargetKind kind = TargetKind::kLocal;
  std::string host;             // ssh: required; slurm: login node to submit from (empty = here)
  std::string user;             // empty = ssh's default (~/.ssh/config or the local user)
  int port = 0;                 // 0 = ssh's default
  std::string identity_file;    // private key; passwords are never stored or prompted for
  std::string remote_workdir;   // ssh: base folder for relative run dirs on the host
  std::string kanana_binary;    // path of `kanana` on the target; replaces command[0] == "kanana"
  std::vector<std::string> ssh_options;  // extra ssh arguments ("-o", "ConnectTimeout=10")
};

// The kind of a `kanana serve` job: it runs until stopped, has nothing to resume (a restart
// runs the same command) and writes no events.
inline constexpr const char* kServeJobKind = "serve";

struct JobSpec {
  std::string name;
  std::string kind = "pretrain";      // pretrain | sft | dpo | distill | eval | data | serve | ...
  std::vector<std::string> command;   // argv of every rank
  std::string recipe_path;
  Json recipe = Json::object();       // resolved recipe, recorded with the run
  std::string run_dir;
  std::string local_dir;              // ssh (and remote Slurm): where job.json and the events mirror go
  std::string workdir;                // default: run_dir
  std::map<std::string, std::string> env;
  std::vector<std::string> inputs;    // dataset paths (lineage dataset → run)
  Resources resources;
  Target target;

  // Every problem at once is not needed: the first error, naming the field.
  Status validate() const;
  // command with "{run_dir}" substituted and "kanana" replaced by target.kanana_binary.
  std::vector<std::string> resolved_command(const std::string& run_dir_as_seen_by_job) const;
};

Json job_spec_to_json(const JobSpec& spec);
// `origin` names the file in errors ("spec.json: field 'resources.nodes' ...").
Result<JobSpec> job_spec_from_json(const Json& json, const std::string& origin = "job spec");
Result<JobSpec> read_job_spec(const std::filesystem::path& path);

// The worker command of a training run as the trainer expects it.
std::vector<std::string> train_command(const std::string& recipe_path, const std::string& run_dir,
                                       bool resume = false, const std::string& kanana = "kanana");

}  // namespace kanana::jobs
