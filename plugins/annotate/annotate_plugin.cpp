// The Preference Annotation plugin: adds the "Annotate" page. Thin by design; the page and
// its model layer (annotation_session.h, generation_controller.h, reward_scorer.h) hold the work.
#include <QObject>

#include "annotate_page.h"
#include "sdk/iplugin.h"

namespace kanana::annotate {

class AnnotatePlugin : public QObject, public gui::IPlugin {
  Q_OBJECT
  Q_PLUGIN_METADATA(IID KANANA_IPLUGIN_IID FILE "annotate.json")
  Q_INTERFACES(kanana::gui::IPlugin)
 public:
  bool initialize(const QStringList&, QString*) override { return true; }

  QList<gui::PageInfo> pages() override {
    gui::PageInfo page;
    page.id = QStringLiteral("annotate.main");
    page.title = tr("Annotate");
    page.toolTip = tr("Label preference pairs: generate candidates, compare side by side, decide from the keyboard");
    page.order = 70;
    gui::WorkbenchContext* context = this->context();
    page.create = [context](QWidget* parent) { return new AnnotatePage(context, parent); };
    return {page};
  }
};

}  // namespace kanana::annotate

#include "annotate_plugin.moc"
