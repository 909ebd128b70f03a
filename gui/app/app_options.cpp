// See app_options.h.
#include "app_options.h"

#include <QCommandLineParser>

namespace kanana::app {

bool parseAppOptions(const QStringList& arguments, AppOptions* options, QString* error, bool handleHelp) {
  QCommandLineParser parser;
  parser.setApplicationDescription(
      QStringLiteral("Kanana Workbench: build bilingual Korean/English language models."));
  parser.addHelpOption();
  parser.addVersionOption();
  const QCommandLineOption workspace(QStringLiteral("workspace"),
                                     QStringLiteral("Open the workspace in <dir> (created if it is not one yet)."),
                                     QStringLiteral("dir"));
  const QCommandLineOption demo(QStringLiteral("demo"),
                                QStringLiteral("Open the demo workspace, creating it from the data cache if needed."));
  const QCommandLineOption pluginPath(
      QStringLiteral("plugin-path"),
      QStringLiteral("Load plugins from <dir> instead of the default folder (repeatable; "
                     "$KANANA_PLUGIN_PATH does the same)."),
      QStringLiteral("dir"));
  const QCommandLineOption screenshot(QStringLiteral("screenshot"),
                                      QStringLiteral("Render the main window to the PNG <file> after start-up and quit."),
                                      QStringLiteral("file"));
  const QCommandLineOption page(QStringLiteral("page"),
                                QStringLiteral("Show the page <id> (its id or tab title, e.g. 'Surgery') after start-up."),
                                QStringLiteral("id"));
  const QCommandLineOption listPlugins(QStringLiteral("list-plugins"),
                                       QStringLiteral("Print every plugin with its version, state and error, then exit."));
  const QCommandLineOption settings(QStringLiteral("settings"),
                                    QStringLiteral("Read and write settings in the INI <file> ($KANANA_SETTINGS_FILE)."),
                                    QStringLiteral("file"));
  parser.addOptions({workspace, demo, pluginPath, screenshot, page, listPlugins, settings});
  parser.addPositionalArgument(QStringLiteral("plugin-arguments"),
                               QStringLiteral("Passed on to every plugin's initialize()."), QStringLiteral("[args...]"));
  if (!parser.parse(arguments)) {
    if (error) *error = parser.errorText();
    return false;
  }
  options->wantsInfo = parser.isSet(QStringLiteral("help")) || parser.isSet(QStringLiteral("version"));
  if (handleHelp && parser.isSet(QStringLiteral("help"))) parser.showHelp(0);
  if (handleHelp && parser.isSet(QStringLiteral("version"))) parser.showVersion();
  options->workspace = parser.value(workspace);
  options->demo = parser.isSet(demo);
  options->pluginPaths = parser.values(pluginPath);
  options->screenshot = parser.value(screenshot);
  options->page = parser.value(page);
  options->listPlugins = parser.isSet(listPlugins);
  options->settingsFile = parser.isSet(settings) ? parser.value(settings) : qEnvironmentVariable("KANANA_SETTINGS_FILE");
  options->pluginArguments = parser.positionalArguments();
  if (!options->workspace.isEmpty() && options->demo) {
    if (error) *error = QStringLiteral("--workspace and --demo cannot be used together");
    return false;
  }
  return true;
}

}  // namespace kanana::app
