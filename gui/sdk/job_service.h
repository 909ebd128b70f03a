// The workbench's one job service: every page that launches `kanana` jobs (Jobs, Surgery,
// Evaluation) goes through it instead of owning a run registry, a worker thread and its own
// idea of where the `kanana` binary is. The plugin host owns one instance per workbench
// (WorkbenchContext::jobService()), which follows the context's workspace.
//
// What it does: launches job specs through core/jobs' RunRegistry (writing the run's input
// files first, here and on a remote host), cancels and resumes runs, and polls the queued and
// running ones — re-attaching to runs that outlived a GUI restart — on a timer; each poll
// lists the workspace's runs (runsListed), and reports state changes (runStateChanged) and new
// events.jsonl lines with the latest metrics (runEvents).
//
// Threading contract: the service lives on the GUI thread and every method is called there;
// they return at once. The work runs on one worker thread ("kanana-jobs") with its own
// workspace connection, in call order; the results come back as the signals below, on the
// GUI thread. The destructor lets the calls already queued run (a launch just clicked), then
// ends the thread. QtCore only, no LibTorch.
#pragma once

#include <QByteArray>
#include <QList>
#include <QMetaType>
#include <QObject>
#include <QPair>
#include <QString>
#include <QTimer>
#include <QVariantMap>
#include <QtNumeric>

#include "jobs/job_spec.h"
#include "sdk/worker_thread.h"

namespace kanana::gui {

// A workspace run as the pages list it (the run record plus what its meta_json says).
struct RunInfo {
  qint64 id = 0;
  QString name;
  QString kind;           // pretrain | sft | dpo | distill | eval | ...
  QString state;          // queued | running | finished | failed | cancelled
  QString target;         // local | ssh | slurm
  QString host;
  QString runDir;         // as the job sees it
  QString localDir;       // this machine's folder with events.jsonl (a mirror for ssh runs)
  int worldSize = 1;
  QString createdAt, startedAt, finishedAt;
  qint64 lastStep = -1;
  double lastLoss = qQNaN();
  QString reason;         // why it failed / was cancelled
  QString pollError;      // the last poll could not reach the job (state left as is)
  qint64 resumedFrom = 0; // the run this one resumed, if any
  bool hasHandle = false; // launched through the job system (can be polled, cancelled, resumed)
  bool active() const { return isActiveRunState(state); }
  static bool isActiveRunState(const QString& state) {
    return state == QLatin1String("queued") || state == QLatin1String("running");
  }
};

// One launch: the spec, and the files the job reads that must exist before it starts.
struct JobLaunch {
  jobs::JobSpec spec;      // a local spec's target.kanana_binary is filled in when empty
  QString localDir;        // this machine's run folder (created); the files go here
  QString remoteDir;       // the run folder on spec.target.host (ssh, remote Slurm); the files
                           // are sent there too over ssh; empty for jobs that run here
  QList<QPair<QString, QByteArray>> files;  // file name in the run folder → content
};

class JobServiceWorker;

class JobService : public QObject {
  Q_OBJECT
 public:
  explicit JobService(QObject* parent = nullptr);
  ~JobService() override;

  // The `kanana` executable local jobs run (gui::kananaBinary() unless set).
  QString kananaBinary() const { return kananaBinary_; }
  void setKananaBinary(const QString& path) { kananaBinary_ = path; }

  // The workspace runs are recorded in; empty closes it. The context calls this on every
  // switch; a standalone service (tests) is pointed at a folder directly.
  void setWorkspace(const QString& path);
  QString workspacePath() const { return workspace_; }

  // Returns a ticket that launched / launchFailed carry, so a page knows its own launches.
  quint64 launch(const JobLaunch& launch);
  void cancel(qint64 runId);
  void resume(qint64 runId);
  // pollActive: ask the launchers about queued/running runs first (ps, ssh, squeue).
  void refresh(bool pollActive = true);
  // Calls queued and not finished yet.
  int pending() const { return worker_.pending(); }

  // The service polls by itself every activeMs while a run is queued or running, every
  // idleMs otherwise (to see runs launched elsewhere, e.g. by the CLI); 0 turns that off.
  // Shared by every page: the shortest wish of any caller is what a test wants, not a page.
  void setPollIntervals(int activeMs, int idleMs);
  // The latest listing (empty until the first one arrives).
  const QList<RunInfo>& runs() const { return runs_; }
  bool hasActiveRuns() const;

 Q_SIGNALS:
  // workspace: the folder the runs were listed from (empty: none open), so a listing that
  // was already queued when another workspace opened is recognised and dropped. Newest first.
  void runsListed(const QString& workspace, const QList<kanana::gui::RunInfo>& runs);
  void launched(quint64 ticket, qint64 runId, const QString& localDir);
  void launchFailed(quint64 ticket, const QString& error);
  // action: "cancel" | "resume"; newRunId: the resumed run; error empty on success.
  void actionFinished(const QString& action, qint64 runId, qint64 newRunId, const QString& error);
  // A poll moved a run to another state (reason: why it failed or was cancelled).
  void runStateChanged(qint64 runId, const QString& kind, const QString& state, const QString& reason);
  // A poll read newEvents more lines of the run's events.jsonl; lastMetrics holds the latest
  // value of every metric seen so far.
  void runEvents(qint64 runId, qint64 newEvents, const QVariantMap& lastMetrics);
  void workspaceError(const QString& error);

 private:
  void onListed(const QString& workspace, const QList<RunInfo>& runs);
  void schedulePoll();

  WorkerThread<JobServiceWorker> worker_;
  QString kananaBinary_;
  QString workspace_;
  QList<RunInfo> runs_;
  QTimer poll_;
  int activeMs_ = 2000;
  int idleMs_ = 10000;
  quint64 nextTicket_ = 1;
};

}  // namespace kanana::gui

Q_DECLARE_METATYPE(kanana::gui::RunInfo)
Q_DECLARE_METATYPE(kanana::gui::JobLaunch)
