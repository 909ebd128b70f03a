// What the plugin manager knows about one plugin library: the metadata read from the
// library without loading it (Q_PLUGIN_METADATA's JSON), its state in the staged start-up,
// and why it failed or was skipped. QtCore only.
//
// Metadata JSON (the FILE of Q_PLUGIN_METADATA):
//   {"id": "workspace", "name": "Workspace", "version": "0.1.0", "compatVersion": "0.1.0",
//    "category": "Core", "vendor": "Kanana", "description": "...",
//    "enabledByDefault": true, "dependencies": [{"id": "jobs", "version": "0.1.0"}]}
#pragma once

#include <QJsonObject>
#include <QList>
#include <QString>

class QPluginLoader;

namespace kanana::gui {

class IPlugin;

struct PluginDependency {
  QString id;
  QString version;  // the lowest version that works; empty: any
};

class PluginSpec {
 public:
  // Order matters: a state "at least Loaded" compares >= Loaded (Failed/Disabled are apart).
  enum class State { Invalid, Read, Resolved, Loaded, Initialized, Running, Stopped, Failed, Disabled };

  QString id;
  QString name;
  QString version;
  QString compatVersion;  // oldest version this one can stand in for (defaults to version)
  QString vendor;
  QString category;
  QString description;
  bool enabledByDefault = true;
  QList<PluginDependency> dependencies;
  QString filePath;
  QString iid;  // the interface id the library was built for

  State state = State::Invalid;
  QString errorString;  // why it failed / why it is disabled; empty otherwise
  bool enabled = true;  // the user's choice (settings) or enabledByDefault

  // Set after resolve(): the specs this one depends on, in metadata order.
  QList<PluginSpec*> resolvedDependencies;
  IPlugin* plugin = nullptr;        // valid from Loaded on
  QPluginLoader* loader = nullptr;  // owned by the plugin manager

  bool hasError() const { return state == State::Failed; }
  bool isActive() const { return state == State::Running || state == State::Initialized; }
  // Whether this plugin satisfies a dependency on `requiredVersion`
  // (compatVersion <= requiredVersion <= version).
  bool provides(const QString& requiredVersion) const;

  // Fill the fields from QPluginLoader::metaData(); false + errorString on bad metadata.
  bool readMetaData(const QJsonObject& pluginMetaData);

  static QString stateName(State state);  // "Read", "Resolved", ..., "Failed", "Disabled"
  // Dotted numeric versions ("1", "0.1", "2.3.10"); missing parts count as 0.
  static bool isValidVersion(const QString& version);
  static int compareVersions(const QString& a, const QString& b);  // <0, 0, >0
};

}  // namespace kanana::gui
