// See main_window.h.
#include "main_window.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QGuiApplication>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QScreen>
#include <QSettings>
#include <QStatusBar>
#include <QStyle>
#include <QTabWidget>
#include <QToolBar>
#include <QToolButton>
#include <QVBoxLayout>
#include <exception>

#include "log_console.h"
#include "plugin_manager_dialog.h"
#include "sdk/log_model.h"
#include "sdk/plugin_manager.h"
#include "sdk/workbench_context.h"
#include "settings_dialog.h"
#include "theme.h"
#include "workspace_switcher.h"

namespace kanana::app {

namespace {
constexpr const char* kGeometryKey = "window/geometry";
constexpr const char* kStateKey = "window/state";
constexpr const char* kPageKey = "window/currentPage";
constexpr int kStateVersion = 1;  // bump when docks/tool bars change so old layouts are ignored
}  // namespace

MainWindow::MainWindow(gui::WorkbenchContext* context, gui::PluginManager* plugins, gui::LogModel* log,
                       QWidget* parent)
    : QMainWindow(parent), context_(context), plugins_(plugins), log_(log), tabs_(new QTabWidget(this)) {
  setObjectName(QStringLiteral("MainWindow"));
  setWindowIcon(QIcon(QStringLiteral(":/kanana/icons/kanana.svg")));
  setDockOptions(QMainWindow::AnimatedDocks | QMainWindow::AllowTabbedDocks);

  tabs_->setObjectName(QStringLiteral("pageTabs"));
  tabs_->setDocumentMode(true);
  tabs_->setIconSize(QSize(16, 16));
  emptyPage_ = new QLabel(tr("<h3>No plugin pages</h3><p>No plugin with a page is running. "
                             "Open <b>Tools ▸ Plugins…</b> (Ctrl+Shift+P) to see why.</p>"),
                          tabs_);
  static_cast<QLabel*>(emptyPage_)->setAlignment(Qt::AlignCenter);
  tabs_->addTab(emptyPage_, tr("Welcome"));
  setCentralWidget(tabs_);

  console_ = new LogConsole(log_, this);
  logDock_ = new QDockWidget(tr("Log"), this);
  logDock_->setObjectName(QStringLiteral("logDock"));
  logDock_->setWidget(console_);
  logDock_->setAllowedAreas(Qt::BottomDockWidgetArea | Qt::RightDockWidgetArea | Qt::LeftDockWidgetArea);
  addDockWidget(Qt::BottomDockWidgetArea, logDock_);

  auto* toolbar = addToolBar(tr("Workspace"));
  toolbar->setObjectName(QStringLiteral("workspaceToolBar"));
  toolbar->setMovable(false);
  switcher_ = new WorkspaceSwitcher(context_, toolbar);
  toolbar->addWidget(switcher_);

  workspaceLabel_ = new QLabel(this);
  workspaceLabel_->setObjectName(QStringLiteral("workspaceStatus"));
  workspaceLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  statusBar()->addWidget(workspaceLabel_, 1);
  pluginStatus_ = new QToolButton(this);
  pluginStatus_->setAutoRaise(true);
  pluginStatus_->setObjectName(QStringLiteral("pluginStatus"));
  connect(pluginStatus_, &QToolButton::clicked, this, &MainWindow::showPluginManager);
  statusBar()->addPermanentWidget(pluginStatus_);

  createMenus();
  connect(context_, &gui::WorkbenchContext::workspaceChanged, this, &MainWindow::updateWorkspaceStatus);
  connect(plugins_, &gui::PluginManager::pluginStateChanged, this, &MainWindow::updatePluginStatus);
  updateWorkspaceStatus();
  updatePluginStatus();
}

MainWindow::~MainWindow() = default;

void MainWindow::createMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  QAction* open = file->addAction(tr("&Open Workspace…"), switcher_, &WorkspaceSwitcher::openWorkspaceDialog);
  open->setShortcut(QKeySequence::Open);
  QAction* create = file->addAction(tr("&New Workspace…"), switcher_, &WorkspaceSwitcher::newWorkspaceDialog);
  create->setShortcut(QKeySequence(QStringLiteral("Ctrl+Shift+N")));
  file->addSeparator();
  QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
  quit->setShortcut(QKeySequence(QStringLiteral("Ctrl+Q")));
  quit->setMenuRole(QAction::QuitRole);

  QMenu* edit = menuBar()->addMenu(tr("&Edit"));
  QAction* settings = edit->addAction(tr("&Settings…"), this, &MainWindow::showSettings);
  settings->setShortcut(QKeySequence(QStringLiteral("Ctrl+,")));
  settings->setMenuRole(QAction::PreferencesRole);

  viewMenu_ = menuBar()->addMenu(tr("&View"));
  QAction* toggleLog = logDock_->toggleViewAction();
  toggleLog->setText(tr("&Log Console"));
  toggleLog->setShortcut(QKeySequence(QStringLiteral("Ctrl+Shift+L")));
  viewMenu_->addAction(toggleLog);
  viewMenu_->addSeparator();

  QMenu* tools = menuBar()->addMenu(tr("&Tools"));
  QAction* pluginsAction = tools->addAction(tr("&Plugins…"), this, &MainWindow::showPluginManager);
  pluginsAction->setShortcut(QKeySequence(QStringLiteral("Ctrl+Shift+P")));

  QMenu* help = menuBar()->addMenu(tr("&Help"));
  QAction* about = help->addAction(tr("&About Kanana Workbench"), this, &MainWindow::showAbout);
  about->setShortcut(QKeySequence(Qt::Key_F1));
  about->setMenuRole(QAction::AboutRole);
  help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);
}

void MainWindow::addPages(const QList<gui::PageInfo>& pages) {
  for (const gui::PageInfo& page : pages) {
    QWidget* widget = nullptr;
    try {
      widget = page.create(tabs_);
    } catch (const std::exception& e) {
      context_->logError(QStringLiteral("plugins"),
                         tr("Page '%1' could not be created: %2").arg(page.title, QString::fromUtf8(e.what())));
      continue;
    } catch (...) {
      context_->logError(QStringLiteral("plugins"), tr("Page '%1' could not be created").arg(page.title));
      continue;
    }
    if (!widget) {
      context_->logError(QStringLiteral("plugins"), tr("Page '%1' returned no widget").arg(page.title));
      continue;
    }
    if (emptyPage_) {
      tabs_->removeTab(tabs_->indexOf(emptyPage_));
      delete emptyPage_;
      emptyPage_ = nullptr;
    }
    widget->setObjectName(page.id);
    const int index = tabs_->addTab(widget, page.icon, page.title);
    tabs_->setTabToolTip(index, page.toolTip);
    pageIds_.append(page.id);
  }
  qDeleteAll(pageActions_);
  pageActions_.clear();
  for (int i = 0; i < qMin(9, int(pageIds_.size())); ++i) {
    QAction* action = viewMenu_->addAction(tabs_->tabText(i));
    action->setShortcut(QKeySequence(QStringLiteral("Ctrl+%1").arg(i + 1)));
    connect(action, &QAction::triggered, tabs_, [this, i] { tabs_->setCurrentIndex(i); });
    addAction(action);  // shortcuts work even when the menu bar is hidden
    pageActions_.append(action);
  }
}

void MainWindow::restoreWindowState() {
  QSettings* settings = context_->settings();
  const QRect available = screen() ? screen()->availableGeometry() : QRect(0, 0, 1440, 900);
  const bool restored = settings && restoreGeometry(settings->value(kGeometryKey).toByteArray());
  if (settings) restoreState(settings->value(kStateKey).toByteArray(), kStateVersion);
  // Off-screen guard: the saved position may belong to a monitor that is no longer there.
  bool visible = false;
  for (QScreen* s : QGuiApplication::screens())
    if (s->availableGeometry().intersected(frameGeometry()).width() >= 120) visible = true;
  if (!restored || !visible) {
    const QSize size(qMin(1360, available.width() * 9 / 10), qMin(860, available.height() * 9 / 10));
    resize(size);
    move(available.center() - QPoint(size.width() / 2, size.height() / 2));
    resizeDocks({logDock_}, {size.height() / 4}, Qt::Vertical);
  }
  const QString page = settings ? settings->value(kPageKey).toString() : QString();
  if (const int index = int(pageIds_.indexOf(page)); index >= 0) tabs_->setCurrentIndex(index);
}

bool MainWindow::showPage(const QString& page) {
  for (int i = 0; i < tabs_->count(); ++i) {
    const bool idMatches = i < pageIds_.size() && pageIds_.at(i).compare(page, Qt::CaseInsensitive) == 0;
    if (idMatches || tabs_->tabText(i).remove(QLatin1Char('&')).compare(page, Qt::CaseInsensitive) == 0) {
      tabs_->setCurrentIndex(i);
      return true;
    }
  }
  return false;
}

void MainWindow::saveWindowState() {
  QSettings* settings = context_->settings();
  if (!settings) return;
  settings->setValue(kGeometryKey, saveGeometry());
  settings->setValue(kStateKey, saveState(kStateVersion));
  const int index = tabs_->currentIndex();
  if (index >= 0 && index < pageIds_.size()) settings->setValue(kPageKey, pageIds_.at(index));
}

void MainWindow::reportPluginFailures() {
  const qsizetype failed = plugins_->failedPlugins().size();
  if (failed == 0) return;
  logDock_->show();
  console_->filterModel()->setMinimumLevel(gui::LogLevel::Info);
  statusBar()->showMessage(failed == 1 ? tr("1 plugin failed to load: see the log or Tools ▸ Plugins…")
                                       : tr("%1 plugins failed to load: see the log or Tools ▸ Plugins…").arg(failed),
                           15000);
}

bool MainWindow::saveScreenshot(const QString& file, QString* error) {
  const QPixmap pixmap = grab();
  if (pixmap.isNull() || !pixmap.save(file, "PNG")) {
    if (error) *error = tr("cannot write the screenshot to %1").arg(file);
    return false;
  }
  return true;
}

void MainWindow::closeEvent(QCloseEvent* event) {
  saveWindowState();
  QMainWindow::closeEvent(event);
}

void MainWindow::showPluginManager() {
  PluginManagerDialog dialog(plugins_, this);
  dialog.exec();
}

void MainWindow::showSettings() {
  SettingsDialog dialog(context_->settings(), this);
  connect(&dialog, &SettingsDialog::themeChanged, this, [](const QString& theme) { applyTheme(*qApp, theme); });
  dialog.exec();
}

void MainWindow::showAbout() {
  QMessageBox::about(
      this, tr("About Kanana Workbench"),
      tr("<h3>Kanana Workbench %1</h3>"
         "<p>Build bilingual Korean/English language models the way the Kanana report does: "
         "curate corpora, train tokenizers, pre-train, grow, prune and distil, post-train, and "
         "try the result.</p>"
         "<p>Plugins: %2 running. Workspace: %3</p>")
          .arg(QCoreApplication::applicationVersion())
          .arg(plugins_->loadQueue().size() - plugins_->failedPlugins().size())
          .arg(context_->workspacePath().isEmpty() ? tr("none") : context_->workspacePath().toHtmlEscaped()));
}

void MainWindow::updateWorkspaceStatus() {
  const QString path = context_->workspacePath();
  if (path.isEmpty()) {
    workspaceLabel_->setText(tr("No workspace open"));
    setWindowTitle(tr("Kanana Workbench"));
    return;
  }
  workspaceLabel_->setText(tr("Workspace: %1  (%2)").arg(context_->workspaceName(), QDir::toNativeSeparators(path)));
  setWindowTitle(tr("%1 — Kanana Workbench").arg(context_->workspaceName()));
}

void MainWindow::updatePluginStatus() {
  int running = 0, failed = 0;
  for (const gui::PluginSpec* spec : plugins_->plugins()) {
    if (spec->isActive()) ++running;
    if (spec->hasError()) ++failed;
  }
  const QString runningText = running == 1 ? tr("1 plugin running") : tr("%1 plugins running").arg(running);
  pluginStatus_->setText(failed ? tr("%1 · %2 failed").arg(runningText).arg(failed) : runningText);
  pluginStatus_->setToolTip(tr("Open the plugin manager (Ctrl+Shift+P)"));
  pluginStatus_->setProperty("failed", failed > 0);
  pluginStatus_->style()->unpolish(pluginStatus_);
  pluginStatus_->style()->polish(pluginStatus_);
}

}  // namespace kanana::app
