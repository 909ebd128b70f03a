// Shared helpers for the Qt Test suites: where the build and source trees are, where
// setup.sh put the demo data, and how to skip a test whose optional data is absent.
#pragma once

#include <QDir>
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

}  // namespace kanana::test
