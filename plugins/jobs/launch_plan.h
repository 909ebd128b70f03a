// From what the user picked (a recipe, a target: this machine, an SSH host, a Slurm cluster)
// to the job spec the launchers run, decided in one place so the sbatch preview shows
// exactly the script that is submitted. The plan also says where the recipe file goes:
//  - this machine (local, or Slurm submitted from here with a shared filesystem):
//    <run folder>/recipe.json, with relative paths made absolute against the recipe's folder;
//  - a remote host (SSH, or Slurm through a login node): <remote run folder>/recipe.json,
//    uploaded over ssh, with relative paths taken relative to the remote workdir
//    (the run folder's parent), since the recipe's folder here does not exist there.
// A serve job (LaunchRequest::serve) is planned the same way, with serve.json for the recipe.
// No password is ever part of a plan: ssh runs in BatchMode with keys or an agent.
#pragma once

#include <QString>

#include <optional>

#include "base/json.h"
#include "base/status.h"
#include "jobs/job_spec.h"
#include "serve/serve_options.h"

namespace kanana::jobsplugin {

struct LaunchTarget {
  jobs::TargetKind kind = jobs::TargetKind::kLocal;
  int ranks = 1;             // processes per node (Gloo on CPU, one per GPU under Slurm)
  int threadsPerRank = 0;    // `kanana train --threads`; 0 = the trainer's default
  QString device = QStringLiteral("cpu");  // cpu | cuda
  // ssh (and Slurm through a login node when host is set)
  QString host;
  QString user;
  int port = 0;
  QString identityFile;      // a private key file; passwords are never asked for or stored
  QString remoteWorkdir;     // absolute folder on the host; run folders are made inside it
  QString remoteKanana;      // `kanana` on the host; empty = found on its PATH
  // Slurm
  int nodes = 1;
  int gpusPerNode = 0;
  int cpusPerTask = 0;
  QString timeLimit;         // HH:MM:SS or D-HH:MM:SS
  QString partition;
  QString mem;

  bool remote() const { return !host.isEmpty() && kind != jobs::TargetKind::kLocal; }
};

struct LaunchRequest {
  Json recipe = Json::object();  // the recipe as edited (validated before a launch)
  // A serve job instead of training: the settings of `kanana serve` (serve/serve_options.h
  // keys, model folders as the target sees them). The job runs `kanana serve --config
  // <run folder>/serve.json` as one process until it is stopped; its URL is in rank-0.log.
  std::optional<Json> serve;
  QString recipeBaseDir;         // folder its relative paths are relative to
  QString recipePath;            // the file it came from (recorded with the run); may be empty
  QString runName;               // run name; default: the recipe's "name"
  QString runFolder;             // folder name under the runs folder: "<name>-<UTC timestamp>"
  QString workspaceRunsDir;      // this machine's runs folder (local_dir, and run_dir for local jobs)
  QString kananaBinary;          // `kanana` on this machine (local and local-Slurm jobs)
  LaunchTarget target;
};

// "<name>-YYYYmmdd-HHMMSS" (UTC), with '/' and control characters replaced.
QString makeRunFolder(const QString& name);

struct LaunchPlan {
  jobs::JobSpec spec;       // ready for RunRegistry::launch (run_dir and local_dir set)
  QString runDir;           // where the job runs, as it sees it
  QString localDir;         // this machine's folder for job.json / events.jsonl
  QString fileName;         // the file the job reads, in its run folder: recipe.json | serve.json
  QString recipeTargetPath; // where that file is written on the target
  Json recipeForTarget;     // its text (a recipe's paths relocated; a serve job's settings)
  QString sbatchScript;     // Slurm only: the script that will be submitted
};

// Checks the target (the first problem names the field, as in the launch form) and builds
// the plan. Does not touch the filesystem or the network.
Result<LaunchPlan> planLaunch(const LaunchRequest& request);

// A serve job's settings read with serve_fields(); the first problem names the field.
Result<serve::ServeOptions> readServeSettings(const Json& settings);
// "serve-<first model's name>": a serve job's run name when none is given.
std::string defaultServeName(const serve::ServeOptions& settings);

// Relative values under path keys (recipe_files.h) prefixed with `prefix` ("../").
Json prefixRecipePaths(const Json& recipe, const std::string& prefix);

}  // namespace kanana::jobsplugin
