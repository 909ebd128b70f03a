// The Data Inspector plugin: adds the "Data Inspector" page. Thin by design; the page and
// its model layer hold the work.
#include <QObject>

#include "datainspector_page.h"
#include "sdk/iplugin.h"

namespace kanana::datainspector {

class DataInspectorPlugin : public QObject, public gui::IPlugin {
  Q_OBJECT
  Q_PLUGIN_METADATA(IID KANANA_IPLUGIN_IID FILE "datainspector.json")
  Q_INTERFACES(kanana::gui::IPlugin)
 public:
  bool initialize(const QStringList&, QString*) override { return true; }

  QList<gui::PageInfo> pages() override {
    gui::PageInfo page;
    page.id = QStringLiteral("datainspector.main");
    page.title = tr("Data Inspector");
    page.toolTip = tr("Browse a corpus with its quality signals, tune filters on histograms, label and export");
    page.order = 20;
    gui::WorkbenchContext* context = this->context();
    page.create = [context](QWidget* parent) { return new DataInspectorPage(context, parent); };
    return {page};
  }
};

}  // namespace kanana::datainspector

#include "datainspector_plugin.moc"
