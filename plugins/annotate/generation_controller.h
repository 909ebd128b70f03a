// Candidate generation for the annotation page in the background: one worker QThread runs
// prefs::fill_candidates on its own workspace connection, so the GUI thread never waits on
// LibTorch. Each candidate is committed to the database before candidateStored() is emitted,
// so the page reads it from its own connection when the signal arrives.
//
// Threading: start()/cancel()/busy() on the GUI thread; the signals are emitted on the
// controller's (GUI) thread, never on the worker. cancel() stops within one decoding
// step; candidates finished before stay in the database. The destructor cancels and joins.
#pragma once

#include <QObject>
#include <QString>
#include <QStringList>
#include <QThread>
#include <atomic>
#include <memory>

#include "base/progress.h"
#include "prefs/candidate_generation.h"

namespace kanana::annotate {

struct GenerationJob {
  QString workspaceDir;
  qint64 promptSetId = 0;
  QList<qint64> promptIds;   // empty: the whole set
  QStringList models;        // one or two model folders
  prefs::CandidateSampling sampling;
};

class GenerationController : public QObject {
  Q_OBJECT
 public:
  explicit GenerationController(QObject* parent = nullptr);
  ~GenerationController() override;

  bool start(const GenerationJob& job, QString* error);  // false (with why) while one runs
  void cancel();
  bool busy() const { return busy_; }

 Q_SIGNALS:
  void started();
  void candidateStored(qint64 promptId, qint64 candidateId);
  void progress(qint64 done, qint64 total);
  // ok: every requested candidate was made; cancelled: stopped by cancel(); message: what
  // happened (the error when neither).
  void finished(bool ok, bool cancelled, const QString& message);

 private:
  QThread thread_;
  QObject* worker_ = nullptr;  // lives on thread_; runs the jobs
  std::shared_ptr<CancelToken> cancel_;
  bool busy_ = false;
};

}  // namespace kanana::annotate
