// The workbench's main window: plugin pages as tabs, the log console dock, the workspace
// switcher tool bar, menus with the keyboard shortcuts, and window state kept in QSettings.
#pragma once

#include <QList>
#include <QMainWindow>

#include "sdk/page.h"

class QDockWidget;
class QLabel;
class QTabWidget;
class QToolButton;

namespace kanana::gui {
class LogModel;
class PluginManager;
class WorkbenchContext;
}  // namespace kanana::gui

namespace kanana::app {

class LogConsole;
class WorkspaceSwitcher;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  // None is owned; all outlive the window.
  MainWindow(gui::WorkbenchContext* context, gui::PluginManager* plugins, gui::LogModel* log,
             QWidget* parent = nullptr);
  ~MainWindow() override;

  // Create each page's widget (in the given order) as a tab; a page whose factory throws or
  // returns null is logged and left out. Also binds Ctrl+1..9 to the first nine tabs.
  void addPages(const QList<gui::PageInfo>& pages);
  // Geometry and dock layout from the settings, moved back on screen if the screen it was
  // saved on is gone; a sensible default size otherwise.
  void restoreWindowState();
  void saveWindowState();
  // After start-up: if any plugin failed, show the log console and say so in the status bar.
  void reportPluginFailures();
  // Render the window (without decorations) to a PNG.
  bool saveScreenshot(const QString& file, QString* error);
  // Show the page whose id or tab title (case-insensitive) is `page`; false when there is none.
  bool showPage(const QString& page);

  QTabWidget* pageTabs() const { return tabs_; }
  QStringList pageIds() const { return pageIds_; }
  LogConsole* logConsole() const { return console_; }
  QDockWidget* logDock() const { return logDock_; }
  WorkspaceSwitcher* workspaceSwitcher() const { return switcher_; }

 public Q_SLOTS:
  void showPluginManager();
  void showSettings();
  void showAbout();

 protected:
  void closeEvent(QCloseEvent* event) override;

 private:
  void createMenus();
  void updateWorkspaceStatus();
  void updatePluginStatus();

  gui::WorkbenchContext* context_;
  gui::PluginManager* plugins_;
  gui::LogModel* log_;
  QTabWidget* tabs_;
  QWidget* emptyPage_ = nullptr;
  QStringList pageIds_;
  QMenu* viewMenu_ = nullptr;
  QList<QAction*> pageActions_;
  LogConsole* console_;
  QDockWidget* logDock_;
  WorkspaceSwitcher* switcher_;
  QLabel* workspaceLabel_;
  QToolButton* pluginStatus_;
};

}  // namespace kanana::app
