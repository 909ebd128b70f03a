// `kanana serve` as a child of the Playground (see serve_process.h).
#include "serve_process.h"

#include <httplib.h>

#include <QUrl>

#include "base/json.h"
#include "sdk/install_paths.h"

namespace kanana::playground {

ServeProcess::ServeProcess(QObject* parent) : QObject(parent) {
  poll_.setInterval(1000);
  connect(&poll_, &QTimer::timeout, this, &ServeProcess::poll);
  connect(&process_, &QProcess::readyReadStandardOutput, this, &ServeProcess::readOutput);
  connect(&process_, &QProcess::readyReadStandardError, this, [this] {
    stderr_ += QString::fromUtf8(process_.readAllStandardError());
    if (stderr_.size() > 20000) stderr_ = stderr_.right(10000);
  });
  connect(&process_, &QProcess::errorOccurred, this, [this](QProcess::ProcessError e) {
    if (e == QProcess::FailedToStart) {
      poll_.stop();
      Q_EMIT stopped(tr("could not start %1: %2").arg(process_.program(), process_.errorString()));
    }
  });
  connect(&process_, &QProcess::finished, this, [this](int code, QProcess::ExitStatus how) {
    poll_.stop();
    url_.clear();
    const QString last = stderr_.trimmed().section(QLatin1Char('\n'), -1);
    Q_EMIT stopped(how == QProcess::CrashExit ? tr("the server crashed")
                   : code == 0               ? tr("stopped")
                                             : tr("exited with code %1: %2").arg(code).arg(last));
  });
}

ServeProcess::~ServeProcess() {
  if (isRunning()) {
    process_.terminate();
    if (!process_.waitForFinished(5000)) process_.kill();
    process_.waitForFinished(1000);
  }
}

QStringList ServeProcess::arguments(const ServeSettings& s) {
  QStringList args = {QStringLiteral("serve"), QStringLiteral("--model"), s.modelDir, QStringLiteral("--weights"),
                      s.weights, QStringLiteral("--parallel"), QString::number(s.parallel), QStringLiteral("--port"),
                      QString::number(s.port)};
  if (s.threads > 0) args << QStringLiteral("--threads") << QString::number(s.threads);
  return args;
}

void ServeProcess::start(const ServeSettings& settings) {
  if (isRunning()) return;
  url_.clear();
  stderr_.clear();
  process_.start(settings.kananaBinary.isEmpty() ? gui::kananaBinary() : settings.kananaBinary, arguments(settings));
}

void ServeProcess::stop() {
  if (!isRunning()) return;
  process_.terminate();
  QTimer::singleShot(5000, this, [this] {
    if (isRunning()) process_.kill();
  });
}

void ServeProcess::readOutput() {
  const QString out = QString::fromUtf8(process_.readAllStandardOutput());
  for (const QString& line : out.split(QLatin1Char('\n'), Qt::SkipEmptyParts)) {
    if (!url_.isEmpty() || !line.startsWith(QLatin1String("http://"))) continue;
    url_ = line.trimmed();
    poll_.start();
    Q_EMIT started(url_);
  }
}

void ServeProcess::poll() {
  const QUrl u(url_);
  if (!u.isValid()) return;
  httplib::Client client(u.host().toStdString(), u.port(80));
  client.set_connection_timeout(0, 300000);
  client.set_read_timeout(0, 300000);
  auto r = client.Get("/health");
  if (!r || r->status != 200) return;
  const Json j = Json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("models") || !j["models"].is_array() || j["models"].empty()) return;
  const Json& m = j["models"][0];
  ServeStatus s;
  s.running = m.value("running", 0);
  s.waiting = m.value("waiting", 0);
  s.slotCount = m.value("slots", 0);
  s.generatedTokens = m.value("generated_tokens", qint64(0));
  s.tokensPerSecond = m.value("tokens_per_second", 0.0);
  Q_EMIT status(s);
}

}  // namespace kanana::playground
