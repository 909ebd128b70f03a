// kanana-workbench: the Qt 6 desktop shell. Options are in app_options.h; start-up is in
// workbench.h. Exit codes: 0 ok, 1 failure (e.g. a screenshot could not be written), 2 usage.
#include <QApplication>
#include <QCoreApplication>
#include <QSettings>
#include <QTimer>
#include <cstdio>
#include <exception>
#include <memory>
#include <new>

#include "app_options.h"
#include "main_window.h"
#include "sdk/workbench_context.h"
#include "theme.h"
#include "workbench.h"

namespace {

void setApplicationInfo() {
  QCoreApplication::setOrganizationName(QStringLiteral("Kanana"));
  QCoreApplication::setApplicationName(QStringLiteral("Kanana Workbench"));
  QCoreApplication::setApplicationVersion(QStringLiteral(KANANA_VERSION));
}

// An exception thrown by a slot or event handler would otherwise unwind through Qt's event
// loop (undefined) and abort. It is reported and ends the application with status 1.
// The one message for an exception nobody handled (the event loop's and start-up's).
void report_exception(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "kanana-workbench: error: out of memory\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kanana-workbench: error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "kanana-workbench: error: unknown exception\n");
  }
}

template <typename Base>
class GuardedApplication final : public Base {
 public:
  using Base::Base;
  bool notify(QObject* receiver, QEvent* event) override {
    try {
      return Base::notify(receiver, event);
    } catch (...) {
      report_exception(std::current_exception());
    }
    QCoreApplication::exit(1);
    return false;
  }
};

int run(int argc, char** argv);

}  // namespace

int main(int argc, char** argv) {
  // Anything escaping start-up or the event loop: a message and exit 1, not an abort.
  try {
    return run(argc, argv);
  } catch (...) {
    report_exception(std::current_exception());
  }
  return 1;
}

namespace {

int run(int argc, char** argv) {
  // Usage errors, --help, --version and --list-plugins need no display: parse once before
  // choosing the application class.
  QStringList rawArguments;
  for (int i = 0; i < argc; ++i) rawArguments.append(QString::fromLocal8Bit(argv[i]));
  kanana::app::AppOptions preview;
  QString error;
  if (!kanana::app::parseAppOptions(rawArguments, &preview, &error, /*handleHelp=*/false)) {
    std::fprintf(stderr, "kanana-workbench: %s\nTry 'kanana-workbench --help'.\n", qPrintable(error));
    return 2;
  }
  const bool headless = preview.listPlugins || preview.wantsInfo;
  std::unique_ptr<QCoreApplication> app;
  if (headless)
    app = std::make_unique<GuardedApplication<QCoreApplication>>(argc, argv);
  else
    app = std::make_unique<GuardedApplication<QApplication>>(argc, argv);
  setApplicationInfo();
  if (!headless) QGuiApplication::setDesktopFileName(QStringLiteral("kanana-workbench"));

  kanana::app::AppOptions options;
  if (!kanana::app::parseAppOptions(QCoreApplication::arguments(), &options, &error)) {
    std::fprintf(stderr, "kanana-workbench: %s\nTry 'kanana-workbench --help'.\n", qPrintable(error));
    return 2;
  }

  kanana::app::Workbench workbench(options);
  if (options.listPlugins) {
    workbench.startCore();
    std::fputs("id\tversion\tstate\tfile\terror\n", stdout);
    std::fputs(workbench.pluginTable().toLocal8Bit().constData(), stdout);
    return 0;
  }

  auto* gui = static_cast<QApplication*>(app.get());
  kanana::app::applyTheme(
      *gui, workbench.settings()->value(kanana::gui::settings_keys::kTheme, QStringLiteral("light")).toString());
  kanana::app::MainWindow* window = workbench.createMainWindow();
  window->show();

  int screenshotStatus = 0;
  if (!options.page.isEmpty()) {
    auto select = [&] {
      if (!window->showPage(options.page)) {
        std::fprintf(stderr, "kanana-workbench: --page: no page '%s' (pages: %s)\n", qPrintable(options.page),
                     qPrintable(window->pageIds().join(QStringLiteral(", "))));
        if (!options.screenshot.isEmpty()) screenshotStatus = 2;  // the picture would show the wrong page
      }
    };
    if (workbench.startupPending())
      QObject::connect(&workbench, &kanana::app::Workbench::startupFinished, window, select, Qt::SingleShotConnection);
    else
      select();
  }
  if (!options.screenshot.isEmpty()) {
    // Once start-up is complete, give layouts and lazily filled views a moment, then render.
    auto shoot = [&] {
      QTimer::singleShot(800, window, [&] {
        QString why;
        if (!window->saveScreenshot(options.screenshot, &why)) {
          std::fprintf(stderr, "kanana-workbench: %s\n", qPrintable(why));
          screenshotStatus = 1;
        }
        window->close();
        QCoreApplication::exit(screenshotStatus);
      });
    };
    if (workbench.startupPending())
      QObject::connect(&workbench, &kanana::app::Workbench::startupFinished, window, shoot, Qt::SingleShotConnection);
    else
      shoot();
  }
  const int code = QApplication::exec();
  return screenshotStatus ? screenshotStatus : code;
}

}  // namespace
