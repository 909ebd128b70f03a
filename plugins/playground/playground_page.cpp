// The Playground page (see playground_page.h).
#include "playground_page.h"

#include <QSettings>
#include <QTabWidget>
#include <QVBoxLayout>

#include "chat_panel.h"
#include "rag_panel.h"
#include "sdk/workbench_context.h"
#include "serve_panel.h"
#include "tools_panel.h"

namespace kanana::playground {

namespace {
constexpr const char* kModeKey = "playground/mode";
const QStringList& modes() {
  static const QStringList m = {QStringLiteral("chat"), QStringLiteral("rag"), QStringLiteral("tools"),
                               QStringLiteral("serve")};
  return m;
}
}  // namespace

PlaygroundPage::PlaygroundPage(gui::WorkbenchContext* context, QWidget* parent) : QWidget(parent), context_(context) {
  tabs_ = new QTabWidget(this);
  tabs_->setObjectName(QStringLiteral("playgroundModes"));
  tabs_->setDocumentMode(true);
  chat_ = new ChatPanel(context, tabs_);
  rag_ = new RagPanel(context, tabs_);
  tools_ = new ToolsPanel(context, tabs_);
  tabs_->addTab(chat_, tr("Chat"));
  tabs_->addTab(rag_, tr("RAG"));
  serve_ = new ServePanel(context, tabs_);
  tabs_->addTab(tools_, tr("Tools"));
  tabs_->addTab(serve_, tr("Serve"));
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->addWidget(tabs_);
  if (context_ && context_->settings()) setMode(context_->settings()->value(kModeKey, modes().front()).toString());
  connect(tabs_, &QTabWidget::currentChanged, this, [this](int i) {
    if (context_ && context_->settings() && i >= 0 && i < modes().size()) context_->settings()->setValue(kModeKey, modes()[i]);
  });
}

void PlaygroundPage::setMode(const QString& mode) {
  const int i = static_cast<int>(modes().indexOf(mode));
  if (i >= 0) tabs_->setCurrentIndex(i);
}

QString PlaygroundPage::mode() const { return modes().value(tabs_->currentIndex()); }

}  // namespace kanana::playground
