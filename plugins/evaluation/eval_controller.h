// Everything the Evaluation page reads that can block — eval results, results files and
// per-item samples (bootstraps over thousands of items) — runs on one background thread with
// its own workspace connection. Launching and polling eval jobs is the workbench's job
// service's work (gui/sdk/job_service.h), shared with the other pages.
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
#include "sdk/worker_thread.h"

namespace kanana::store {
class Workspace;
}

namespace kanana::evaluation {

using ComparisonPtr = std::shared_ptr<const ComparisonData>;
using SamplesPtr = std::shared_ptr<const std::vector<Json>>;

class EvalWorker : public QObject {
  Q_OBJECT
 public:
  EvalWorker();
  ~EvalWorker() override;

 public Q_SLOTS:
  void setWorkspace(const QString& path);
  void reload();
  void loadSamples(const QString& path, const QString& title, const QString& filter);

 Q_SIGNALS:
  void comparisonLoaded(const kanana::evaluation::ComparisonPtr& data);
  void checkpointsListed(const QList<kanana::evaluation::CheckpointEntry>& checkpoints, const QStringList& evalDatasets);
  void samplesLoaded(const kanana::evaluation::SamplesPtr& samples, const QString& title, const QString& filter);
  void error(const QString& message);

 private:
  std::unique_ptr<store::Workspace> ws_;
};

class EvalController : public QObject {
  Q_OBJECT
 public:
  explicit EvalController(QObject* parent = nullptr);
  ~EvalController() override;  // waits for the call in flight

  void setWorkspace(const QString& path);
  void reload();
  void loadSamples(const QString& path, const QString& title, const QString& filter);
  int pending() const { return worker_.pending(); }

 Q_SIGNALS:
  void comparisonLoaded(const kanana::evaluation::ComparisonPtr& data);
  void checkpointsListed(const QList<kanana::evaluation::CheckpointEntry>& checkpoints, const QStringList& evalDatasets);
  void samplesLoaded(const kanana::evaluation::SamplesPtr& samples, const QString& title, const QString& filter);
  void error(const QString& message);

 private:
  gui::WorkerThread<EvalWorker> worker_;
};

}  // namespace kanana::evaluation

Q_DECLARE_METATYPE(kanana::evaluation::ComparisonPtr)
Q_DECLARE_METATYPE(kanana::evaluation::SamplesPtr)
Q_DECLARE_METATYPE(kanana::evaluation::CheckpointEntry)
