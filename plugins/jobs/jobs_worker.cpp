// See jobs_worker.h.
#include "jobs_worker.h"

#include <QDir>
#include <QFileInfo>
#include <QMetaObject>

#include <cmath>
#include <filesystem>

#include "base/files.h"
#include "jobs/run_registry.h"
#include "jobs/shell_quote.h"
#include "jobs/ssh_launcher.h"
#include "store/workspace.h"

namespace kanana::jobsplugin {

namespace fs = std::filesystem;

namespace {

// The GUI polls often: keep each helper command (ssh, squeue) short so a dead host does not
// hold the queue for a minute. Cancelled ranks get the launchers' usual grace period.
jobs::LauncherOptions guiLauncherOptions() {
  jobs::LauncherOptions o;
  o.command_timeout_s = 15;
  return o;
}

QString qs(const std::string& s) { return QString::fromStdString(s); }

}  // namespace

JobsWorker::JobsWorker() = default;
JobsWorker::~JobsWorker() = default;

void JobsWorker::setWorkspace(const QString& path) {
  registry_.reset();
  ws_.reset();
  path_ = path;
  if (path.isEmpty()) {
    Q_EMIT runsListed(path_, {});
    return;
  }
  auto ws = store::Workspace::open(path.toStdString());
  if (!ws.is_ok()) {
    Q_EMIT workspaceError(qs(ws.status().to_string()));
    Q_EMIT runsListed(path_, {});
    return;
  }
  ws_ = std::move(ws).value();
  registry_ = std::make_unique<jobs::RunRegistry>(*ws_, guiLauncherOptions());
}

QList<RunRow> JobsWorker::listRuns() {
  QList<RunRow> rows;
  if (!ws_) return rows;
  auto runs = ws_->list_runs();
  if (!runs.is_ok()) {
    Q_EMIT workspaceError(qs(runs.status().to_string()));
    return rows;
  }
  for (auto it = runs->rbegin(); it != runs->rend(); ++it) {  // newest first
    const store::RunRecord& r = *it;
    RunRow row;
    row.id = r.id;
    row.name = qs(r.name);
    row.kind = qs(r.kind);
    row.state = QString::fromLatin1(store::run_state_name(r.state));
    row.target = qs(r.target);
    row.host = qs(r.host);
    row.runDir = qs(r.run_dir);
    row.localDir = QString::fromStdString(ws_->resolve(r.run_dir).string());
    row.createdAt = qs(r.created_at);
    row.startedAt = qs(r.started_at.value_or(""));
    row.finishedAt = qs(r.finished_at.value_or(""));
    Json meta = Json::parse(r.meta_json.empty() ? "{}" : r.meta_json, nullptr, false);
    if (meta.is_object()) {
      if (meta.contains("handle") && meta["handle"].is_object()) {
        const Json& h = meta["handle"];
        row.hasHandle = true;
        if (h.contains("local_dir") && h["local_dir"].is_string() && !h["local_dir"].get<std::string>().empty())
          row.localDir = qs(h["local_dir"].get<std::string>());
        if (h.contains("world_size") && h["world_size"].is_number_integer()) row.worldSize = h["world_size"].get<int>();
      }
      if (meta.contains("last_step") && meta["last_step"].is_number_integer()) row.lastStep = meta["last_step"].get<qint64>();
      if (meta.contains("last_metrics") && meta["last_metrics"].is_object() && meta["last_metrics"].contains("loss") &&
          meta["last_metrics"]["loss"].is_number())
        row.lastLoss = meta["last_metrics"]["loss"].get<double>();
      if (meta.contains("reason") && meta["reason"].is_string()) row.reason = qs(meta["reason"].get<std::string>());
      if (meta.contains("resumed_from") && meta["resumed_from"].is_number_integer())
        row.resumedFrom = meta["resumed_from"].get<qint64>();
    }
    rows.append(row);
  }
  return rows;
}

void JobsWorker::refresh(bool pollActive) {
  if (!ws_) {
    Q_EMIT runsListed(path_, {});
    return;
  }
  QHash<qint64, QString> errors;
  if (pollActive && registry_) {
    auto refreshed = registry_->refresh_active();
    if (refreshed.is_ok()) {
      for (const auto& r : *refreshed)
        if (!r.error.empty()) errors.insert(r.run_id, qs(r.error));
    } else {
      Q_EMIT workspaceError(qs(refreshed.status().to_string()));
    }
  }
  QList<RunRow> rows = listRuns();
  for (RunRow& row : rows) row.pollError = errors.value(row.id);
  Q_EMIT runsListed(path_, rows);
}

void JobsWorker::launch(const LaunchPlan& plan) {
  if (!registry_) {
    Q_EMIT launchFailed(QStringLiteral("no workspace is open: runs are recorded in a workspace"));
    return;
  }
  const jobs::JobSpec& spec = plan.spec;
  const std::string recipeText = plan.recipeForTarget.dump(2) + "\n";
  // This machine keeps a copy of what was launched next to job.json (the mirror folder for remote runs).
  std::error_code ec;
  fs::create_directories(plan.localDir.toStdString(), ec);
  if (ec) {
    Q_EMIT launchFailed(plan.localDir + QStringLiteral(": cannot create the run folder: ") + qs(ec.message()));
    return;
  }
  Status written = write_file_atomic(fs::path(plan.localDir.toStdString()) / "recipe.json", recipeText);
  if (written.is_ok() && spec.target.kind != jobs::TargetKind::kLocal && !spec.target.host.empty()) {
    // The recipe must exist on the host before the job starts: send it over the same ssh.
    const std::string dir = plan.runDir.toStdString();
    auto out = jobs::run_remote(spec.target,
                                "mkdir -p " + jobs::shell_quote(dir) + " && cat > " + jobs::shell_quote(dir + "/recipe.json"),
                                guiLauncherOptions(), recipeText);
    written = out.status();
  }
  if (!written.is_ok()) {
    Q_EMIT launchFailed(qs(written.to_string()));
    return;
  }
  auto id = registry_->launch(spec);
  if (!id.is_ok()) {
    Q_EMIT launchFailed(qs(id.status().to_string()));
    return;
  }
  Q_EMIT launched(*id, plan.localDir);
  refresh(false);
}

void JobsWorker::cancel(qint64 runId) {
  if (!registry_) return;
  Status st = registry_->cancel(runId);
  Q_EMIT actionFinished(QStringLiteral("cancel"), runId, 0, st.is_ok() ? QString() : qs(st.to_string()));
  refresh(false);
}

void JobsWorker::resume(qint64 runId) {
  if (!registry_) return;
  auto id = registry_->resume(runId);
  Q_EMIT actionFinished(QStringLiteral("resume"), runId, id.is_ok() ? *id : 0,
                        id.is_ok() ? QString() : qs(id.status().to_string()));
  refresh(false);
}

// ---- controller

JobsController::JobsController(QObject* parent) : QObject(parent), worker_(this, QStringLiteral("kanana-jobs")) {
  qRegisterMetaType<kanana::jobsplugin::RunRow>();
  qRegisterMetaType<QList<kanana::jobsplugin::RunRow>>();
  qRegisterMetaType<kanana::jobsplugin::LaunchPlan>();
  JobsWorker* w = worker_.worker();
  connect(w, &JobsWorker::runsListed, this, &JobsController::runsListed);
  connect(w, &JobsWorker::launched, this, &JobsController::launched);
  connect(w, &JobsWorker::launchFailed, this, &JobsController::launchFailed);
  connect(w, &JobsWorker::actionFinished, this, &JobsController::actionFinished);
  connect(w, &JobsWorker::workspaceError, this, &JobsController::workspaceError);
  worker_.start();
}

// Calls already queued (a launch the user just clicked) still run; then the thread ends.
JobsController::~JobsController() = default;

void JobsController::setWorkspace(const QString& path) {
  worker_.post([path](JobsWorker* w) { w->setWorkspace(path); });
}
void JobsController::refresh(bool pollActive) {
  worker_.post([pollActive](JobsWorker* w) { w->refresh(pollActive); });
}
void JobsController::launch(const LaunchPlan& plan) {
  worker_.post([plan](JobsWorker* w) { w->launch(plan); });
}
void JobsController::cancel(qint64 runId) {
  worker_.post([runId](JobsWorker* w) { w->cancel(runId); });
}
void JobsController::resume(qint64 runId) {
  worker_.post([runId](JobsWorker* w) { w->resume(runId); });
}

}  // namespace kanana::jobsplugin
