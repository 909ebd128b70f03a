// The interface every workbench plugin implements, and the IID it is loaded under.
// A plugin is a thin QObject that also derives from IPlugin, declares
//   Q_PLUGIN_METADATA(IID KANANA_IPLUGIN_IID FILE "myplugin.json")
//   Q_INTERFACES(kanana::gui::IPlugin)
// and keeps its work in private objects. Start-up runs in stages (as in Qt Creator):
// initialize() in dependency order, extensionsInitialized() in reverse order once every
// plugin initialized, aboutToShutdown() in reverse order at exit. No exception may cross
// this boundary on purpose; the plugin manager still catches and reports any that do.
#pragma once

#include <QList>
#include <QString>
#include <QStringList>
#include <QtPlugin>

#include "page.h"

// Bump the trailing number when IPlugin's vtable changes: plugins built against another
// version are then reported and skipped before their library is loaded.
#define KANANA_IPLUGIN_IID_PREFIX "org.kanana.workbench.IPlugin/"
#define KANANA_IPLUGIN_IID KANANA_IPLUGIN_IID_PREFIX "1"

namespace kanana::gui {

class PluginManager;
class WorkbenchContext;

class IPlugin {
 public:
  virtual ~IPlugin() = default;

  // Set up the plugin: register services with context()->addObject(), read settings.
  // Return false and fill *errorString to be reported and skipped (dependants skip too).
  virtual bool initialize(const QStringList& arguments, QString* errorString) = 0;
  // Every plugin this one depends on has initialized; look up their services here.
  virtual void extensionsInitialized() {}
  // The app is about to quit: stop work, save state. Widgets still exist at this point.
  virtual void aboutToShutdown() {}

  // Pages the main window shows as tabs. Called once after extensionsInitialized().
  virtual QList<PageInfo> pages() { return {}; }

  // The context of the workbench this plugin runs in; valid from initialize() on.
  WorkbenchContext* context() const { return context_; }

 private:
  friend class PluginManager;
  WorkbenchContext* context_ = nullptr;
};

}  // namespace kanana::gui

Q_DECLARE_INTERFACE(kanana::gui::IPlugin, KANANA_IPLUGIN_IID)
