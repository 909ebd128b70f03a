// See plugin_manager.h.
#include "plugin_manager.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QHash>
#include <QLibrary>
#include <QPluginLoader>
#include <QSettings>
#include <algorithm>
#include <exception>
#include <functional>

#include "iplugin.h"
#include "workbench_context.h"

namespace kanana::gui {

namespace {
constexpr const char* kDisabledKey = "plugins/disabled";
constexpr const char* kEnabledKey = "plugins/enabled";
const QString kLogSource = QStringLiteral("plugins");

// The mark of each spec during the depth-first walk of resolve().
enum class Mark { Unvisited, Visiting, Done };
}  // namespace

PluginManager::PluginManager(WorkbenchContext* context, QSettings* settings, QObject* parent)
    : QObject(parent), context_(context), settings_(settings) {}

PluginManager::~PluginManager() {
  unloadAll();
  qDeleteAll(specs_);
}

QString PluginManager::defaultPluginPath() {
  return QDir::cleanPath(QCoreApplication::applicationDirPath() + QStringLiteral("/../lib/kanana/plugins"));
}

QStringList PluginManager::environmentPluginPaths() {
  return qEnvironmentVariable("KANANA_PLUGIN_PATH").split(QDir::listSeparator(), Qt::SkipEmptyParts);
}

PluginSpec* PluginManager::plugin(const QString& id) const {
  for (PluginSpec* spec : specs_)
    if (spec->id == id) return spec;
  return nullptr;
}

QList<PluginSpec*> PluginManager::failedPlugins() const {
  QList<PluginSpec*> out;
  for (PluginSpec* spec : specs_)
    if (spec->hasError()) out.append(spec);
  return out;
}

void PluginManager::setState(PluginSpec* spec, PluginSpec::State state, const QString& error) {
  spec->state = state;
  spec->errorString = error;
  if (context_) {
    const QString who = spec->id.isEmpty() ? QFileInfo(spec->filePath).fileName() : spec->id;
    if (state == PluginSpec::State::Failed)
      context_->logError(kLogSource, tr("Plugin '%1' (%2) skipped: %3").arg(who, spec->filePath, error));
    else if (state == PluginSpec::State::Disabled)
      context_->logInfo(kLogSource, tr("Plugin '%1' not loaded: %2").arg(who, error));
    else if (state == PluginSpec::State::Running)
      context_->log(LogLevel::Debug, kLogSource, tr("Plugin '%1' %2 running").arg(who, spec->version));
  }
  Q_EMIT pluginStateChanged(spec->id);
}

// ---- stage 1: read metadata

void PluginManager::scan() {
  scanned_ = true;
  QStringList seen;
  for (const QString& path : pluginPaths_) {
    const QDir dir(path);
    if (!dir.exists()) {
      if (context_) context_->logWarning(kLogSource, tr("Plugin folder %1 does not exist").arg(path));
      continue;
    }
    for (const QFileInfo& file : dir.entryInfoList(QDir::Files, QDir::Name)) {
      const QString canonical = file.canonicalFilePath();
      if (!QLibrary::isLibrary(file.fileName()) || seen.contains(canonical)) continue;
      seen.append(canonical);
      addLibrary(file.absoluteFilePath());
    }
  }
}

void PluginManager::addLibrary(const QString& filePath) {
  auto* spec = new PluginSpec;
  spec->filePath = filePath;
  const QPluginLoader loader(filePath);  // reads the metadata section; does not dlopen
  const bool ok = spec->readMetaData(loader.metaData());
  const QString error = spec->errorString;
  if (spec->id.isEmpty()) spec->id = QFileInfo(filePath).completeBaseName();
  if (spec->name.isEmpty()) spec->name = spec->id;
  if (ok) {
    if (PluginSpec* other = plugin(spec->id)) {
      specs_.append(spec);
      setState(spec, PluginSpec::State::Failed,
               tr("duplicate plugin id '%1': %2 already provides it").arg(spec->id, other->filePath));
      return;
    }
    spec->enabled = true;
  }
  specs_.append(spec);
  if (ok) {
    spec->enabled = isEnabled(spec->id);
    Q_EMIT pluginStateChanged(spec->id);
  } else {
    setState(spec, PluginSpec::State::Failed, error);
  }
}

// ---- stage 2: resolve dependencies and order

void PluginManager::resolve() {
  resolved_ = true;
  queue_.clear();
  for (PluginSpec* spec : specs_) {
    if (spec->state != PluginSpec::State::Read) continue;
    spec->resolvedDependencies.clear();
    if (!spec->enabled) {
      setState(spec, PluginSpec::State::Disabled, tr("disabled in the plugin manager"));
      continue;
    }
    for (const PluginDependency& dep : spec->dependencies) {
      PluginSpec* provider = plugin(dep.id);
      const QString wanted = dep.version.isEmpty() ? dep.id : QStringLiteral("%1 %2").arg(dep.id, dep.version);
      if (!provider || provider->iid != QLatin1String(KANANA_IPLUGIN_IID)) {
        setState(spec, PluginSpec::State::Failed,
                 tr("missing dependency: requires plugin '%1', which is not installed").arg(wanted));
        break;
      }
      if (!provider->provides(dep.version)) {
        setState(spec, PluginSpec::State::Failed,
                 tr("incompatible dependency: requires '%1', but '%2' is version %3 (compatible down to %4)")
                     .arg(wanted, dep.id, provider->version, provider->compatVersion));
        break;
      }
      spec->resolvedDependencies.append(provider);
    }
  }
  QHash<PluginSpec*, Mark> marks;
  QList<PluginSpec*> stack;
  std::function<bool(PluginSpec*)> visit = [&](PluginSpec* spec) -> bool {
    const Mark mark = marks.value(spec, Mark::Unvisited);
    if (mark == Mark::Done) return spec->state == PluginSpec::State::Resolved;
    if (mark == Mark::Visiting) {
      // Every plugin on the stack from `spec` on is part of the cycle.
      QStringList ids;
      for (qsizetype i = stack.indexOf(spec); i < stack.size(); ++i) ids.append(stack[i]->id);
      ids.append(spec->id);
      const QString cycle = ids.join(QStringLiteral(" -> "));
      for (qsizetype i = stack.indexOf(spec); i < stack.size(); ++i)
        if (stack[i]->state == PluginSpec::State::Read)
          setState(stack[i], PluginSpec::State::Failed, tr("dependency cycle: %1").arg(cycle));
      return false;
    }
    if (spec->state != PluginSpec::State::Read) {
      marks[spec] = Mark::Done;
      return false;
    }
    marks[spec] = Mark::Visiting;
    stack.append(spec);
    for (PluginSpec* dep : spec->resolvedDependencies) {
      if (visit(dep)) continue;
      if (spec->state == PluginSpec::State::Read) {
        if (dep->state == PluginSpec::State::Disabled)
          setState(spec, PluginSpec::State::Disabled, tr("dependency '%1' is disabled").arg(dep->id));
        else
          setState(spec, PluginSpec::State::Failed,
                   tr("dependency '%1' cannot be loaded: %2").arg(dep->id, dep->errorString));
      }
      break;
    }
    stack.removeLast();
    marks[spec] = Mark::Done;
    if (spec->state != PluginSpec::State::Read) return false;
    setState(spec, PluginSpec::State::Resolved);
    queue_.append(spec);
    return true;
  };
  for (PluginSpec* spec : specs_) visit(spec);
}

// ---- stage 3: load, initialize, extensionsInitialized

PluginSpec* PluginManager::firstUnhealthyDependency(const PluginSpec* spec, PluginSpec::State needed) const {
  for (PluginSpec* dep : spec->resolvedDependencies) {
    if (dep->state == PluginSpec::State::Failed || dep->state == PluginSpec::State::Disabled ||
        int(dep->state) < int(needed))
      return dep;
  }
  return nullptr;
}

bool PluginManager::loadLibrary(PluginSpec* spec) {
  auto* loader = new QPluginLoader(spec->filePath, this);
  // Resolve every symbol now: an undefined function fails here with the linker's message
  // instead of aborting the whole app when it is first called.
  loader->setLoadHints(QLibrary::ResolveAllSymbolsHint);
  if (!loader->load()) {
    const QString why = loader->errorString();
    delete loader;
    setState(spec, PluginSpec::State::Failed, tr("cannot load the library: %1").arg(why));
    return false;
  }
  QObject* object = nullptr;
  try {
    object = loader->instance();  // runs the plugin class's constructor
  } catch (const std::exception& e) {
    setState(spec, PluginSpec::State::Failed, tr("the plugin's constructor threw: %1").arg(QString::fromUtf8(e.what())));
  } catch (...) {
    setState(spec, PluginSpec::State::Failed, tr("the plugin's constructor threw an exception of unknown type"));
  }
  if (spec->hasError()) {
    spec->loader = loader;  // keep it: unloading a library that threw mid-construction is not safe
    return false;
  }
  if (!object) {
    const QString why = loader->errorString();
    delete loader;
    setState(spec, PluginSpec::State::Failed, tr("the library created no plugin instance: %1").arg(why));
    return false;
  }
  auto* plugin = qobject_cast<IPlugin*>(object);
  spec->loader = loader;
  if (!plugin) {
    setState(spec, PluginSpec::State::Failed,
             tr("class %1 does not implement kanana::gui::IPlugin (missing Q_INTERFACES?)")
                 .arg(QString::fromLatin1(object->metaObject()->className())));
    return false;
  }
  plugin->context_ = context_;
  spec->plugin = plugin;
  setState(spec, PluginSpec::State::Loaded);
  return true;
}

bool PluginManager::initializePlugin(PluginSpec* spec) {
  QString error;
  bool ok = false;
  try {
    ok = spec->plugin->initialize(arguments_, &error);
  } catch (const std::exception& e) {
    setState(spec, PluginSpec::State::Failed,
             tr("initialize() threw an exception: %1").arg(QString::fromUtf8(e.what())));
    return false;
  } catch (...) {
    setState(spec, PluginSpec::State::Failed, tr("initialize() threw an exception of unknown type"));
    return false;
  }
  if (!ok) {
    setState(spec, PluginSpec::State::Failed,
             tr("initialize() failed: %1").arg(error.isEmpty() ? tr("no reason given") : error));
    return false;
  }
  initOrder_.append(spec->id);
  setState(spec, PluginSpec::State::Initialized);
  return true;
}

int PluginManager::loadPlugins() {
  if (!scanned_) scan();
  if (!resolved_) resolve();
  for (PluginSpec* spec : queue_) {
    if (PluginSpec* dep = firstUnhealthyDependency(spec, PluginSpec::State::Loaded)) {
      setState(spec, PluginSpec::State::Failed, tr("dependency '%1' failed to load").arg(dep->id));
      continue;
    }
    loadLibrary(spec);
  }
  for (PluginSpec* spec : queue_) {
    if (spec->state != PluginSpec::State::Loaded) continue;
    if (PluginSpec* dep = firstUnhealthyDependency(spec, PluginSpec::State::Initialized)) {
      setState(spec, PluginSpec::State::Failed, tr("dependency '%1' failed to initialize").arg(dep->id));
      continue;
    }
    initializePlugin(spec);
  }
  int running = 0;
  for (auto it = queue_.crbegin(); it != queue_.crend(); ++it) {
    PluginSpec* spec = *it;
    if (spec->state != PluginSpec::State::Initialized) continue;
    try {
      spec->plugin->extensionsInitialized();
      setState(spec, PluginSpec::State::Running);
      ++running;
    } catch (const std::exception& e) {
      setState(spec, PluginSpec::State::Failed,
               tr("extensionsInitialized() threw an exception: %1").arg(QString::fromUtf8(e.what())));
    } catch (...) {
      setState(spec, PluginSpec::State::Failed, tr("extensionsInitialized() threw an exception of unknown type"));
    }
  }
  if (context_) {
    const qsizetype failed = failedPlugins().size();
    context_->log(failed ? LogLevel::Warning : LogLevel::Info, kLogSource,
                  tr("%1 plugin(s) running, %2 failed, from %3")
                      .arg(running)
                      .arg(failed)
                      .arg(pluginPaths_.join(QStringLiteral(", "))));
  }
  return running;
}

QList<PageInfo> PluginManager::pages() {
  QList<PageInfo> out;
  for (PluginSpec* spec : queue_) {
    if (spec->state != PluginSpec::State::Running) continue;
    try {
      for (const PageInfo& page : spec->plugin->pages())
        if (page.create) out.append(page);
    } catch (const std::exception& e) {
      setState(spec, PluginSpec::State::Failed, tr("pages() threw an exception: %1").arg(QString::fromUtf8(e.what())));
    } catch (...) {
      setState(spec, PluginSpec::State::Failed, tr("pages() threw an exception of unknown type"));
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const PageInfo& a, const PageInfo& b) {
    return a.order != b.order ? a.order < b.order : a.title.localeAwareCompare(b.title) < 0;
  });
  return out;
}

// ---- stage 4: shutdown

void PluginManager::shutdown() {
  if (shutDown_) return;
  shutDown_ = true;
  for (auto it = queue_.crbegin(); it != queue_.crend(); ++it) {
    PluginSpec* spec = *it;
    if (!spec->isActive()) continue;
    try {
      spec->plugin->aboutToShutdown();
    } catch (const std::exception& e) {
      if (context_)
        context_->logError(kLogSource, tr("Plugin '%1': aboutToShutdown() threw: %2")
                                           .arg(spec->id, QString::fromUtf8(e.what())));
    } catch (...) {
      if (context_) context_->logError(kLogSource, tr("Plugin '%1': aboutToShutdown() threw").arg(spec->id));
    }
    spec->state = PluginSpec::State::Stopped;
  }
}

void PluginManager::unloadAll() {
  shutdown();
  // Delete the plugin objects, dependants first. The libraries stay mapped until the process
  // exits: meta types and static data they registered with Qt must stay valid.
  for (auto it = queue_.crbegin(); it != queue_.crend(); ++it) {
    PluginSpec* spec = *it;
    if (spec->loader && !spec->hasError()) delete spec->loader->instance();
    spec->plugin = nullptr;
  }
  for (PluginSpec* spec : specs_) {
    spec->plugin = nullptr;
    delete spec->loader;
    spec->loader = nullptr;
  }
}

// ---- enabled / disabled

bool PluginManager::isEnabled(const QString& id) const {
  const PluginSpec* spec = plugin(id);
  const bool byDefault = spec ? spec->enabledByDefault : true;
  if (!settings_) return spec ? spec->enabled : byDefault;
  if (settings_->value(QLatin1String(kDisabledKey)).toStringList().contains(id)) return false;
  if (settings_->value(QLatin1String(kEnabledKey)).toStringList().contains(id)) return true;
  return byDefault;
}

void PluginManager::setEnabled(const QString& id, bool enabled) {
  PluginSpec* spec = plugin(id);
  if (spec) spec->enabled = enabled;
  if (settings_) {
    QStringList disabled = settings_->value(QLatin1String(kDisabledKey)).toStringList();
    QStringList forced = settings_->value(QLatin1String(kEnabledKey)).toStringList();
    disabled.removeAll(id);
    forced.removeAll(id);
    const bool byDefault = spec ? spec->enabledByDefault : true;
    if (enabled != byDefault) (enabled ? forced : disabled).append(id);
    settings_->setValue(QLatin1String(kDisabledKey), disabled);
    settings_->setValue(QLatin1String(kEnabledKey), forced);
  }
  Q_EMIT pluginStateChanged(id);
}

}  // namespace kanana::gui
