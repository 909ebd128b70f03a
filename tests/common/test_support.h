// Shared helpers for the Qt Test suites: where the build and source trees are, where
// setup.sh put the demo data, and how to skip a test whose optional data is absent.
#pragma once

#include <QDir>
#include <QProcess>
#include <QStringList>
#include <QProcessEnvironment>
#include <QString>
#include <QTemporaryDir>
#include <QtTest>

namespace kanana::test {

inline QString source_dir() { return qEnvironmentVariable("KANANA_SOURCE_DIR"); }
inline QString build_dir() { return qEnvironmentVariable("KANANA_BUILD_DIR"); }
inline QString bin_path(const QString& name) { return build_dir() + "/bin/" + name; }

// Cache folder filled by scripts/fetch-demo-data.sh ($KANANA_DATA_CACHE or ~/.cache/kanana-workbench).
inline QString data_cache() {
  const QString env = qEnvironmentVariable("KANANA_DATA_CACHE");
  if (!env.isEmpty()) return env;
  return QDir::homePath() + "/.cache/kanana-workbench";
}

// Result of running the built `kanana` CLI: exit code (-1 if it crashed or timed out).
struct CliRun {
  int code = -1;
  QString out, err;
};

inline CliRun run_kanana(const QStringList& args, int timeout_ms = 120000) {
  QProcess p;
  p.start(bin_path("kanana"), args);
  CliRun r;
  if (!p.waitForFinished(timeout_ms)) {
    p.kill();
    p.waitForFinished();
    return r;
  }
  r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
  r.out = QString::fromUtf8(p.readAllStandardOutput());
  r.err = QString::fromUtf8(p.readAllStandardError());
  return r;
}

}  // namespace kanana::test
