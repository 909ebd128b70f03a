// See launch_plan.h.
#include "launch_plan.h"

#include <QDateTime>
#include <QThread>

#include <filesystem>

#include "jobs/slurm_launcher.h"
#include "jobs/ssh_launcher.h"
#include "recipe_files.h"

namespace kanana::jobsplugin {

namespace fs = std::filesystem;

QString makeRunFolder(const QString& name) {
  QString clean;
  for (QChar c : name.isEmpty() ? QStringLiteral("run") : name)
    clean.append((c == QLatin1Char('/') || c == QLatin1Char('\\') || c.unicode() < 0x20 || c.isSpace()) ? QLatin1Char('_') : c);
  return clean + QLatin1Char('-') + QDateTime::currentDateTimeUtc().toString(QStringLiteral("yyyyMMdd-HHmmss"));
}

namespace {

void prefixPaths(Json& value, const std::string& prefix, bool underPathKey) {
  if (value.is_object()) {
    for (auto& [key, child] : value.items()) prefixPaths(child, prefix, isPathKey(key));
  } else if (value.is_array()) {
    for (auto& child : value) prefixPaths(child, prefix, underPathKey && child.is_string());
  } else if (value.is_string() && underPathKey) {
    const std::string s = value.get<std::string>();
    if (!s.empty() && s[0] != '/' && s[0] != '~') value = prefix + s;
  }
}

Status targetError(const char* field, const std::string& what) {
  return invalid_argument(std::string("launch target: field '") + field + "' " + what);
}

}  // namespace

Result<serve::ServeOptions> readServeSettings(const Json& settings) {
  if (!settings.is_object()) return invalid_argument("serve settings: not a JSON object");
  serve::ServeOptions o;
  KANANA_RETURN_IF_ERROR(read_options(JsonReader(settings, "serve settings"), serve::serve_fields(), o));
  for (const auto& m : o.models)
    if (serve::split_model_spec(m).second.empty()) return invalid_argument("serve settings: field 'model' has an empty folder");
  return o;
}

std::string defaultServeName(const serve::ServeOptions& settings) {
  return settings.models.empty() ? "serve" : "serve-" + serve::split_model_spec(settings.models.front()).first;
}

Json prefixRecipePaths(const Json& recipe, const std::string& prefix) {
  Json out = recipe;
  prefixPaths(out, prefix, false);
  return out;
}

Result<LaunchPlan> planLaunch(const LaunchRequest& req) {
  const LaunchTarget& t = req.target;
  const bool serving = req.serve.has_value();
  serve::ServeOptions served;
  if (serving) {
    KANANA_ASSIGN_OR_RETURN(served, readServeSettings(*req.serve));
    if (t.ranks != 1 || (t.kind == jobs::TargetKind::kSlurm && t.nodes != 1))
      return targetError("ranks", "must be 1 for a server (one process serves every request; --parallel batches them)");
  } else if (!req.recipe.is_object()) {
    return invalid_argument("the recipe is not a JSON object");
  }
  if (req.runFolder.isEmpty()) return invalid_argument("launch: no run folder name");
  if (req.workspaceRunsDir.isEmpty()) return failed_precondition("launch: open a workspace first (runs are recorded there)");
  if (t.ranks < 1 || t.ranks > 1024) return targetError("ranks", "must be in 1..1024");
  if (t.threadsPerRank < 0) return targetError("threads", "must be >= 0");
  if (t.kind == jobs::TargetKind::kSsh && t.host.trimmed().isEmpty()) return targetError("host", "is required for an SSH target");
  if (t.remote() && !t.remoteWorkdir.startsWith(QLatin1Char('/')))
    return targetError("remote_workdir", "must be an absolute folder on " + t.host.toStdString() + " (run folders are made inside it)");
  if (t.kind == jobs::TargetKind::kSlurm && (t.nodes < 1 || t.gpusPerNode < 0))
    return targetError("nodes", "must be >= 1 (and GPUs per node >= 0)");

  LaunchPlan plan;
  jobs::JobSpec& spec = plan.spec;
  std::string name = req.runName.toStdString();
  if (serving) {
    if (name.empty()) name = defaultServeName(served);
    spec.kind = jobs::kServeJobKind;
  } else {
    if (name.empty() && req.recipe.contains("name") && req.recipe["name"].is_string()) name = req.recipe["name"].get<std::string>();
    spec.kind = req.recipe.contains("type") && req.recipe["type"].is_string() ? req.recipe["type"].get<std::string>() : "pretrain";
  }
  if (name.empty()) name = "run";
  spec.name = name;
  spec.recipe_path = req.recipePath.toStdString();
  spec.target.kind = t.kind;
  spec.target.host = t.host.trimmed().toStdString();
  spec.target.user = t.user.trimmed().toStdString();
  spec.target.port = t.port;
  spec.target.identity_file = t.identityFile.trimmed().toStdString();
  spec.target.remote_workdir = t.remoteWorkdir.trimmed().toStdString();
  spec.target.ssh_options = {"-o", "ConnectTimeout=10"};
  spec.resources.nproc_per_node = t.ranks;
  if (t.kind == jobs::TargetKind::kSlurm) {
    spec.resources.nodes = t.nodes;
    spec.resources.gpus_per_node = t.gpusPerNode;
    spec.resources.cpus_per_task = t.cpusPerTask;
    spec.resources.time_limit = t.timeLimit.trimmed().toStdString();
    spec.resources.partition = t.partition.trimmed().toStdString();
    spec.resources.mem = t.mem.trimmed().toStdString();
  }

  const fs::path localDir = fs::path(req.workspaceRunsDir.toStdString()) / req.runFolder.toStdString();
  plan.localDir = QString::fromStdString(localDir.string());
  if (t.remote()) {
    spec.run_dir = req.runFolder.toStdString();  // relative: made inside remote_workdir
    spec.local_dir = localDir.string();
    KANANA_ASSIGN_OR_RETURN(std::string dir, jobs::remote_run_dir(spec));
    plan.runDir = QString::fromStdString(dir);
    spec.target.kanana_binary = t.remoteKanana.trimmed().toStdString();
    plan.recipeForTarget = serving ? *req.serve : prefixRecipePaths(req.recipe, "../");
  } else {
    spec.run_dir = localDir.string();
    if (t.kind == jobs::TargetKind::kSsh) spec.local_dir = localDir.string();
    plan.runDir = plan.localDir;
    spec.target.kanana_binary = req.kananaBinary.toStdString();
    plan.recipeForTarget = serving ? *req.serve : absolutizeRecipePaths(req.recipe, req.recipeBaseDir);
  }
  plan.fileName = serving ? QStringLiteral("serve.json") : QStringLiteral("recipe.json");
  plan.recipeTargetPath = plan.runDir + QLatin1Char('/') + plan.fileName;
  if (!serving) spec.recipe = plan.recipeForTarget;

  spec.command = serving ? std::vector<std::string>{"kanana", "serve", "--config", "{run_dir}/serve.json"}
                         : jobs::train_command("{run_dir}/recipe.json", "{run_dir}", false, "kanana");
  int threads = t.threadsPerRank;
  if (threads == 0 && t.kind == jobs::TargetKind::kLocal)
    threads = std::max(1, QThread::idealThreadCount() / std::max(1, t.ranks));  // share this machine's cores
  if (threads > 0) {
    spec.command.insert(spec.command.end(), {"--threads", std::to_string(threads)});
    spec.env["OMP_NUM_THREADS"] = std::to_string(threads);
  }
  std::string device = t.device.isEmpty() ? "cpu" : t.device.toStdString();
  if (device == "cpu" && t.kind == jobs::TargetKind::kSlurm && t.gpusPerNode > 0) device = "cuda";  // one rank per GPU
  if (serving) device = "cpu";  // the serving engine runs on the CPU
  if (device != "cpu") spec.command.insert(spec.command.end(), {"--device", device});
  KANANA_RETURN_IF_ERROR(spec.validate());
  if (t.kind == jobs::TargetKind::kSlurm) plan.sbatchScript = QString::fromStdString(jobs::sbatch_script(spec, plan.runDir.toStdString()));
  return plan;
}

}  // namespace kanana::jobsplugin
