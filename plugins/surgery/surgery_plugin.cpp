// The Surgery plugin: adds the "Surgery" page. Thin by design; the page, its session and its
// background controller hold the work.
#include <QObject>

#include "sdk/iplugin.h"
#include "surgery_page.h"

namespace kanana::surgeryplugin {

class SurgeryPlugin : public QObject, public gui::IPlugin {
  Q_OBJECT
  Q_PLUGIN_METADATA(IID KANANA_IPLUGIN_IID FILE "surgery.json")
  Q_INTERFACES(kanana::gui::IPlugin)
 public:
  bool initialize(const QStringList&, QString*) override { return true; }

  QList<gui::PageInfo> pages() override {
    gui::PageInfo page;
    page.id = QStringLiteral("surgery.page");
    page.title = tr("Surgery");
    page.toolTip = tr("Importance, pruning to a target shape, prune → distill runs, teacher/student comparison");
    page.order = 40;
    gui::WorkbenchContext* context = this->context();
    page.create = [context](QWidget* parent) { return new SurgeryPage(context, parent); };
    return {page};
  }
};

}  // namespace kanana::surgeryplugin

#include "surgery_plugin.moc"
