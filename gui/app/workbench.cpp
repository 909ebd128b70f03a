// See workbench.h.
#include "workbench.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QSettings>
#include <QtConcurrent/QtConcurrentRun>

#include "base/log.h"
#include "main_window.h"
#include "sdk/log_model.h"
#include "sdk/plugin_manager.h"
#include "sdk/workbench_context.h"
#include "store/demo_workspace.h"

namespace kanana::app {

namespace keys = gui::settings_keys;

namespace {
const QString kSource = QStringLiteral("workbench");

gui::LogLevel fromCoreLevel(log::Level level) {
  switch (level) {
    case log::Level::kDebug: return gui::LogLevel::Debug;
    case log::Level::kInfo: return gui::LogLevel::Info;
    case log::Level::kWarning: return gui::LogLevel::Warning;
    case log::Level::kError: return gui::LogLevel::Error;
  }
  return gui::LogLevel::Info;
}
}  // namespace

Workbench::Workbench(AppOptions options, QObject* parent) : QObject(parent), options_(std::move(options)) {
  settings_ = options_.settingsFile.isEmpty()
                  ? std::make_unique<QSettings>()
                  : std::make_unique<QSettings>(options_.settingsFile, QSettings::IniFormat);
  log_ = std::make_unique<gui::LogModel>();
  context_ = std::make_unique<gui::WorkbenchContext>(settings_.get());
  connect(context_.get(), &gui::WorkbenchContext::logged, log_.get(), &gui::LogModel::append);
  plugins_ = std::make_unique<gui::PluginManager>(context_.get(), settings_.get());
  // The core logs from any thread; WorkbenchContext::log marshals to the GUI thread.
  gui::WorkbenchContext* context = context_.get();
  log::set_sink([context](log::Level level, const std::string& message) {
    context->log(fromCoreLevel(level), QStringLiteral("core"), QString::fromStdString(message));
  });
}

Workbench::~Workbench() {
  if (demoWatcher_) {
    demoWatcher_->disconnect(this);
    demoWatcher_->waitForFinished();
  }
  log::set_sink(nullptr);
  plugins_->shutdown();  // plugins still see their widgets in aboutToShutdown()
  window_.reset();       // page widgets (plugin code) go before the plugin objects
  plugins_->unloadAll();
  plugins_.reset();
  context_->closeWorkspace();
  settings_->sync();
}

QStringList Workbench::pluginPaths() const {
  if (!options_.pluginPaths.isEmpty()) return options_.pluginPaths;
  const QStringList fromEnv = gui::PluginManager::environmentPluginPaths();
  if (!fromEnv.isEmpty()) return fromEnv;
  QStringList paths{gui::PluginManager::defaultPluginPath()};
  const QString extra = settings_->value(keys::kPluginPath).toString().trimmed();
  if (!extra.isEmpty()) paths.append(extra);
  return paths;
}

void Workbench::startCore() {
  if (coreStarted_) return;
  coreStarted_ = true;
  context_->logInfo(kSource, tr("Kanana Workbench %1 starting").arg(QCoreApplication::applicationVersion()));
  if (!options_.listPlugins) openStartupWorkspace();  // listing needs no workspace (and makes none)
  plugins_->setPluginPaths(pluginPaths());
  plugins_->setArguments(options_.pluginArguments);
  plugins_->loadPlugins();
}

void Workbench::openStartupWorkspace() {
  if (!options_.workspace.isEmpty()) {
    const QString dir = QDir(options_.workspace).absolutePath();
    QString error;
    const bool ok = QFileInfo::exists(dir + QStringLiteral("/workspace.json")) ||
                            QFileInfo::exists(dir + QStringLiteral("/workspace.db"))
                        ? context_->openWorkspace(dir, &error)
                        : context_->createWorkspace(dir, QFileInfo(dir).fileName(), &error);
    if (ok) return;
    context_->logError(kSource, tr("Cannot open the workspace given with --workspace: %1").arg(error));
    return;  // the user asked for this one: do not silently show another
  }
  const QString last = settings_->value(keys::kLastWorkspace).toString();
  if (!options_.demo && !last.isEmpty()) {
    QString error;
    if (context_->openWorkspace(last, &error)) return;
    context_->logWarning(kSource, tr("Cannot reopen the last workspace %1: %2; opening the demo workspace").arg(last, error));
  }
  prepareDemoWorkspace();
}

void Workbench::prepareDemoWorkspace() {
  const std::filesystem::path dir = store::default_demo_workspace_dir();
  const std::filesystem::path cache = context_->dataCachePath().toStdString();
  context_->logInfo(kSource, tr("Preparing the demo workspace in %1 from the data cache %2")
                                 .arg(QString::fromStdString(dir.string()), context_->dataCachePath()));
  demoWatcher_ = std::make_unique<QFutureWatcher<DemoResult>>();
  demoPending_ = true;
  connect(demoWatcher_.get(), &QFutureWatcherBase::finished, this, [this] {
    demoPending_ = false;
    openDemoWorkspace(demoWatcher_->result());
    Q_EMIT startupFinished();
  });
  // The worker uses its own database connection (inside ensure_demo_workspace) and only
  // plain values cross back to the GUI thread.
  demoWatcher_->setFuture(QtConcurrent::run([dir, cache] {
    DemoResult result;
    store::DemoScan scan;
    auto made = store::ensure_demo_workspace(dir, cache, &scan);
    if (!made.is_ok()) {
      result.error = QString::fromStdString(made.status().to_string());
      return result;
    }
    result.path = QString::fromStdString(made->string());
    result.created = scan.created;
    for (const std::string& a : scan.added) result.added.append(QString::fromStdString(a));
    for (const std::string& s : scan.skipped) result.skipped.append(QString::fromStdString(s));
    return result;
  }));
}

void Workbench::openDemoWorkspace(const DemoResult& result) {
  if (result.path.isEmpty()) {
    context_->logError(kSource, tr("Cannot create the demo workspace: %1").arg(result.error));
    return;
  }
  if (result.created) context_->logInfo(kSource, tr("Created the demo workspace in %1").arg(result.path));
  for (const QString& added : result.added) context_->logInfo(kSource, tr("Demo workspace: registered %1").arg(added));
  for (const QString& skipped : result.skipped) context_->logWarning(kSource, tr("Demo workspace: skipped %1").arg(skipped));
  if (result.created && result.added.isEmpty())
    context_->logWarning(kSource, tr("The data cache %1 has no demo data yet; run scripts/fetch-demo-data.sh to fill it")
                                      .arg(context_->dataCachePath()));
  if (!context_->workspacePath().isEmpty()) return;  // the user opened another one meanwhile
  QString error;
  if (!context_->openWorkspace(result.path, &error))
    context_->logError(kSource, tr("Cannot open the demo workspace: %1").arg(error));
}

MainWindow* Workbench::createMainWindow() {
  startCore();
  if (window_) return window_.get();
  window_ = std::make_unique<MainWindow>(context_.get(), plugins_.get(), log_.get());
  window_->addPages(plugins_->pages());
  window_->restoreWindowState();
  window_->reportPluginFailures();
  return window_.get();
}

QString Workbench::pluginTable() const {
  QString out;
  for (const gui::PluginSpec* s : plugins_->plugins()) {
    out += QStringLiteral("%1\t%2\t%3\t%4\t%5\n")
               .arg(s->id, s->version.isEmpty() ? QStringLiteral("-") : s->version,
                    gui::PluginSpec::stateName(s->state), s->filePath, s->errorString);
  }
  return out;
}

}  // namespace kanana::app
