// Where the workbench finds the `kanana` CLI it launches and the resources that ship with it,
// for every plugin alike (build tree, a build folder anywhere, an installed package).
#pragma once

#include <QCoreApplication>
#include <QFileInfo>
#include <QString>

#include "base/install_paths.h"

namespace kanana::gui {

// The `kanana` executable: beside the workbench (bin/ of a build or of an installed package),
// else $KANANA_BINARY, else "kanana" from PATH.
inline QString kananaBinary() {
  if (QCoreApplication::instance()) {
    const QString dir = QCoreApplication::applicationDirPath();
    for (const QString& c : {dir + QStringLiteral("/kanana"), dir + QStringLiteral("/../bin/kanana")})
      if (QFileInfo(c).isExecutable()) return QFileInfo(c).canonicalFilePath();
  }
  if (qEnvironmentVariableIsSet("KANANA_BINARY")) return qEnvironmentVariable("KANANA_BINARY");
  return QStringLiteral("kanana");
}

// A shipped resource (relative to the source tree's resources/, e.g. "recipes/train"), found
// by kanana::find_resource; empty when there is none.
inline QString resourcePath(const QString& rel) {
  const auto found = kanana::find_resource(rel.toStdString());
  return found ? QString::fromStdString(found->string()) : QString();
}

}  // namespace kanana::gui
