// The Workspace plugin: adds the "Workspace" overview page. Thin by design; the page and
// its models hold the work.
#include <QIcon>
#include <QObject>

#include "sdk/iplugin.h"
#include "workspace_page.h"

namespace kanana::workspace {

class WorkspacePlugin : public QObject, public gui::IPlugin {
  Q_OBJECT
  Q_PLUGIN_METADATA(IID KANANA_IPLUGIN_IID FILE "workspace.json")
  Q_INTERFACES(kanana::gui::IPlugin)
 public:
  bool initialize(const QStringList&, QString*) override { return true; }

  QList<gui::PageInfo> pages() override {
    gui::PageInfo page;
    page.id = QStringLiteral("workspace.overview");
    page.title = tr("Workspace");
    page.icon = QIcon(QStringLiteral(":/kanana/workspace/workspace.svg"));
    page.toolTip = tr("Datasets, tokenizers, runs and checkpoints of the current workspace, with lineage");
    page.order = 0;
    gui::WorkbenchContext* context = this->context();
    page.create = [context](QWidget* parent) { return new WorkspacePage(context, parent); };
    return {page};
  }
};

}  // namespace kanana::workspace

#include "workspace_plugin.moc"
