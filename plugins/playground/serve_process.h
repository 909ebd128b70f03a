// A `kanana serve` child process for the Playground's Serve mode: started on one model folder,
// its base URL read from the line it prints on stdout, its GET /health polled once a second for
// the requests in flight and the tokens/s, stopped with SIGTERM (the CLI stops its server on it)
// and killed if it has not exited 5 s later.
//
// Threading: a QObject of the GUI thread; the health request is a loopback call with a 300 ms
// limit made from the timer (the server answers it from its own threads in microseconds).
#pragma once

#include <QObject>
#include <QProcess>
#include <QString>
#include <QTimer>

namespace kanana::playground {

struct ServeSettings {
  QString modelDir;
  QString weights = QStringLiteral("q4");  // f32 | bf16 | int8 | q4
  int parallel = 4;                        // sequences batched together
  int port = 8080;                         // 0 = any free port
  int threads = 0;                         // 0 = all cores
  QString kananaBinary;                    // empty: gui::kananaBinary()
};

struct ServeStatus {
  int running = 0;   // sequences holding a slot
  int waiting = 0;   // queued for one
  int slotCount = 0;  // KV slots (parallel sequences)
  qint64 generatedTokens = 0;
  double tokensPerSecond = 0;
};

class ServeProcess : public QObject {
  Q_OBJECT
 public:
  explicit ServeProcess(QObject* parent = nullptr);
  ~ServeProcess() override;

  // The command line start() runs (for display and tests).
  static QStringList arguments(const ServeSettings& settings);
  void start(const ServeSettings& settings);
  void stop();
  bool isRunning() const { return process_.state() != QProcess::NotRunning; }
  QString url() const { return url_; }  // "http://127.0.0.1:8080/v1" once serving

 Q_SIGNALS:
  void started(const QString& url);
  void status(const kanana::playground::ServeStatus& status);
  void stopped(const QString& message);  // why it ended (exit code and the last error line)

 private:
  void readOutput();
  void poll();

  QProcess process_;
  QTimer poll_;
  QString url_;
  QString stderr_;
};

}  // namespace kanana::playground
