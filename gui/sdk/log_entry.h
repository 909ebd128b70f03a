// One line of the workbench log: what plugins, the plugin manager and the core report.
#pragma once

#include <QDateTime>
#include <QMetaType>
#include <QString>

namespace kanana::gui {

enum class LogLevel { Debug = 0, Info, Warning, Error };

QString logLevelName(LogLevel level);  // "debug", "info", "warning", "error"

struct LogEntry {
  QDateTime time;
  LogLevel level = LogLevel::Info;
  QString source;   // "plugins", "workspace", "core", a plugin id
  QString message;
};

}  // namespace kanana::gui

Q_DECLARE_METATYPE(kanana::gui::LogEntry)
