// The real main window, offscreen: it starts with broken plugins present and shows their
// errors in the log, hosts the Workspace plugin's page, makes the demo workspace on first
// start, switches workspaces, restores its geometry, renders a screenshot, and the plugin
// manager dialog's table persists enable/disable.
#include <QAction>
#include <QApplication>
#include <QDockWidget>
#include <QImage>
#include <QLabel>
#include <QComboBox>
#include <QLineEdit>
#include <QSettings>
#include <QSpinBox>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QToolButton>
#include <QtTest>

#include "log_console.h"
#include "main_window.h"
#include "plugin_manager_dialog.h"
#include "plugin_table_model.h"
#include "settings_dialog.h"
#include "sdk/log_model.h"
#include "sdk/plugin_manager.h"
#include "sdk/workbench_context.h"
#include "store/workspace.h"
#include "workbench.h"

using namespace kanana;
using namespace kanana::app;

class TestMainWindow : public QObject {
  Q_OBJECT
 private:
  QTemporaryDir dir_;

  AppOptions options(const char* settingsName) const {
    AppOptions o;
    o.settingsFile = dir_.filePath(QString::fromLatin1(settingsName));
    o.pluginPaths = {QStringLiteral(KANANA_FIXTURE_PLUGIN_DIR), QStringLiteral(KANANA_APP_PLUGIN_DIR)};
    return o;
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    // First start must not touch the user's demo workspace or data cache.
    qputenv("KANANA_DEMO_WORKSPACE", dir_.filePath(QStringLiteral("demo")).toLocal8Bit());
    qputenv("KANANA_DATA_CACHE", dir_.filePath(QStringLiteral("empty-cache")).toLocal8Bit());
  }

  void startsWithBrokenPluginsAndReportsThem() {
    Workbench workbench(options("broken.ini"));
    MainWindow* window = workbench.createMainWindow();
    window->show();
    QVERIFY(QTest::qWaitForWindowExposed(window));
    const gui::LogModel* log = workbench.logModel();
    QVERIFY(log->contains(QStringLiteral("undefined symbol: kanana_fixture_symbol_defined_nowhere"), gui::LogLevel::Error));
    QVERIFY(log->contains(QStringLiteral("initialize() threw an exception: fixture: cannot open the tokenizer bridge"),
                          gui::LogLevel::Error));
    QVERIFY(log->contains(QStringLiteral("wrong IID"), gui::LogLevel::Error));
    // The log console shows them (its default filter hides debug lines only).
    QVERIFY(window->logDock()->isVisible());
    QVERIFY(window->logConsole()->filterModel()->rowCount() > 0);
    // The good plugins still run and the Workspace page is there, first (order 0).
    QCOMPARE(workbench.pluginManager()->plugin(QStringLiteral("fixture.dependent"))->state,
             gui::PluginSpec::State::Running);
    QCOMPARE(workbench.pluginManager()->plugin(QStringLiteral("workspace"))->state, gui::PluginSpec::State::Running);
    QCOMPARE(window->pageIds().value(0), QStringLiteral("workspace.overview"));
    QCOMPARE(window->pageTabs()->tabText(0), QStringLiteral("Workspace"));
    auto* status = window->findChild<QToolButton*>(QStringLiteral("pluginStatus"));
    QVERIFY(status);
    QVERIFY2(status->text().contains(QLatin1String("9 failed")), qPrintable(status->text()));
  }

  void firstStartOpensTheDemoWorkspace() {
    Workbench workbench(options("demo.ini"));
    MainWindow* window = workbench.createMainWindow();
    // The demo workspace is prepared off the GUI thread; the window is there before it.
    QSignalSpy finished(&workbench, &Workbench::startupFinished);
    if (workbench.startupPending()) QVERIFY(finished.wait(20000));
    QCOMPARE(workbench.context()->workspacePath(), QDir::cleanPath(dir_.filePath(QStringLiteral("demo"))));
    QVERIFY(store::Workspace::exists(dir_.filePath(QStringLiteral("demo")).toStdString()));
    auto* label = window->findChild<QLabel*>(QStringLiteral("workspaceStatus"));
    QVERIFY(label->text().contains(dir_.filePath(QStringLiteral("demo"))));
  }

  void switchingWorkspaceRefreshesPages() {
    const QString other = dir_.filePath(QStringLiteral("other"));
    {
      auto ws = store::Workspace::create(other.toStdString(), "other workspace");
      QVERIFY(ws.is_ok());
      store::DatasetRecord d;
      d.name = "only dataset";
      d.path = "data/x.jsonl";
      QVERIFY((*ws)->add_dataset(d).is_ok());
    }
    Workbench workbench(options("switch.ini"));
    MainWindow* window = workbench.createMainWindow();
    QString error;
    QVERIFY2(workbench.context()->openWorkspace(other, &error), qPrintable(error));
    QCOMPARE(window->windowTitle(), QStringLiteral("other workspace — Kanana Workbench"));
    QWidget* page = window->pageTabs()->widget(0);
    auto* tables = page->findChild<QTabWidget*>();
    QVERIFY(tables);
    QCOMPARE(tables->tabText(0), QStringLiteral("Datasets (1)"));
    auto* view = qobject_cast<QTableView*>(tables->widget(0));
    QCOMPARE(view->model()->index(0, 0).data().toString(), QStringLiteral("only dataset"));
    QCOMPARE(workbench.context()->recentWorkspaces().value(0), QDir::cleanPath(other));
    // A folder that is not a workspace is refused and the current one stays.
    QVERIFY(!workbench.context()->openWorkspace(dir_.filePath(QStringLiteral("nothing-here")), &error));
    QVERIFY(error.contains(QLatin1String("is not a workspace")));
    QCOMPARE(workbench.context()->workspacePath(), QDir::cleanPath(other));
  }

  void shortcutsSwitchPages() {
    Workbench workbench(options("shortcuts.ini"));
    MainWindow* window = workbench.createMainWindow();
    QStringList shortcuts;
    for (QAction* a : window->findChildren<QAction*>())
      if (!a->shortcut().isEmpty()) shortcuts.append(a->shortcut().toString());
    for (const char* s : {"Ctrl+1", "Ctrl+O", "Ctrl+Shift+P", "Ctrl+,", "Ctrl+Q", "F1", "Ctrl+Shift+L"})
      QVERIFY2(shortcuts.contains(QString::fromLatin1(s)), s);
  }

  void windowGeometryIsRestored() {
    QSize target;
    {
      Workbench workbench(options("geometry.ini"));
      MainWindow* window = workbench.createMainWindow();
      window->show();
      QVERIFY(QTest::qWaitForWindowExposed(window));
      // A size the window can take whatever pages the installed plugins contribute
      // (each page has its own minimum), and that differs from the default size.
      target = window->minimumSizeHint().expandedTo(QSize(700, 480)) + QSize(31, 17);
      QVERIFY(target != window->size());
      window->resize(target);
      window->move(40, 30);
      QTRY_COMPARE(window->size(), target);
      window->close();  // saves
    }
    Workbench workbench(options("geometry.ini"));
    MainWindow* window = workbench.createMainWindow();
    QCOMPARE(window->size(), target);
  }

  void showPageFindsPagesByIdOrTitle() {
    Workbench workbench(options("showpage.ini"));
    MainWindow* window = workbench.createMainWindow();
    const QStringList ids = window->pageIds();
    QVERIFY(ids.size() >= 2);
    QTabWidget* tabs = window->pageTabs();
    QVERIFY(window->showPage(ids.last().toUpper()));  // ids match case-insensitively
    QCOMPARE(tabs->currentIndex(), int(ids.size()) - 1);
    const QString title = tabs->tabText(0).remove(QLatin1Char('&'));
    QVERIFY(window->showPage(title));
    QCOMPARE(tabs->currentIndex(), 0);
    QVERIFY(!window->showPage(QStringLiteral("no-such-page")));
    QCOMPARE(tabs->currentIndex(), 0);  // an unknown page changes nothing
  }

  void screenshotIsWritten() {
    Workbench workbench(options("shot.ini"));
    MainWindow* window = workbench.createMainWindow();
    window->show();
    QVERIFY(QTest::qWaitForWindowExposed(window));
    const QString file = dir_.filePath(QStringLiteral("shot.png"));
    QString error;
    QVERIFY2(window->saveScreenshot(file, &error), qPrintable(error));
    const QImage image(file);
    QCOMPARE(image.size(), window->size() * window->devicePixelRatio());
  }

  void dialogsEditSettings() {
    Workbench workbench(options("dialogs.ini"));
    MainWindow* window = workbench.createMainWindow();
    {
      PluginManagerDialog dialog(workbench.pluginManager(), window);
      dialog.show();
      auto* hint = dialog.findChild<QLabel*>(QStringLiteral("restartHint"));
      QVERIFY(hint && !hint->isVisible());
      PluginTableModel* model = dialog.model();
      QCOMPARE(model->rowCount(), int(workbench.pluginManager()->plugins().size()));
      const int row = int(workbench.pluginManager()->plugins().indexOf(workbench.pluginManager()->plugin("fixture.base")));
      QVERIFY(model->setData(model->index(row, 0), Qt::Unchecked, Qt::CheckStateRole));
      QVERIFY(hint->isVisible());
      QVERIFY(model->setData(model->index(row, 0), Qt::Checked, Qt::CheckStateRole));  // back: no restart needed
      QVERIFY(!hint->isVisible());
      if (qEnvironmentVariableIsSet("KANANA_GUI_TEST_SHOTS")) dialog.grab().save(QDir::tempPath() + "/kanana-plugins-dialog.png");
    }
    {
      SettingsDialog dialog(workbench.settings(), window);
      dialog.show();
      QSignalSpy theme(&dialog, &SettingsDialog::themeChanged);
      auto* combo = dialog.findChild<QComboBox*>();
      combo->setCurrentIndex(combo->findData(QStringLiteral("dark")));
      dialog.findChild<QSpinBox*>()->setValue(3);
      if (qEnvironmentVariableIsSet("KANANA_GUI_TEST_SHOTS")) dialog.grab().save(QDir::tempPath() + "/kanana-settings-dialog.png");
      dialog.save();
      QCOMPARE(theme.count(), 1);
      QCOMPARE(workbench.settings()->value(gui::settings_keys::kTheme).toString(), QStringLiteral("dark"));
      QCOMPARE(workbench.context()->torchThreads(), 3);
    }
  }

  void pluginTableTogglesArePersisted() {
    {
      Workbench workbench(options("toggle.ini"));
      workbench.startCore();
      PluginTableModel model(workbench.pluginManager());
      QCOMPARE(model.rowCount(), int(workbench.pluginManager()->plugins().size()));
      int row = -1;
      for (int r = 0; r < model.rowCount(); ++r)
        if (workbench.pluginManager()->plugins()[r]->id == QLatin1String("workspace")) row = r;
      QVERIFY(row >= 0);
      const QModelIndex check = model.index(row, PluginTableModel::NameColumn);
      QCOMPARE(check.data(Qt::CheckStateRole).toInt(), int(Qt::Checked));
      QSignalSpy restart(&model, &PluginTableModel::restartRequiredChanged);
      QVERIFY(model.setData(check, Qt::Unchecked, Qt::CheckStateRole));
      QVERIFY(model.restartRequired());
      QCOMPARE(restart.count(), 1);
      QCOMPARE(check.data(Qt::CheckStateRole).toInt(), int(Qt::Unchecked));
    }
    Workbench workbench(options("toggle.ini"));
    MainWindow* window = workbench.createMainWindow();
    QCOMPARE(workbench.pluginManager()->plugin(QStringLiteral("workspace"))->state, gui::PluginSpec::State::Disabled);
    QVERIFY(!window->pageIds().contains(QStringLiteral("workspace.overview")));
  }
};

#include "test_main.h"
KANANA_TEST_MAIN(TestMainWindow)
#include "test_main_window.moc"
