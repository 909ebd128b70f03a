// A page a plugin adds to the main window: a tab with a title, an icon and a sort order.
// The widget is made by the main window through `create`, once every plugin is running;
// plugins loaded without a window (tests, --list-plugins) never build widgets.
#pragma once

#include <QIcon>
#include <QString>
#include <functional>

class QWidget;

namespace kanana::gui {

struct PageInfo {
  QString id;               // stable, used to remember the last open page: "workspace.overview"
  QString title;            // tab text: "Workspace"
  QIcon icon;
  QString toolTip;
  int order = 100;          // tabs sort by order, then title; Ctrl+1..9 follow this order
  std::function<QWidget*(QWidget* parent)> create;
};

}  // namespace kanana::gui
