// The jobs worker: everything that can block — polling jobs (a process table, ssh, squeue),
// launching (fork, ssh, sbatch), cancelling, resuming — runs on one background thread with
// its own connection to the workspace database (WAL lets the GUI's connection read meanwhile).
// JobsController is the GUI-side handle: its methods return at once and the results come
// back as its signals, on the GUI thread. Calls run in the order they were made.
//
// Threading contract: JobsWorker lives on the controller's thread and is only reached
// through queued invocations; nothing in it is touched from the GUI thread.
#pragma once

#include <QList>
#include <QObject>
#include <QString>
#include <memory>

#include "launch_plan.h"
#include "runs_model.h"
#include "sdk/worker_thread.h"

namespace kanana::store {
class Workspace;
}
namespace kanana::jobs {
class RunRegistry;
}

namespace kanana::jobsplugin {

class JobsWorker : public QObject {
  Q_OBJECT
 public:
  JobsWorker();
  ~JobsWorker() override;

 public Q_SLOTS:
  void setWorkspace(const QString& path);
  // pollActive: ask the launchers about queued/running runs first (re-attach, state changes).
  void refresh(bool pollActive);
  void launch(const kanana::jobsplugin::LaunchPlan& plan);
  void cancel(qint64 runId);
  void resume(qint64 runId);

 Q_SIGNALS:
  // workspace: the folder the runs were listed from (empty: none open), so a listing that
  // was already queued when another workspace opened is recognised and dropped.
  void runsListed(const QString& workspace, const QList<kanana::jobsplugin::RunRow>& runs);
  void launched(qint64 runId, const QString& localDir);
  void launchFailed(const QString& error);
  // action: "cancel" | "resume"; newRunId: the resumed run; error empty on success.
  void actionFinished(const QString& action, qint64 runId, qint64 newRunId, const QString& error);
  void workspaceError(const QString& error);

 private:
  QList<RunRow> listRuns();
  QString path_;
  std::unique_ptr<store::Workspace> ws_;
  std::unique_ptr<jobs::RunRegistry> registry_;
};

class JobsController : public QObject {
  Q_OBJECT
 public:
  explicit JobsController(QObject* parent = nullptr);
  ~JobsController() override;  // waits for the call in flight (launcher timeouts bound it)

  void setWorkspace(const QString& path);
  void refresh(bool pollActive);
  void launch(const LaunchPlan& plan);
  void cancel(qint64 runId);
  void resume(qint64 runId);
  // Calls queued and not finished yet.
  int pending() const { return worker_.pending(); }

 Q_SIGNALS:
  void runsListed(const QString& workspace, const QList<kanana::jobsplugin::RunRow>& runs);
  void launched(qint64 runId, const QString& localDir);
  void launchFailed(const QString& error);
  void actionFinished(const QString& action, qint64 runId, qint64 newRunId, const QString& error);
  void workspaceError(const QString& error);

 private:
  gui::WorkerThread<JobsWorker> worker_;
};

}  // namespace kanana::jobsplugin

Q_DECLARE_METATYPE(kanana::jobsplugin::LaunchPlan)
