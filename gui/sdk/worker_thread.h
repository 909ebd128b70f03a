// A plugin controller's background thread: one worker object (a QObject subclass that does the
// slow work — database, launchers, files) living on its own QThread, and post() to run calls on
// it one at a time, in call order. The worker's signals, connected to the controller's with the
// default connection, arrive queued on the controller's (GUI) thread.
//
//   class JobsController : public QObject {
//     gui::WorkerThread<JobsWorker> worker_{this, "kanana-jobs"};
//     ...
//     connect(worker_.worker(), &JobsWorker::launched, this, &JobsController::launched);
//     worker_.start();
//     void launch(const Plan& p) { worker_.post([p](JobsWorker* w) { w->launch(p); }); }
//   };
//
// Threading: post(), pending() and the destructor belong to the owner's thread. The destructor
// lets the calls already queued run (a launch the user just clicked), then ends the thread and
// deletes the worker on this thread. pending() counts calls posted and not finished yet.
#pragma once

#include <QMetaObject>
#include <QObject>
#include <QString>
#include <QThread>
#include <utility>

namespace kanana::gui {

template <typename Worker>
class WorkerThread {
 public:
  WorkerThread(QObject* owner, const QString& name) : owner_(owner), worker_(new Worker) {
    worker_->moveToThread(&thread_);
    thread_.setObjectName(name);
  }
  ~WorkerThread() {
    QMetaObject::invokeMethod(worker_, [this] { thread_.quit(); }, Qt::QueuedConnection);
    thread_.wait();
    delete worker_;
  }
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  // After connecting the worker's signals.
  void start() { thread_.start(); }
  Worker* worker() const { return worker_; }

  // Runs f(worker) on the worker thread after every call posted before it.
  template <typename F>
  void post(F&& f) {
    ++pending_;
    QMetaObject::invokeMethod(
        worker_,
        [this, f = std::forward<F>(f)]() mutable {
          f(worker_);
          // Back on the owner's thread; dropped with the owner if it is gone by then.
          QMetaObject::invokeMethod(owner_, [this] { --pending_; }, Qt::QueuedConnection);
        },
        Qt::QueuedConnection);
  }
  int pending() const { return pending_; }

 private:
  QObject* owner_;
  QThread thread_;
  Worker* worker_;
  int pending_ = 0;
};

}  // namespace kanana::gui
