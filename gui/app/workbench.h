// The application object graph and its start-up sequence, shared by main() and the tests:
// settings → context + log model (the core's log forwarded in) → workspace (--workspace,
// else the last one, else the demo workspace made from the data cache) → plugins (scan,
// resolve, load, initialize, extensionsInitialized) → main window with the plugins' pages.
// Nothing in here exits the process; failures are logged and start-up goes on.
// Preparing the demo workspace scans the data cache (hashing tokenizer files takes seconds),
// so it runs on a worker thread: the window appears at once and every page follows the
// context's workspaceChanged when it is ready; startupFinished() is emitted then.
#pragma once

#include <QFutureWatcher>
#include <QObject>
#include <QString>
#include <memory>

#include "app_options.h"

class QSettings;

namespace kanana::gui {
class LogModel;
class PluginManager;
class WorkbenchContext;
}  // namespace kanana::gui

namespace kanana::app {

class MainWindow;

class Workbench : public QObject {
  Q_OBJECT
 public:
  explicit Workbench(AppOptions options, QObject* parent = nullptr);
  // Shuts the plugins down (aboutToShutdown), deletes the window, then the plugin objects.
  ~Workbench() override;

  // Everything up to loaded plugins, without any widget (used by --list-plugins too).
  void startCore();
  // startCore() if not done, then the main window with pages and restored state (not shown).
  MainWindow* createMainWindow();
  // The plugin table --list-plugins prints.
  QString pluginTable() const;

  QSettings* settings() const { return settings_.get(); }
  gui::WorkbenchContext* context() const { return context_.get(); }
  gui::LogModel* logModel() const { return log_.get(); }
  gui::PluginManager* pluginManager() const { return plugins_.get(); }
  MainWindow* mainWindow() const { return window_.get(); }
  QStringList pluginPaths() const;
  // Whether the demo workspace is still being prepared in the background.
  bool startupPending() const { return demoPending_; }

 Q_SIGNALS:
  // The background part of start-up (the demo workspace) is done, successfully or not.
  void startupFinished();

 private:
  struct DemoResult {
    QString path;   // the demo workspace folder, empty on failure
    QString error;  // the store's message on failure
    QStringList added, skipped;
    bool created = false;
  };
  void openStartupWorkspace();
  void prepareDemoWorkspace();
  void openDemoWorkspace(const DemoResult& result);

  AppOptions options_;
  std::unique_ptr<QSettings> settings_;
  std::unique_ptr<gui::LogModel> log_;
  std::unique_ptr<gui::WorkbenchContext> context_;
  std::unique_ptr<gui::PluginManager> plugins_;
  std::unique_ptr<MainWindow> window_;
  std::unique_ptr<QFutureWatcher<DemoResult>> demoWatcher_;
  bool coreStarted_ = false;
  bool demoPending_ = false;  // until the demo result was handled on the GUI thread
};

}  // namespace kanana::app
