// The Evaluation plugin: adds the "Evaluation" page (launch eval jobs, compare checkpoints ×
// tasks, charts, per-item drill-down). Thin by design; the page and its model layer hold the work.
#include <QObject>

#include "evaluation_page.h"
#include "sdk/iplugin.h"

namespace kanana::evaluation {

class EvaluationPlugin : public QObject, public gui::IPlugin {
  Q_OBJECT
  Q_PLUGIN_METADATA(IID KANANA_IPLUGIN_IID FILE "evaluation.json")
  Q_INTERFACES(kanana::gui::IPlugin)
 public:
  bool initialize(const QStringList&, QString*) override { return true; }

  QList<gui::PageInfo> pages() override {
    gui::PageInfo page;
    page.id = QStringLiteral("evaluation.main");
    page.title = tr("Evaluation");
    page.toolTip = tr("Benchmark checkpoints (multiple choice, generation, perplexity) and compare them");
    page.order = 60;
    gui::WorkbenchContext* context = this->context();
    page.create = [context](QWidget* parent) { return new EvaluationPage(context, parent); };
    return {page};
  }
};

}  // namespace kanana::evaluation

#include "evaluation_plugin.moc"
