// The background candidate generator (see generation_controller.h).
#include "generation_controller.h"

#include <QMetaObject>

#include "store/workspace.h"

namespace kanana::annotate {

namespace {

// Forwards prefs progress to the controller's signal, emitted on the controller's thread.
class SignalProgress final : public Progress {
 public:
  explicit SignalProgress(GenerationController* owner) : owner_(owner) {}
  void update(int64_t done, int64_t total, const std::string&) override {
    QMetaObject::invokeMethod(
        owner_, [o = owner_, done, total] { Q_EMIT o->progress(done, total); }, Qt::QueuedConnection);
  }
  void finish(const std::string&) override {}

 private:
  GenerationController* owner_;
};

}  // namespace

GenerationController::GenerationController(QObject* parent) : QObject(parent) {
  worker_ = new QObject;
  worker_->moveToThread(&thread_);
  connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
  thread_.setObjectName(QStringLiteral("annotate-generation"));
  thread_.start(QThread::LowPriority);
}

GenerationController::~GenerationController() {
  if (cancel_) cancel_->cancel();
  thread_.quit();
  thread_.wait();
}

bool GenerationController::start(const GenerationJob& job, QString* error) {
  if (busy_) return *error = tr("Candidates are already being generated."), false;
  if (job.models.isEmpty() || job.models.size() > 2) return *error = tr("Choose one or two models."), false;
  if (job.workspaceDir.isEmpty() || job.promptSetId == 0) return *error = tr("Choose a prompt set first."), false;
  busy_ = true;
  cancel_ = std::make_shared<CancelToken>();
  Q_EMIT started();
  auto cancel = cancel_;
  QMetaObject::invokeMethod(worker_, [this, job, cancel] {
    QString message;
    bool ok = false, cancelled = false;
    auto ws = store::Workspace::open(job.workspaceDir.toStdString());
    if (!ws.is_ok()) {
      message = QString::fromStdString(ws.status().message());
    } else {
      prefs::FillRequest req;
      req.prompt_set_id = job.promptSetId;
      for (qint64 id : job.promptIds) req.prompt_ids.push_back(id);
      for (const QString& m : job.models) req.models.emplace_back(m.toStdString());
      req.sampling = job.sampling;
      SignalProgress progress(this);
      auto summary = prefs::fill_candidates(
          **ws, req,
          [this](int64_t prompt, int64_t candidate) {
            QMetaObject::invokeMethod(
                this, [this, prompt, candidate] { Q_EMIT candidateStored(prompt, candidate); }, Qt::QueuedConnection);
          },
          cancel.get(), &progress);
      if (!summary.is_ok()) {
        message = QString::fromStdString(summary.status().message());
      } else {
        cancelled = summary->cancelled;
        ok = !cancelled;
        message = tr("%1 candidates, %2 tokens in %3 s")
                      .arg(summary->candidates)
                      .arg(summary->tokens)
                      .arg(summary->seconds, 0, 'f', 1);
      }
    }
    QMetaObject::invokeMethod(this, [this, ok, cancelled, message] {
      busy_ = false;
      Q_EMIT finished(ok, cancelled, message);
    }, Qt::QueuedConnection);
  }, Qt::QueuedConnection);
  return true;
}

void GenerationController::cancel() {
  if (cancel_) cancel_->cancel();
}

}  // namespace kanana::annotate
