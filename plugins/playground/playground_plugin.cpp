// The Playground plugin: adds the "Playground" page (chat, RAG and tools with a checkpoint).
// Thin by design; the page's panels and the engine hold the work.
#include <QObject>

#include "playground_page.h"
#include "sdk/iplugin.h"

namespace kanana::playground {

class PlaygroundPlugin : public QObject, public gui::IPlugin {
  Q_OBJECT
  Q_PLUGIN_METADATA(IID KANANA_IPLUGIN_IID FILE "playground.json")
  Q_INTERFACES(kanana::gui::IPlugin)
 public:
  bool initialize(const QStringList&, QString*) override { return true; }

  QList<gui::PageInfo> pages() override {
    gui::PageInfo page;
    page.id = QStringLiteral("playground.main");
    page.title = tr("Playground");
    page.toolTip = tr("Chat with a checkpoint, ask documents with cited answers, and try function calling");
    page.order = 60;
    gui::WorkbenchContext* context = this->context();
    page.create = [context](QWidget* parent) { return new PlaygroundPage(context, parent); };
    return {page};
  }
};

}  // namespace kanana::playground

#include "playground_plugin.moc"
