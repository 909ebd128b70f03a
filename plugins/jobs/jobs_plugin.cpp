// The Jobs plugin: adds the "Jobs" page (recipes, launch targets, queue, live charts, logs,
// stop/resume, re-attach, notifications). Thin by design; the page and its model layer hold the work.
#include <QObject>

#include "jobs_page.h"
#include "sdk/iplugin.h"

namespace kanana::jobsplugin {

class JobsPlugin : public QObject, public gui::IPlugin {
  Q_OBJECT
  Q_PLUGIN_METADATA(IID KANANA_IPLUGIN_IID FILE "jobs.json")
  Q_INTERFACES(kanana::gui::IPlugin)
 public:
  bool initialize(const QStringList&, QString*) override { return true; }

  QList<gui::PageInfo> pages() override {
    gui::PageInfo page;
    page.id = QStringLiteral("jobs.main");
    page.title = tr("Jobs");
    page.toolTip = tr("Edit and launch training recipes locally, over SSH or under Slurm; watch, compare, stop and resume runs");
    page.order = 30;
    gui::WorkbenchContext* context = this->context();
    page.create = [context](QWidget* parent) { return new JobsPage(context, parent); };
    return {page};
  }
};

}  // namespace kanana::jobsplugin

#include "jobs_plugin.moc"
