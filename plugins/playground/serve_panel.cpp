// Serve mode widgets (see serve_panel.h).
#include "serve_panel.h"

#include <QComboBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include "playground_widgets.h"
#include "serve_process.h"

namespace kanana::playground {

ServePanel::ServePanel(gui::WorkbenchContext* context, QWidget* parent) : QWidget(parent) {
  process_ = new ServeProcess(this);
  auto* box = new QGroupBox(tr("OpenAI-compatible server"), this);
  auto* form = new QFormLayout(box);
  model_ = new CheckpointPicker(context, box);
  model_->setObjectName(QStringLiteral("serveCheckpoint"));
  form->addRow(tr("Checkpoint"), model_);
  weights_ = new QComboBox(box);
  weights_->setObjectName(QStringLiteral("serveWeights"));
  weights_->addItems({QStringLiteral("q4"), QStringLiteral("int8"), QStringLiteral("bf16"), QStringLiteral("f32")});
  form->addRow(tr("Weights"), weights_);
  parallel_ = new QSpinBox(box);
  parallel_->setObjectName(QStringLiteral("serveParallel"));
  parallel_->setRange(1, 64);
  parallel_->setValue(4);
  parallel_->setToolTip(tr("Requests decoded together (continuous batching)"));
  form->addRow(tr("Parallel requests"), parallel_);
  port_ = new QSpinBox(box);
  port_->setObjectName(QStringLiteral("servePort"));
  port_->setRange(0, 65535);
  port_->setValue(8080);
  port_->setSpecialValueText(tr("any free port"));
  form->addRow(tr("Port"), port_);
  start_ = new QPushButton(tr("Start server"), box);
  start_->setObjectName(QStringLiteral("serveStart"));
  stop_ = new QPushButton(tr("Stop"), box);
  stop_->setObjectName(QStringLiteral("serveStop"));
  auto* buttons = new QHBoxLayout;
  buttons->addWidget(start_);
  buttons->addWidget(stop_);
  buttons->addStretch(1);
  form->addRow(buttons);
  url_ = new QLabel(box);
  url_->setObjectName(QStringLiteral("serveUrl"));
  url_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  form->addRow(tr("URL"), url_);
  state_ = new QLabel(tr("Not running."), box);
  state_->setObjectName(QStringLiteral("serveState"));
  state_->setWordWrap(true);
  form->addRow(tr("State"), state_);
  stats_ = new QLabel(box);
  stats_->setObjectName(QStringLiteral("serveStats"));
  form->addRow(tr("Load"), stats_);
  auto* hint = new QLabel(tr("Loopback only. Point any OpenAI client at the URL, e.g. "
                             "<code>OpenAI(base_url=URL, api_key=\"unused\")</code>."),
                          box);
  hint->setWordWrap(true);
  hint->setStyleSheet(QStringLiteral("color:#666"));
  form->addRow(hint);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(box);
  layout->addStretch(1);

  connect(start_, &QPushButton::clicked, this, &ServePanel::start);
  connect(stop_, &QPushButton::clicked, this, &ServePanel::stop);
  connect(model_->combo(), &QComboBox::currentIndexChanged, this, [this] { updateButtons(); });
  connect(process_, &ServeProcess::started, this, [this](const QString& url) {
    url_->setText(url);
    state_->setText(tr("Serving %1.").arg(model_->currentDir()));
    updateButtons();
  });
  connect(process_, &ServeProcess::status, this, &ServePanel::showStatus);
  connect(process_, &ServeProcess::stopped, this, [this](const QString& why) {
    url_->clear();
    stats_->clear();
    state_->setText(why);
    updateButtons();
  });
  updateButtons();
}

void ServePanel::start() {
  if (model_->currentDir().isEmpty() || process_->isRunning()) return;
  ServeSettings s;
  s.modelDir = model_->currentDir();
  s.weights = weights_->currentText();
  s.parallel = parallel_->value();
  s.port = port_->value();
  state_->setText(tr("Loading %1…").arg(s.modelDir));
  process_->start(s);
  updateButtons();
}

void ServePanel::stop() {
  process_->stop();
  state_->setText(tr("Stopping…"));
}

void ServePanel::showStatus(const ServeStatus& s) {
  stats_->setText(tr("%1 in flight (%2 slots), %3 waiting · %4 tokens/s · %5 tokens generated")
                      .arg(s.running)
                      .arg(s.slotCount)
                      .arg(s.waiting)
                      .arg(s.tokensPerSecond, 0, 'f', 1)
                      .arg(s.generatedTokens));
}

void ServePanel::updateButtons() {
  const bool running = process_->isRunning();
  start_->setEnabled(!running && !model_->currentDir().isEmpty());
  stop_->setEnabled(running);
  for (QWidget* w : {static_cast<QWidget*>(model_), static_cast<QWidget*>(weights_), static_cast<QWidget*>(parallel_),
                     static_cast<QWidget*>(port_)})
    w->setEnabled(!running);
}

}  // namespace kanana::playground
