// kanana-workbench's command line, parsed in one place.
#pragma once

#include <QString>
#include <QStringList>

namespace kanana::app {

struct AppOptions {
  QString workspace;         // --workspace DIR: open it (created when the folder is not a workspace yet)
  bool demo = false;         // --demo: open the demo workspace (also when no workspace was used before)
  QStringList pluginPaths;   // --plugin-path DIR (repeatable); replaces the default folders
  QString screenshot;        // --screenshot FILE: save the main window as PNG after start-up and quit
  QString page;              // --page ID: show this page (a plugin page id or tab title) after start-up
  bool listPlugins = false;  // --list-plugins: print the plugin table and exit
  QString settingsFile;      // --settings FILE: an INI file instead of the user's settings
  QStringList pluginArguments;  // what is left over, passed to IPlugin::initialize()
  bool wantsInfo = false;    // --help or --version was given
};

// Parse argv (arguments().first() is the program). On a usage error returns false with
// *error set. With handleHelp, --help/--version print and exit inside (QCommandLineParser's
// convention, which needs a QCoreApplication); without, they only set wantsInfo.
bool parseAppOptions(const QStringList& arguments, AppOptions* options, QString* error, bool handleHelp = true);

}  // namespace kanana::app
