// What the workbench gives every plugin: the current workspace, logging, settings, the job
// service (launching and following `kanana` runs; one per workbench), and an object pool where plugins publish typed services for each other (Qt Creator's
// PluginManager::addObject/getObject). A plugin finds another plugin's service through an
// interface declared in gui/sdk (`context()->getObject<IAnnotationSink>()`), never by
// including the other plugin.
//
// Threading: the context lives on the GUI thread. log() may be called from any thread.
// The Workspace handle holds one SQLite connection and must be used from the GUI thread;
// background jobs open their own connection with store::Workspace::open(workspacePath()).
#pragma once

#include <QList>
#include <QObject>
#include <QReadWriteLock>
#include <QString>
#include <memory>

#include "log_entry.h"

class QSettings;

namespace kanana::store {
class Workspace;
}

namespace kanana::gui {

// QSettings keys shared by the app and plugins.
namespace settings_keys {
inline constexpr const char* kDataCache = "general/dataCache";        // demo data, fetched files
inline constexpr const char* kTorchThreads = "general/torchThreads";  // 0: one per core
inline constexpr const char* kTheme = "general/theme";                // "light" | "dark" | "system"
inline constexpr const char* kPluginPath = "plugins/path";            // extra plugin folder
inline constexpr const char* kRecentWorkspaces = "workspace/recent";
inline constexpr const char* kLastWorkspace = "workspace/last";
}  // namespace settings_keys

class JobService;

class WorkbenchContext : public QObject {
  Q_OBJECT
 public:
  // `settings` is not owned and must outlive the context.
  explicit WorkbenchContext(QSettings* settings, QObject* parent = nullptr);
  ~WorkbenchContext() override;

  // ---- workspace
  QString workspacePath() const { return workspacePath_; }
  // Where a file dialog starts: `sub` inside the workspace when that folder exists, else the
  // workspace, else the home folder — never the process's current folder (often the repository).
  QString dialogDir(const QString& sub = QString()) const;
  QString workspaceName() const;
  // Shared so a page can keep using the workspace it was showing while a switch is in flight.
  std::shared_ptr<store::Workspace> workspace() const { return workspace_; }
  // Open an existing workspace folder. On failure the current workspace stays and *error
  // says why (the store's message, naming the file).
  bool openWorkspace(const QString& dir, QString* error);
  // Make `dir` a new workspace (created if missing) and switch to it.
  bool createWorkspace(const QString& dir, const QString& name, QString* error);
  // Switch to an already opened workspace (e.g. the demo workspace made at start-up).
  void setWorkspace(std::shared_ptr<store::Workspace> workspace);
  void closeWorkspace();
  // Most recently used first; the current one is added on every switch (at most 10).
  QStringList recentWorkspaces() const;

  // ---- jobs (GUI thread): the one service every page launches and follows runs through.
  // Made on first use; it follows this context's workspace from then on.
  JobService* jobService();

  // ---- logging (any thread)
  void log(LogLevel level, const QString& source, const QString& message);
  void logInfo(const QString& source, const QString& m) { log(LogLevel::Info, source, m); }
  void logWarning(const QString& source, const QString& m) { log(LogLevel::Warning, source, m); }
  void logError(const QString& source, const QString& m) { log(LogLevel::Error, source, m); }

  // ---- settings
  QSettings* settings() const { return settings_; }
  QString dataCachePath() const;  // settings, else $KANANA_DATA_CACHE, else ~/.cache/kanana-workbench
  int torchThreads() const;       // settings; 0 means one per core

  // ---- object pool (GUI thread). The context does not own the objects; a plugin removes
  // what it added in aboutToShutdown() or its destructor.
  void addObject(QObject* object);
  void removeObject(QObject* object);
  QList<QObject*> allObjects() const;
  template <typename T>
  T* getObject() const {
    for (QObject* o : allObjects())
      if (T* t = qobject_cast<T*>(o)) return t;
    return nullptr;
  }
  template <typename T>
  QList<T*> getObjects() const {
    QList<T*> out;
    for (QObject* o : allObjects())
      if (T* t = qobject_cast<T*>(o)) out.append(t);
    return out;
  }

 Q_SIGNALS:
  // Emitted after the current workspace changed; path is empty when it was closed.
  void workspaceChanged(const QString& path);
  // Emitted on the context's thread for every log() call.
  void logged(const kanana::gui::LogEntry& entry);
  void objectAdded(QObject* object);
  void aboutToRemoveObject(QObject* object);

 private:
  void switchTo(std::shared_ptr<store::Workspace> workspace);

  QSettings* settings_;
  std::shared_ptr<store::Workspace> workspace_;
  QString workspacePath_;
  JobService* jobService_ = nullptr;  // a child, made on first use
  mutable QReadWriteLock objectsLock_;  // guards objects_ (reads may come from workers)
  QList<QObject*> objects_;
};

}  // namespace kanana::gui
