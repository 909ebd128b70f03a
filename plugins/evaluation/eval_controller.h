// Everything the Evaluation page does that can block — reading eval results, results files
// and per-item samples (bootstraps over thousands of items), launching eval jobs (fork, ssh,
// sbatch), polling them — runs on one background thread with its own workspace connection.
// EvalController is the GUI-side handle: calls return at once, results come back as its
// signals on the GUI thread, in the order the calls were made.
//
// Threading contract: EvalWorker lives on the controller's thread and is reached only through
// queued invocations; nothing in it is touched from the GUI thread.
#pragma once

#include <QList>
#include <QObject>
#include <QString>
#include <memory>
#include <vector>

#include "base/json.h"
#include "comparison.h"
#include "jobs/job_spec.h"
#include "sdk/worker_thread.h"

namespace kanana::store {
class Workspace;
}
namespace kanana::jobs {
class RunRegistry;
}

namespace kanana::evaluation {

using ComparisonPtr = std::shared_ptr<const ComparisonData>;
using SamplesPtr = std::shared_ptr<const std::vector<Json>>;
using JobSpecs = std::vector<jobs::JobSpec>;

// An eval run as the page lists it.
struct EvalRunRow {
  qint64 id = 0;
  QString name;
  QString state;   // queued | running | finished | failed | cancelled
  QString reason;
};

class EvalWorker : public QObject {
  Q_OBJECT
 public:
  EvalWorker();
  ~EvalWorker() override;

 public Q_SLOTS:
  void setWorkspace(const QString& path);
  void reload();
  void launch(const kanana::evaluation::JobSpecs& specs);
  // Polls queued/running eval runs (records their results); reloads when one ended.
  void poll();
  void loadSamples(const QString& path, const QString& title, const QString& filter);

 Q_SIGNALS:
  void comparisonLoaded(const kanana::evaluation::ComparisonPtr& data);
  void checkpointsListed(const QList<kanana::evaluation::CheckpointEntry>& checkpoints, const QStringList& evalDatasets);
  void runsListed(const QList<kanana::evaluation::EvalRunRow>& runs, bool anyActive);
  void launched(const QList<qint64>& runIds);
  void launchFailed(const QString& error);
  void samplesLoaded(const kanana::evaluation::SamplesPtr& samples, const QString& title, const QString& filter);
  void error(const QString& message);

 private:
  void listRuns();
  std::unique_ptr<store::Workspace> ws_;
  std::unique_ptr<jobs::RunRegistry> registry_;
};

class EvalController : public QObject {
  Q_OBJECT
 public:
  explicit EvalController(QObject* parent = nullptr);
  ~EvalController() override;  // waits for the call in flight

  void setWorkspace(const QString& path);
  void reload();
  void launch(const JobSpecs& specs);
  void poll();
  void loadSamples(const QString& path, const QString& title, const QString& filter);
  int pending() const { return worker_.pending(); }

 Q_SIGNALS:
  void comparisonLoaded(const kanana::evaluation::ComparisonPtr& data);
  void checkpointsListed(const QList<kanana::evaluation::CheckpointEntry>& checkpoints, const QStringList& evalDatasets);
  void runsListed(const QList<kanana::evaluation::EvalRunRow>& runs, bool anyActive);
  void launched(const QList<qint64>& runIds);
  void launchFailed(const QString& error);
  void samplesLoaded(const kanana::evaluation::SamplesPtr& samples, const QString& title, const QString& filter);
  void error(const QString& message);

 private:
  gui::WorkerThread<EvalWorker> worker_;
};

}  // namespace kanana::evaluation

Q_DECLARE_METATYPE(kanana::evaluation::ComparisonPtr)
Q_DECLARE_METATYPE(kanana::evaluation::SamplesPtr)
Q_DECLARE_METATYPE(kanana::evaluation::JobSpecs)
Q_DECLARE_METATYPE(kanana::evaluation::EvalRunRow)
Q_DECLARE_METATYPE(kanana::evaluation::CheckpointEntry)
