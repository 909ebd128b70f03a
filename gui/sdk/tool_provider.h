// How a plugin offers tools to the Playground's function calling: a QObject in the object pool
// that also implements IToolProvider (Q_INTERFACES(kanana::gui::IToolProvider)). The Playground
// collects every provider's tools when a tool run starts, so a plugin loaded later still counts.
//
// The tools follow core/tools/tool.h's rules: OpenAI-style JSON Schema parameters, no shell,
// no writes outside the workspace, and side_effects = true for anything that changes data (the
// user then approves each call). Their run functions are called on the Playground's worker
// thread, never the GUI thread, and must not touch widgets.
#pragma once

#include <QtPlugin>
#include <vector>

#include "tools/tool.h"

namespace kanana::gui {

class IToolProvider {
 public:
  virtual ~IToolProvider() = default;
  virtual std::vector<kanana::tools::Tool> tools() = 0;
};

}  // namespace kanana::gui

#define KANANA_ITOOLPROVIDER_IID "org.kanana.workbench.IToolProvider/1"
Q_DECLARE_INTERFACE(kanana::gui::IToolProvider, KANANA_ITOOLPROVIDER_IID)
