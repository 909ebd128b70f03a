// See job_service.h.
#include "sdk/job_service.h"

#include <QHash>
#include <QMetaObject>

#include <filesystem>
#include <memory>

#include "base/json.h"
#include "base/files.h"
#include "jobs/run_registry.h"
#include "jobs/shell_quote.h"
#include "jobs/ssh_launcher.h"
#include "sdk/install_paths.h"
#include "store/workspace.h"

namespace kanana::gui {

namespace fs = std::filesystem;

namespace {

QString qs(const std::string& s) { return QString::fromStdString(s); }

// The GUI polls often: keep each helper command (ssh, squeue) short so a dead host does not
// hold the queue for a minute. Cancelled ranks get the launchers' usual grace period.
jobs::LauncherOptions guiLauncherOptions() {
  jobs::LauncherOptions o;
  o.command_timeout_s = 15;
  return o;
}

RunInfo runInfo(const store::Workspace& ws, const store::RunRecord& r) {
  RunInfo row;
  row.id = r.id;
  row.name = qs(r.name);
  row.kind = qs(r.kind);
  row.state = QString::fromLatin1(store::run_state_name(r.state));
  row.target = qs(r.target);
  row.host = qs(r.host);
  row.runDir = qs(r.run_dir);
  row.localDir = QString::fromStdString(ws.resolve(r.run_dir).string());
  row.createdAt = qs(r.created_at);
  row.startedAt = qs(r.started_at.value_or(""));
  row.finishedAt = qs(r.finished_at.value_or(""));
  const Json meta = parse_json_or_discarded(r.meta_json.empty() ? "{}" : r.meta_json);
  if (!meta.is_object()) return row;
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
  return row;
}

QVariantMap toVariantMap(const Json& metrics) {
  QVariantMap out;
  if (!metrics.is_object()) return out;
  for (const auto& [key, value] : metrics.items()) {
    if (value.is_number()) out.insert(qs(key), value.get<double>());
    else if (value.is_string()) out.insert(qs(key), qs(value.get<std::string>()));
  }
  return out;
}

}  // namespace

// Lives on the service's thread; reached only through WorkerThread::post.
class JobServiceWorker : public QObject {
  Q_OBJECT
 public:
  void setWorkspace(const QString& path) {
    registry_.reset();
    ws_.reset();
    path_ = path;
    if (path.isEmpty()) return;
    auto ws = store::Workspace::open(path.toStdString());
    if (!ws.is_ok()) {
      Q_EMIT workspaceError(qs(ws.status().to_string()));
      return;
    }
    ws_ = std::move(ws).value();
    registry_ = std::make_unique<jobs::RunRegistry>(*ws_, guiLauncherOptions());
  }

  void refresh(bool pollActive) {
    if (!ws_) {
      Q_EMIT runsListed(path_, {});
      return;
    }
    QHash<qint64, QString> errors;
    std::vector<jobs::RunRefresh> refreshed;
    if (pollActive && registry_) {
      auto r = registry_->refresh_active();
      if (r.is_ok()) {
        refreshed = std::move(r).value();
        for (const auto& one : refreshed)
          if (!one.error.empty()) errors.insert(one.run_id, qs(one.error));
      } else {
        Q_EMIT workspaceError(qs(r.status().to_string()));
      }
    }
    QList<RunInfo> rows = listRuns();
    for (RunInfo& row : rows) row.pollError = errors.value(row.id);
    for (const auto& one : refreshed) {
      if (!one.error.empty()) continue;
      if (one.new_events > 0) Q_EMIT runEvents(one.run_id, one.new_events, toVariantMap(one.last_metrics));
      if (!one.state_changed) continue;
      QString kind;
      for (const RunInfo& row : rows)
        if (row.id == one.run_id) kind = row.kind;
      Q_EMIT runStateChanged(one.run_id, kind, QString::fromLatin1(store::run_state_name(jobs::to_run_state(one.state))),
                             qs(one.reason));
    }
    Q_EMIT runsListed(path_, rows);
  }

  void launch(quint64 ticket, const JobLaunch& launch) {
    if (!registry_) {
      Q_EMIT launchFailed(ticket, QStringLiteral("no workspace is open: runs are recorded in a workspace"));
      return;
    }
    if (Status st = writeFiles(launch); !st.is_ok()) {
      Q_EMIT launchFailed(ticket, qs(st.to_string()));
      return;
    }
    auto id = registry_->launch(launch.spec);
    if (!id.is_ok()) {
      Q_EMIT launchFailed(ticket, qs(launch.spec.name + ": " + id.status().to_string()));
      return;
    }
    Q_EMIT launched(ticket, *id, launch.localDir.isEmpty() ? qs(launch.spec.run_dir) : launch.localDir);
    refresh(false);
  }

  void cancel(qint64 runId) {
    if (!registry_) return;
    Status st = registry_->cancel(runId);
    Q_EMIT actionFinished(QStringLiteral("cancel"), runId, 0, st.is_ok() ? QString() : qs(st.to_string()));
    refresh(false);
  }

  void resume(qint64 runId) {
    if (!registry_) return;
    auto id = registry_->resume(runId);
    Q_EMIT actionFinished(QStringLiteral("resume"), runId, id.is_ok() ? *id : 0,
                          id.is_ok() ? QString() : qs(id.status().to_string()));
    refresh(false);
  }

 Q_SIGNALS:
  void runsListed(const QString& workspace, const QList<kanana::gui::RunInfo>& runs);
  void launched(quint64 ticket, qint64 runId, const QString& localDir);
  void launchFailed(quint64 ticket, const QString& error);
  void actionFinished(const QString& action, qint64 runId, qint64 newRunId, const QString& error);
  void runStateChanged(qint64 runId, const QString& kind, const QString& state, const QString& reason);
  void runEvents(qint64 runId, qint64 newEvents, const QVariantMap& lastMetrics);
  void workspaceError(const QString& error);

 private:
  QList<RunInfo> listRuns() {
    QList<RunInfo> rows;
    auto runs = ws_->list_runs();
    if (!runs.is_ok()) {
      Q_EMIT workspaceError(qs(runs.status().to_string()));
      return rows;
    }
    for (auto it = runs->rbegin(); it != runs->rend(); ++it) rows.append(runInfo(*ws_, *it));  // newest first
    return rows;
  }

  // The job's input files, in this machine's run folder and, for a remote job, on its host
  // before the job starts (over the same ssh the launcher uses).
  Status writeFiles(const JobLaunch& launch) {
    if (launch.files.isEmpty()) return Status();
    if (launch.localDir.isEmpty()) return invalid_argument(launch.spec.name + ": files to write but no local run folder");
    const fs::path dir = launch.localDir.toStdString();
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return internal_error(dir.string() + ": cannot create the run folder: " + ec.message());
    for (const auto& [name, content] : launch.files)
      KANANA_RETURN_IF_ERROR(write_file_atomic(dir / name.toStdString(), content.toStdString()));
    const jobs::Target& t = launch.spec.target;
    if (launch.remoteDir.isEmpty() || t.kind == jobs::TargetKind::kLocal || t.host.empty()) return Status();
    const std::string remote = launch.remoteDir.toStdString();
    for (const auto& [name, content] : launch.files) {
      const std::string file = remote + "/" + name.toStdString();
      const std::string script = "mkdir -p " + jobs::shell_quote(remote) + " && cat > " + jobs::shell_quote(file);
      KANANA_RETURN_IF_ERROR(jobs::run_remote(t, script, guiLauncherOptions(), content.toStdString()).status());
    }
    return Status();
  }

  QString path_;
  std::unique_ptr<store::Workspace> ws_;
  std::unique_ptr<jobs::RunRegistry> registry_;
};

JobService::JobService(QObject* parent)
    : QObject(parent), worker_(this, QStringLiteral("kanana-jobs")), kananaBinary_(gui::kananaBinary()) {
  qRegisterMetaType<kanana::gui::RunInfo>();
  qRegisterMetaType<QList<kanana::gui::RunInfo>>();
  qRegisterMetaType<kanana::gui::JobLaunch>();
  JobServiceWorker* w = worker_.worker();
  connect(w, &JobServiceWorker::runsListed, this, &JobService::onListed);
  connect(w, &JobServiceWorker::launched, this, &JobService::launched);
  connect(w, &JobServiceWorker::launchFailed, this, &JobService::launchFailed);
  connect(w, &JobServiceWorker::actionFinished, this, &JobService::actionFinished);
  connect(w, &JobServiceWorker::runStateChanged, this, &JobService::runStateChanged);
  connect(w, &JobServiceWorker::runEvents, this, &JobService::runEvents);
  connect(w, &JobServiceWorker::workspaceError, this, &JobService::workspaceError);
  worker_.start();
  poll_.setSingleShot(true);
  connect(&poll_, &QTimer::timeout, this, [this] {
    // One poll at a time: a slow ssh host must not pile up calls behind it.
    if (pending() == 0) refresh(true);
    schedulePoll();
  });
}

// Calls already queued (a launch the user just clicked) still run; then the thread ends.
JobService::~JobService() { poll_.stop(); }

void JobService::setWorkspace(const QString& path) {
  workspace_ = path;
  runs_.clear();
  worker_.post([path](JobServiceWorker* w) { w->setWorkspace(path); });
  if (!path.isEmpty()) refresh(true);
  schedulePoll();
}

quint64 JobService::launch(const JobLaunch& launch) {
  const quint64 ticket = nextTicket_++;
  JobLaunch l = launch;
  if (l.spec.target.kanana_binary.empty() && l.spec.target.kind == jobs::TargetKind::kLocal)
    l.spec.target.kanana_binary = kananaBinary_.toStdString();
  worker_.post([ticket, l](JobServiceWorker* w) { w->launch(ticket, l); });
  return ticket;
}

void JobService::cancel(qint64 runId) {
  worker_.post([runId](JobServiceWorker* w) { w->cancel(runId); });
}
void JobService::resume(qint64 runId) {
  worker_.post([runId](JobServiceWorker* w) { w->resume(runId); });
}
void JobService::refresh(bool pollActive) {
  worker_.post([pollActive](JobServiceWorker* w) { w->refresh(pollActive); });
}

void JobService::setPollIntervals(int activeMs, int idleMs) {
  activeMs_ = activeMs;
  idleMs_ = idleMs;
  schedulePoll();
}

bool JobService::hasActiveRuns() const {
  for (const RunInfo& r : runs_)
    if (r.active()) return true;
  return false;
}

void JobService::onListed(const QString& workspace, const QList<RunInfo>& runs) {
  if (workspace == workspace_) runs_ = runs;
  Q_EMIT runsListed(workspace, runs);
  schedulePoll();
}

void JobService::schedulePoll() {
  const int ms = hasActiveRuns() ? activeMs_ : idleMs_;
  if (workspace_.isEmpty() || ms <= 0) {
    poll_.stop();
    return;
  }
  // A sooner wish wins over a timer already running for later.
  if (!poll_.isActive() || poll_.remainingTime() > ms) poll_.start(ms);
}

}  // namespace kanana::gui

#include "job_service.moc"
