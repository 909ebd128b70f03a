// Everything on the Surgery page that takes time runs on one background thread owned by
// SurgeryController: importance estimation (forward passes over the calibration set, with
// progress and cancel), loading a score file (the model's weights are read to check the
// fingerprint), teacher/student generations side by side, and preparing the prune → distill
// pipeline (its spec checked and written into a new run folder), which the workbench's job
// service then launches: a detached `kanana surgery pipeline` process recorded in the
// workspace like any training run.
//
// Threading contract: the methods return at once (GUI thread); the work runs in call order on
// the controller's worker thread; results come back as the signals below, emitted on the GUI thread
// (the thread the controller lives on). cancel() may be called from any thread and stops the running
// estimation or generation at its next batch / token. The header is LibTorch-free.
#pragma once

#include <QHash>
#include <QObject>
#include <QString>
#include <QThread>

#include <atomic>
#include <memory>

#include "base/progress.h"
#include "surgery/importance.h"
#include "surgery_files.h"

namespace kanana::gui {
class JobService;
}

namespace kanana::surgeryplugin {

struct ImportanceRequest {
  QString model;        // model folder
  QString pack;         // calibration token pack
  int samples = 256;
  int seqLen = 128;
  surgery::ImportanceOptions options;
  QString outFile;      // where the scores are saved (folders created)
  int threads = 0;      // torch intra-op threads; 0 = leave as is
};

struct GenerationPair {
  QString prompt;
  QString teacher, student;  // generated continuations
};

class SurgeryController : public QObject {
  Q_OBJECT
 public:
  // `jobs` launches the pipeline runs into its workspace; not owned, must outlive the controller.
  explicit SurgeryController(gui::JobService* jobs, QObject* parent = nullptr);
  ~SurgeryController() override;  // cancels and waits for the call in flight

  void computeImportance(const ImportanceRequest& request);
  void loadScores(const QString& model, const QString& file);
  // The first of `files` computed on exactly this model (scoresLoaded), or nothing.
  void findSavedScores(const QString& model, const QStringList& files);
  void generate(const QString& teacher, const QString& student, const QString& prompt, int maxNewTokens);
  // Writes <workspace>/runs/<name>-<time>/pipeline-spec.json in the job service's workspace
  // and launches it there.
  void launchPipeline(const QString& name, const PipelineSettings& settings);
  void cancel() { cancel_.cancel(); }
  bool busy() const { return pending_ > 0; }

 Q_SIGNALS:
  void progress(qint64 done, qint64 total, const QString& note);
  void importanceReady(std::shared_ptr<const kanana::surgery::ImportanceScores> scores, const QString& file);
  void scoresLoaded(std::shared_ptr<const kanana::surgery::ImportanceScores> scores, const QString& file);
  void generated(const kanana::surgeryplugin::GenerationPair& pair);
  void pipelineLaunched(qint64 runId, const QString& runDir);
  // what: "importance" | "scores" | "generate" | "pipeline"
  void failed(const QString& what, const QString& error);
  void idle();  // no call left in flight

 private:
  template <typename F>
  void post(F&& work);
  // Signals are emitted on the controller's (GUI) thread, never on the worker: a direct
  // connection (QSignalSpy's, for one) then sees them in order and only from the event loop.
  template <typename F>
  void deliver(F&& emitter);
  void fail(const QString& what, const std::string& error);

  gui::JobService* jobs_;
  QHash<quint64, QString> launches_;  // job service tickets in flight → run folder
  QThread thread_;
  QObject* worker_;  // lives on thread_; runs the posted calls
  CancelToken cancel_;
  std::atomic<int> pending_{0};
  struct Models;
  std::shared_ptr<Models> models_;  // loaded models for generation, touched only on thread_
};

}  // namespace kanana::surgeryplugin

Q_DECLARE_METATYPE(std::shared_ptr<const kanana::surgery::ImportanceScores>)
Q_DECLARE_METATYPE(kanana::surgeryplugin::GenerationPair)
