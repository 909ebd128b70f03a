// Tools mode widgets (see tools_panel.h).
#include "tools_panel.h"

#include <QColor>
#include <QComboBox>
#include <QDir>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMessageBox>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QSplitter>
#include <QTextBrowser>
#include <QTreeWidget>
#include <QVBoxLayout>

#include "conversation_store.h"
#include "playground_engine.h"
#include "playground_widgets.h"
#include "sdk/tool_provider.h"
#include "sdk/workbench_context.h"
#include "store/workspace.h"

namespace kanana::playground {

namespace {
QString compactJson(const QJsonValue& v) {
  if (v.isObject()) return QString::fromUtf8(QJsonDocument(v.toObject()).toJson(QJsonDocument::Compact));
  if (v.isArray()) return QString::fromUtf8(QJsonDocument(v.toArray()).toJson(QJsonDocument::Compact));
  return v.toVariant().toString();
}
}  // namespace

ToolsPanel::ToolsPanel(gui::WorkbenchContext* context, QWidget* parent) : QWidget(parent), context_(context) {
  engine_ = new PlaygroundEngine(this);
  engine_->setConfirmHandler([this](const QString& tool, const QString& args) { return confirm(tool, args); });

  auto* settingsBox = new QWidget(this);
  auto* left = new QVBoxLayout(settingsBox);
  left->setContentsMargins(0, 0, 0, 0);
  auto* modelBox = new QGroupBox(tr("Checkpoint"), settingsBox);
  auto* modelLayout = new QVBoxLayout(modelBox);
  model_ = new CheckpointPicker(context, modelBox);
  model_->setObjectName(QStringLiteral("toolsCheckpoint"));
  modelInfo_ = new QLabel(tr("No checkpoint loaded."), modelBox);
  modelInfo_->setWordWrap(true);
  modelInfo_->setStyleSheet(QStringLiteral("color:#666"));
  modelLayout->addWidget(model_);
  modelLayout->addWidget(modelInfo_);
  left->addWidget(modelBox);

  auto* toolsBox = new QGroupBox(tr("Tools"), settingsBox);
  auto* toolsLayout = new QFormLayout(toolsBox);
  tools_ = new QListWidget(toolsBox);
  tools_->setObjectName(QStringLiteral("toolList"));
  tools_->setMinimumHeight(150);
  toolsLayout->addRow(tools_);
  ragIndex_ = new QComboBox(toolsBox);
  ragIndex_->setObjectName(QStringLiteral("toolsRagIndex"));
  toolsLayout->addRow(tr("search_documents index"), ragIndex_);
  maxSteps_ = new QSpinBox(toolsBox);
  maxSteps_->setRange(1, 20);
  maxSteps_->setValue(5);
  maxSteps_->setObjectName(QStringLiteral("maxSteps"));
  toolsLayout->addRow(tr("Max model calls"), maxSteps_);
  left->addWidget(toolsBox);
  auto* samplingBox = new QGroupBox(tr("Sampling"), settingsBox);
  auto* samplingLayout = new QVBoxLayout(samplingBox);
  sampling_ = new SamplingPanel(samplingBox);
  chat::ChatSampling s;
  s.temperature = 0.2;
  sampling_->setSampling(s);
  samplingLayout->addWidget(sampling_);
  left->addWidget(samplingBox);
  left->addStretch(1);
  QScrollArea* scroll = settingsScrollArea(settingsBox, this);

  auto* main = new QWidget(this);
  auto* right = new QVBoxLayout(main);
  right->setContentsMargins(0, 0, 0, 0);
  auto* split = new QSplitter(Qt::Vertical, main);
  transcript_ = new QTreeWidget(split);
  transcript_->setObjectName(QStringLiteral("toolTranscript"));
  transcript_->setColumnCount(4);
  transcript_->setHeaderLabels({tr("Step"), tr("Event"), tr("Tool / text"), tr("Arguments → result")});
  transcript_->setRootIsDecorated(false);
  transcript_->setWordWrap(true);
  transcript_->header()->setStretchLastSection(true);
  transcript_->setColumnWidth(0, 50);
  transcript_->setColumnWidth(1, 90);
  transcript_->setColumnWidth(2, 220);
  answer_ = new QTextBrowser(split);
  answer_->setObjectName(QStringLiteral("toolAnswer"));
  answer_->setPlaceholderText(tr("The model's final answer appears here."));
  split->addWidget(transcript_);
  split->addWidget(answer_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 1);
  right->addWidget(split, 1);
  auto* inputRow = new QHBoxLayout;
  input_ = new QLineEdit(main);
  input_->setObjectName(QStringLiteral("toolInput"));
  input_->setPlaceholderText(tr("e.g. What is (17.5 * 4) ^ 2? Which weekday is 2025-12-25? How many datasets are in the workspace?"));
  run_ = new QPushButton(tr("Send"), main);
  run_->setObjectName(QStringLiteral("toolRun"));
  stop_ = new QPushButton(tr("Stop"), main);
  reset_ = new QPushButton(tr("New"), main);
  raw_ = new QPushButton(tr("Raw prompt…"), main);
  save_ = new QPushButton(tr("Save"), main);
  for (QWidget* w : std::initializer_list<QWidget*>{input_, run_, stop_, reset_, raw_, save_}) inputRow->addWidget(w, w == input_ ? 1 : 0);
  right->addLayout(inputRow);
  status_ = new QLabel(main);
  status_->setObjectName(QStringLiteral("toolStatus"));
  right->addWidget(status_);

  auto* outer = new QSplitter(Qt::Horizontal, this);
  outer->addWidget(scroll);
  outer->addWidget(main);
  outer->setStretchFactor(1, 1);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(6, 6, 6, 6);
  layout->addWidget(outer);

  connect(model_, &CheckpointPicker::chosen, this, [this](const QString& dir) {
    if (dir.isEmpty()) return;
    modelInfo_->setText(tr("Loading…"));
    engine_->loadModel(dir, context_ ? context_->torchThreads() : 0);
  });
  connect(engine_, &PlaygroundEngine::modelLoaded, this, [this](const QString&, const QString& summary, const QStringList& w) {
    modelInfo_->setText(summary + (w.isEmpty() ? QString() : QStringLiteral("\n⚠ ") + w.join(QStringLiteral("\n⚠ "))));
    updateButtons();
  });
  connect(engine_, &PlaygroundEngine::modelFailed, this, [this](const QString&, const QString& e) {
    modelInfo_->setText(tr("Could not load: %1").arg(e));
    updateButtons();
  });
  connect(engine_, &PlaygroundEngine::busyChanged, this, &ToolsPanel::updateButtons);
  connect(engine_, &PlaygroundEngine::token, this, [this](int id, const QString& t) {
    if (id != request_) return;
    streaming_ += t;
    status_->setText(tr("model writing: %1").arg(streaming_.right(120).simplified()));
  });
  connect(engine_, &PlaygroundEngine::toolEvent, this, [this](int id, const QJsonObject& e) {
    if (id != request_) return;
    streaming_.clear();
    addEvent(e);
  });
  connect(engine_, &PlaygroundEngine::toolsFinished, this, [this](int id, const QJsonObject& summary, const QJsonArray& messages) {
    if (id != request_) return;
    conversation_ = messagesFromJson(messages);
    answer_->setPlainText(summary.value("answer").toString());
    const QString reason = summary.value("stop_reason").toString();
    status_->setText(tr("%1 model call(s), %2 tool call(s); stopped: %3")
                         .arg(summary.value("steps").toInt())
                         .arg(summary.value("tool_calls").toInt())
                         .arg(reason == QLatin1String("step_limit") ? tr("step limit reached") : reason));
  });
  connect(engine_, &PlaygroundEngine::requestFailed, this, [this](int id, const QString& e) {
    status_->setText(e);
    if (id == request_ && !conversation_.empty() && conversation_.back().role == "user") conversation_.pop_back();
  });
  connect(run_, &QPushButton::clicked, this, [this] { run(input_->text()); });
  connect(input_, &QLineEdit::returnPressed, this, [this] { run(input_->text()); });
  connect(stop_, &QPushButton::clicked, engine_, &PlaygroundEngine::cancel);
  connect(reset_, &QPushButton::clicked, this, [this] {
    conversation_.clear();
    transcript_->clear();
    answer_->clear();
    status_->clear();
  });
  connect(raw_, &QPushButton::clicked, this, [this] {
    std::vector<tok::ChatMessage> msgs = conversation_;
    msgs.push_back({"user", input_->text().toStdString()});
    const int id = engine_->renderPrompt(msgs, true, setup());
    auto conn = std::make_shared<QMetaObject::Connection>();
    *conn = connect(engine_, &PlaygroundEngine::promptRendered, this,
                    [this, id, conn](int rid, const QString& text, const QVector<int>& ids, const QStringList& pieces) {
                      if (rid != id) return;
                      disconnect(*conn);
                      RawPromptDialog dialog(tr("Raw prompt with tools"), text, ids, pieces, this);
                      dialog.exec();
                    });
  });
  connect(save_, &QPushButton::clicked, this, [this] {
    auto ws = context_ ? context_->workspace() : nullptr;
    if (!ws || conversation_.empty()) return;
    const QString title = QString::fromStdString(conversation_.front().content).simplified().left(60);
    auto id = saveConversation(*ws, std::nullopt, title, QStringLiteral("tools"), messagesToJson(conversation_),
                               QJsonObject{{"checkpoint", engine_->modelDir()}, {"tools", QJsonArray::fromStringList(setup().enabled)}});
    status_->setText(id.is_ok() ? tr("Saved as conversation %1.").arg(*id) : QString::fromStdString(id.status().message()));
  });
  if (context_) {
    connect(context_, &gui::WorkbenchContext::workspaceChanged, this, &ToolsPanel::refreshTools);
    connect(context_, &gui::WorkbenchContext::objectAdded, this, &ToolsPanel::refreshTools);
  }
  refreshTools();
  updateButtons();
}

ToolSetup ToolsPanel::setup() const {
  ToolSetup s;
  auto ws = context_ ? context_->workspace() : nullptr;
  if (ws) s.workspace = QString::fromStdString(ws->root().string());
  s.ragIndex = ragIndex_->currentData().toString();
  s.maxSteps = maxSteps_->value();
  if (context_)
    for (gui::IToolProvider* p : context_->getObjects<gui::IToolProvider>())
      for (auto& t : p->tools()) s.extra.push_back(std::move(t));
  for (int i = 0; i < tools_->count(); ++i)
    if (tools_->item(i)->checkState() == Qt::Checked) s.enabled << tools_->item(i)->data(Qt::UserRole).toString();
  if (s.enabled.isEmpty()) s.enabled << QStringLiteral("(none)");  // nothing checked: offer nothing
  return s;
}

void ToolsPanel::refreshTools() {
  QStringList unchecked;
  for (int i = 0; i < tools_->count(); ++i)
    if (tools_->item(i)->checkState() != Qt::Checked) unchecked << tools_->item(i)->data(Qt::UserRole).toString();
  const QString keepIndex = ragIndex_->currentData().toString();
  ragIndex_->clear();
  ragIndex_->addItem(tr("(none)"), QString());
  auto ws = context_ ? context_->workspace() : nullptr;
  if (ws) {
    const QDir ragDir(QString::fromStdString((ws->root() / "rag").string()));
    for (const QString& name : ragDir.entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name))
      ragIndex_->addItem(name, ragDir.filePath(name));
  }
  if (int i = ragIndex_->findData(keepIndex); i >= 0) ragIndex_->setCurrentIndex(i);

  ToolSetup s;
  if (ws) s.workspace = QString::fromStdString(ws->root().string());
  s.ragIndex = ragIndex_->count() > 1 ? ragIndex_->itemData(1).toString() : QString();
  if (context_)
    for (gui::IToolProvider* p : context_->getObjects<gui::IToolProvider>())
      for (auto& t : p->tools()) s.extra.push_back(std::move(t));
  QString error;
  const QStringList names = PlaygroundEngine::availableTools(s, &error);
  tools_->clear();
  for (const QString& n : names) {
    auto* item = new QListWidgetItem(n, tools_);
    item->setData(Qt::UserRole, n);
    item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
    item->setCheckState(unchecked.contains(n) ? Qt::Unchecked : Qt::Checked);
    for (const auto& t : s.extra)
      if (QString::fromStdString(t.spec.name) == n) item->setText(n + tr("  (plugin)"));
    if (n == QLatin1String("write_note")) item->setText(n + tr("  (asks first)"));
  }
  if (!error.isEmpty()) status_->setText(error);
}

void ToolsPanel::run(const QString& question) {
  if (question.trimmed().isEmpty() || engine_->busy()) return;
  conversation_.push_back({"user", question.toStdString()});
  auto* item = new QTreeWidgetItem(transcript_, {QString(), tr("user"), QString(), question});
  item->setForeground(1, QColor(0x1f, 0x5f, 0xa8));
  answer_->clear();
  streaming_.clear();
  request_ = engine_->runTools(conversation_, sampling_->sampling(), setup());
  input_->clear();
}

void ToolsPanel::addEvent(const QJsonObject& e) {
  const QString kind = e.value("kind").toString();
  const QString step = QString::number(e.value("step").toInt());
  QTreeWidgetItem* item = nullptr;
  if (kind == QLatin1String("assistant")) {
    item = new QTreeWidgetItem(transcript_, {step, tr("model"), QString(), e.value("text").toString().simplified().left(2000)});
    item->setToolTip(3, e.value("text").toString());
  } else if (kind == QLatin1String("call")) {
    item = new QTreeWidgetItem(transcript_, {step, tr("call"), e.value("name").toString(), compactJson(e.value("arguments"))});
    item->setForeground(1, QColor(0x6a, 0x1b, 0x9a));
  } else if (kind == QLatin1String("result")) {
    const bool ok = e.value("ok").toBool();
    const QString body = ok ? compactJson(e.value("result")) : e.value("error").toString();
    item = new QTreeWidgetItem(transcript_, {step, e.value("declined").toBool() ? tr("declined") : ok ? tr("result") : tr("error"),
                                             e.value("name").toString(), body.left(2000)});
    item->setToolTip(3, body.left(20000));
    item->setForeground(1, ok ? QColor(0x2e, 0x7d, 0x32) : QColor(0xc6, 0x28, 0x28));
  } else if (kind == QLatin1String("parse_error")) {
    item = new QTreeWidgetItem(transcript_, {step, tr("unreadable"), tr("tool call"), e.value("text").toString()});
    item->setForeground(1, QColor(0xc6, 0x28, 0x28));
  } else if (kind == QLatin1String("final")) {
    item = new QTreeWidgetItem(transcript_, {step, tr("answer"), QString(), e.value("text").toString().simplified().left(2000)});
    item->setForeground(1, QColor(0x2e, 0x7d, 0x32));
  }
  if (item) transcript_->scrollToItem(item);
}

bool ToolsPanel::confirm(const QString& tool, const QString& args) {
  return QMessageBox::question(this, tr("Allow tool call?"),
                               tr("The model wants to run <b>%1</b>, which changes data, with:<pre>%2</pre>Allow it?")
                                   .arg(tool.toHtmlEscaped(), args.toHtmlEscaped()),
                               QMessageBox::Yes | QMessageBox::No, QMessageBox::No) == QMessageBox::Yes;
}

void ToolsPanel::updateButtons() {
  const bool busy = engine_->busy();
  run_->setEnabled(!busy && engine_->hasModel());
  stop_->setEnabled(busy);
  reset_->setEnabled(!busy);
  raw_->setEnabled(!busy && engine_->hasModel());
  save_->setEnabled(!busy && context_ && context_->workspace());
}

}  // namespace kanana::playground
