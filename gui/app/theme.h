// The workbench's look: Qt's Fusion style with a light or dark palette and a small style
// sheet (resources/app/style.qss) for spacing and tab shapes; "system" keeps the platform's.
#pragma once

#include <QString>

class QApplication;

namespace kanana::app {

// theme: "light" (default), "dark" or "system".
void applyTheme(QApplication& app, const QString& theme);

}  // namespace kanana::app
