// Finds, orders, loads and starts workbench plugins (after Qt Creator's extensionsystem).
// QtCore only: tests drive it with fixture plugins and a temporary QSettings file.
//
// Stages: scan() reads every library's metadata in the plugin folders without loading it
// (QPluginLoader::metaData) and checks the IID → resolve() applies the enabled/disabled
// settings, matches dependencies by id and version, detects cycles and computes the load
// queue (dependencies first) → loadPlugins() loads each library, qobject_casts it to
// IPlugin, calls initialize() in queue order and extensionsInitialized() in reverse order →
// shutdown() calls aboutToShutdown() in reverse order → unloadAll() deletes the instances.
// Every failure (bad metadata, wrong IID, missing/disabled dependency, cycle, library that
// does not load, initialize() returning false or throwing) marks that plugin Failed or
// Disabled with a reason, logs it through the WorkbenchContext, skips its dependants, and
// the rest carries on.
#pragma once

#include <QList>
#include <QObject>
#include <QStringList>

#include "page.h"
#include "plugin_spec.h"

class QSettings;

namespace kanana::gui {

class WorkbenchContext;

class PluginManager : public QObject {
  Q_OBJECT
 public:
  // Neither is owned; both must outlive the manager. `settings` may be null (nothing persists).
  PluginManager(WorkbenchContext* context, QSettings* settings, QObject* parent = nullptr);
  ~PluginManager() override;  // shuts down and unloads whatever is still loaded

  // <exe dir>/../lib/kanana/plugins (the build tree and installed layout agree).
  static QString defaultPluginPath();
  // Folders from $KANANA_PLUGIN_PATH (':'-separated), empty if unset.
  static QStringList environmentPluginPaths();

  void setPluginPaths(const QStringList& paths) { pluginPaths_ = paths; }
  QStringList pluginPaths() const { return pluginPaths_; }
  void setArguments(const QStringList& arguments) { arguments_ = arguments; }

  // Stage 1+2, also run by loadPlugins(); public so --list-plugins and tests can stop there.
  void scan();
  void resolve();
  // All stages up to Running. Returns the number of plugins now running.
  int loadPlugins();
  void shutdown();
  void unloadAll();

  QList<PluginSpec*> plugins() const { return specs_; }
  PluginSpec* plugin(const QString& id) const;
  // Dependencies before dependants; only plugins that resolved.
  QList<PluginSpec*> loadQueue() const { return queue_; }
  // Ids in the order initialize() was called (useful to check the ordering contract).
  QStringList initializationOrder() const { return initOrder_; }
  QList<PluginSpec*> failedPlugins() const;

  // Pages of every running plugin, sorted by order then title. Exceptions from pages() are
  // reported like any other plugin failure.
  QList<PageInfo> pages();

  // The user's choice, persisted under plugins/disabled and plugins/enabled; applies at the
  // next start (like Qt Creator, plugins are not loaded or unloaded while running).
  bool isEnabled(const QString& id) const;
  void setEnabled(const QString& id, bool enabled);

 Q_SIGNALS:
  void pluginStateChanged(const QString& id);

 private:
  void addLibrary(const QString& filePath);
  void setState(PluginSpec* spec, PluginSpec::State state, const QString& error = {});
  bool visit(PluginSpec* spec, QList<PluginSpec*>& stack);
  bool loadLibrary(PluginSpec* spec);
  bool initializePlugin(PluginSpec* spec);
  PluginSpec* firstUnhealthyDependency(const PluginSpec* spec, PluginSpec::State needed) const;

  WorkbenchContext* context_;
  QSettings* settings_;
  QStringList pluginPaths_;
  QStringList arguments_;
  QList<PluginSpec*> specs_;  // owned; scan order (folder, then file name)
  QList<PluginSpec*> queue_;
  QStringList initOrder_;
  bool scanned_ = false;
  bool resolved_ = false;
  bool shutDown_ = false;
};

}  // namespace kanana::gui
