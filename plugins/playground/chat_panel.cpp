// Chat mode widgets (see chat_panel.h).
#include "chat_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDateTime>
#include <QFileInfo>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QJsonDocument>
#include <QKeyEvent>
#include <QLabel>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QSplitter>
#include <QVBoxLayout>
#include <functional>
#include <memory>

#include "chat_session.h"
#include "conversation_store.h"
#include "playground_engine.h"
#include "playground_widgets.h"
#include "send_key_filter.h"
#include "sdk/workbench_context.h"
#include "base/process_memory.h"
#include "store/workspace.h"

namespace kanana::playground {

namespace {

QJsonObject samplingJson(const chat::ChatSampling& s) {
  return QJsonDocument::fromJson(QByteArray::fromStdString(s.to_json().dump())).object();
}


}  // namespace

ChatPanel::ChatPanel(gui::WorkbenchContext* context, QWidget* parent) : QWidget(parent), context_(context) {
  engineA_ = new PlaygroundEngine(this);
  engineB_ = new PlaygroundEngine(this);
  sessionA_ = new ChatSession(engineA_, this);
  sessionB_ = new ChatSession(engineB_, this);

  // ---- left: settings
  auto* settingsBox = new QWidget(this);
  auto* left = new QVBoxLayout(settingsBox);
  left->setContentsMargins(0, 0, 0, 0);
  auto* modelBox = new QGroupBox(tr("Checkpoint"), settingsBox);
  auto* modelLayout = new QVBoxLayout(modelBox);
  pickerA_ = new CheckpointPicker(context, modelBox);
  pickerA_->setObjectName(QStringLiteral("checkpointA"));
  modelInfoA_ = new QLabel(tr("No checkpoint loaded."), modelBox);
  modelInfoA_->setWordWrap(true);
  modelInfoA_->setStyleSheet(QStringLiteral("color:#666"));
  compare_ = new QCheckBox(tr("Compare side by side with"), modelBox);
  compare_->setObjectName(QStringLiteral("compare"));
  pickerB_ = new CheckpointPicker(context, modelBox);
  pickerB_->setObjectName(QStringLiteral("checkpointB"));
  modelInfoB_ = new QLabel(modelBox);
  modelInfoB_->setWordWrap(true);
  modelInfoB_->setStyleSheet(QStringLiteral("color:#666"));
  weights_ = new QComboBox(modelBox);
  weights_->setObjectName(QStringLiteral("weights"));
  weights_->addItem(tr("LibTorch, f32"), QString());
  for (const char* f : {"bf16", "int8", "q4", "f32"})
    weights_->addItem(tr("CPU engine, %1 weights").arg(QString::fromLatin1(f)), QString::fromLatin1(f));
  weights_->setToolTip(tr("How the model runs: LibTorch (as in training) or the Torch-free CPU engine with every "
                          "weight in bf16, int8 or 4-bit (q4): less memory and faster decoding on a CPU. A folder "
                          "from `kanana model quantize` always runs on the engine in its stored format."));
  auto* weightsRow = new QHBoxLayout;
  weightsRow->addWidget(new QLabel(tr("Run with"), modelBox));
  weightsRow->addWidget(weights_, 1);
  modelLayout->addLayout(weightsRow);
  modelLayout->addWidget(pickerA_);
  modelLayout->addWidget(modelInfoA_);
  modelLayout->addWidget(compare_);
  modelLayout->addWidget(pickerB_);
  modelLayout->addWidget(modelInfoB_);
  left->addWidget(modelBox);

  auto* systemBox = new QGroupBox(tr("System prompt"), settingsBox);
  auto* systemLayout = new QVBoxLayout(systemBox);
  system_ = new QPlainTextEdit(systemBox);
  system_->setObjectName(QStringLiteral("systemPrompt"));
  system_->setPlaceholderText(tr("e.g. You are a helpful assistant. Answer in the user's language."));
  system_->setMaximumHeight(90);
  systemLayout->addWidget(system_);
  left->addWidget(systemBox);

  auto* samplingBox = new QGroupBox(tr("Sampling"), settingsBox);
  auto* samplingLayout = new QVBoxLayout(samplingBox);
  sampling_ = new SamplingPanel(samplingBox);
  samplingLayout->addWidget(sampling_);
  left->addWidget(samplingBox);

  auto* savedBox = new QGroupBox(tr("Conversations"), settingsBox);
  auto* savedLayout = new QVBoxLayout(savedBox);
  saved_ = new QComboBox(savedBox);
  saved_->setObjectName(QStringLiteral("savedConversations"));
  auto* savedButtons = new QHBoxLayout;
  save_ = new QPushButton(tr("Save"), savedBox);
  save_->setObjectName(QStringLiteral("save"));
  annotate_ = new QPushButton(tr("Send to annotation"), savedBox);
  annotate_->setObjectName(QStringLiteral("sendToAnnotation"));
  annotate_->setToolTip(tr("Store this conversation as a prompt (set \"%1\") with its replies as candidates, "
                           "for the Preference Annotation page")
                            .arg(QString::fromLatin1(kAnnotationPromptSet)));
  savedButtons->addWidget(save_);
  savedButtons->addWidget(annotate_);
  savedLayout->addWidget(saved_);
  savedLayout->addLayout(savedButtons);
  left->addWidget(savedBox);
  left->addStretch(1);

  QScrollArea* scroll = settingsScrollArea(settingsBox, this);

  // ---- right: transcripts and input
  auto* chatArea = new QWidget(this);
  auto* right = new QVBoxLayout(chatArea);
  right->setContentsMargins(0, 0, 0, 0);
  auto* columns = new QSplitter(Qt::Horizontal, chatArea);
  viewA_ = new TranscriptView(columns);
  viewA_->setObjectName(QStringLiteral("transcriptA"));
  viewB_ = new TranscriptView(columns);
  viewB_->setObjectName(QStringLiteral("transcriptB"));
  columns->addWidget(viewA_);
  columns->addWidget(viewB_);
  right->addWidget(columns, 1);
  input_ = new QPlainTextEdit(chatArea);
  input_->setObjectName(QStringLiteral("messageInput"));
  input_->setPlaceholderText(tr("Message (Enter to send, Shift+Enter for a new line)"));
  input_->setMaximumHeight(90);
  right->addWidget(input_);
  auto* buttons = new QHBoxLayout;
  send_ = new QPushButton(tr("Send"), chatArea);
  send_->setObjectName(QStringLiteral("send"));
  send_->setDefault(true);
  stop_ = new QPushButton(tr("Stop"), chatArea);
  stop_->setObjectName(QStringLiteral("stop"));
  regenerate_ = new QPushButton(tr("Regenerate"), chatArea);
  regenerate_->setObjectName(QStringLiteral("regenerate"));
  clear_ = new QPushButton(tr("New chat"), chatArea);
  clear_->setObjectName(QStringLiteral("newChat"));
  raw_ = new QPushButton(tr("Raw prompt…"), chatArea);
  raw_->setObjectName(QStringLiteral("rawPrompt"));
  raw_->setToolTip(tr("The rendered chat template and its token ids, as the model sees them"));
  status_ = new QLabel(chatArea);
  status_->setObjectName(QStringLiteral("chatStatus"));
  for (QPushButton* b : {send_, stop_, regenerate_, clear_, raw_}) buttons->addWidget(b);
  buttons->addWidget(status_, 1);
  right->addLayout(buttons);

  auto* split = new QSplitter(Qt::Horizontal, this);
  split->addWidget(scroll);
  split->addWidget(chatArea);
  split->setStretchFactor(1, 1);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(6, 6, 6, 6);
  layout->addWidget(split);

  // ---- behaviour
  new SendKeyFilter(input_, [this] { sendMessage(input_->toPlainText()); });
  connect(send_, &QPushButton::clicked, this, [this] { sendMessage(input_->toPlainText()); });
  connect(stop_, &QPushButton::clicked, this, [this] {
    sessionA_->stop();
    sessionB_->stop();
  });
  connect(regenerate_, &QPushButton::clicked, this, [this] {
    applySettings();
    sessionA_->regenerate();
    if (comparing()) sessionB_->regenerate();
  });
  connect(clear_, &QPushButton::clicked, this, [this] {
    sessionA_->clear();
    sessionB_->clear();
    conversationId_.reset();
    status_->clear();
  });
  connect(raw_, &QPushButton::clicked, this, [this] { showRaw(0); });
  connect(save_, &QPushButton::clicked, this, [this] {
    QString error;
    if (saveConversation(&error)) status_->setText(tr("Saved as conversation %1.").arg(*conversationId_));
    else QMessageBox::warning(this, tr("Save conversation"), error);
  });
  connect(annotate_, &QPushButton::clicked, this, [this] {
    QString error;
    if (sendToAnnotation(&error)) status_->setText(tr("Sent to annotation (prompt set \"%1\").").arg(QString::fromLatin1(kAnnotationPromptSet)));
    else QMessageBox::warning(this, tr("Send to annotation"), error);
  });
  connect(saved_, &QComboBox::activated, this, &ChatPanel::openSaved);
  connect(pickerA_, &CheckpointPicker::chosen, this, [this](const QString& dir) { loadCheckpoint(0, dir); });
  connect(pickerB_, &CheckpointPicker::chosen, this, [this](const QString& dir) { loadCheckpoint(1, dir); });
  // Another way of running the model: reload what is loaded (both columns, so they compare alike).
  connect(weights_, &QComboBox::currentIndexChanged, this, [this] {
    if (engineA_->hasModel()) loadCheckpoint(0, engineA_->modelDir());
    if (comparing() && engineB_->hasModel()) loadCheckpoint(1, engineB_->modelDir());
  });
  connect(compare_, &QCheckBox::toggled, this, &ChatPanel::setComparing);
  connect(viewA_, &TranscriptView::editRequested, this, [this](int i) { editTurn(0, i); });
  connect(viewB_, &TranscriptView::editRequested, this, [this](int i) { editTurn(1, i); });
  for (ChatSession* s : {sessionA_, sessionB_}) {
    connect(s, &ChatSession::turnsChanged, this, &ChatPanel::updateViews);
    connect(s, &ChatSession::streamed, this, &ChatPanel::updateViews);
    connect(s, &ChatSession::busyChanged, this, &ChatPanel::updateButtons);
    connect(s, &ChatSession::failed, this, [this](const QString& e) { status_->setText(e); });
  }
  for (int column : {0, 1}) {
    PlaygroundEngine* e = engine(column);
    QLabel* info = column == 0 ? modelInfoA_ : modelInfoB_;
    connect(e, &PlaygroundEngine::modelLoaded, this, [this, info](const QString&, const QString& summary, const QStringList& warnings) {
      info->setText(summary + (warnings.isEmpty() ? QString() : QStringLiteral("\n⚠ ") + warnings.join(QStringLiteral("\n⚠ "))));
      updateButtons();
    });
    connect(e, &PlaygroundEngine::modelFailed, this, [this, info](const QString&, const QString& error) {
      info->setText(tr("Could not load: %1").arg(error));
      updateButtons();
    });
    connect(e, &PlaygroundEngine::busyChanged, this, &ChatPanel::updateButtons);
  }
  if (context_) connect(context_, &gui::WorkbenchContext::workspaceChanged, this, &ChatPanel::refreshSaved);
  setComparing(false);
  refreshSaved();
  updateViews();
  updateButtons();
}

ChatPanel::~ChatPanel() = default;

bool ChatPanel::comparing() const { return compare_->isChecked(); }

void ChatPanel::setComparing(bool on) {
  if (compare_->isChecked() != on) compare_->setChecked(on);
  pickerB_->setEnabled(on);
  viewB_->setVisible(on);
  modelInfoB_->setVisible(on);
  if (on) {
    // Side by side on the same conversation: B starts from A's turns.
    if (!sessionB_->busy()) sessionB_->setTurns(sessionA_->turns());
  }
  updateViews();
  updateButtons();
}

void ChatPanel::loadCheckpoint(int column, const QString& dir) {
  if (dir.isEmpty()) return;
  (column == 0 ? pickerA_ : pickerB_)->setCurrentDir(dir);
  (column == 0 ? modelInfoA_ : modelInfoB_)->setText(tr("Loading %1…").arg(QFileInfo(dir).fileName()));
  const int threads = context_ ? context_->torchThreads() : 0;
  engine(column)->loadModel(dir, threads, weights_->currentData().toString());
  updateButtons();
}

void ChatPanel::applySettings() {
  for (ChatSession* s : {sessionA_, sessionB_}) {
    s->setSystemPrompt(system_->toPlainText());
    s->setSampling(sampling_->sampling());
  }
}

void ChatPanel::sendMessage(const QString& text) {
  if (text.trimmed().isEmpty() || sessionA_->busy() || sessionB_->busy()) return;
  applySettings();
  if (!sessionA_->send(text)) return;
  if (comparing()) sessionB_->send(text);
  input_->clear();
}

void ChatPanel::editTurn(int column, int index) {
  ChatSession* s = session(column);
  if (index < 0 || index >= static_cast<int>(s->turns().size())) return;
  const std::string role = s->turns()[static_cast<size_t>(index)].message.role;
  const QString current = QString::fromStdString(s->turns()[static_cast<size_t>(index)].message.content);
  bool ok = false;
  const QString text = QInputDialog::getMultiLineText(
      this, tr("Edit %1 turn").arg(QString::fromStdString(role)),
      role == "user" ? tr("Later turns are dropped and the model answers again:")
                     : tr("Later turns are dropped; the conversation continues from this reply:"),
      current, &ok);
  if (!ok) return;
  applySettings();
  s->editTurn(index, text);
  // A user turn is shared by both columns in comparison.
  if (comparing() && role == "user") {
    ChatSession* other = session(1 - column);
    if (index < static_cast<int>(other->turns().size())) other->editTurn(index, text);
  }
}

void ChatPanel::showRaw(int column) {
  PlaygroundEngine* e = engine(column);
  applySettings();
  std::vector<tok::ChatMessage> msgs = session(column)->messages();
  if (!input_->toPlainText().trimmed().isEmpty()) msgs.push_back({"user", input_->toPlainText().toStdString()});
  if (msgs.empty()) msgs.push_back({"user", ""});
  const int id = e->renderPrompt(msgs, false);
  auto conn = std::make_shared<QMetaObject::Connection>();
  auto fail = std::make_shared<QMetaObject::Connection>();
  *conn = connect(e, &PlaygroundEngine::promptRendered, this,
                  [this, id, conn, fail](int rid, const QString& text, const QVector<int>& ids, const QStringList& pieces) {
                    if (rid != id) return;
                    disconnect(*conn);
                    disconnect(*fail);
                    RawPromptDialog dialog(tr("Raw prompt"), text, ids, pieces, this);
                    dialog.exec();
                  });
  *fail = connect(e, &PlaygroundEngine::requestFailed, this, [this, id, conn, fail](int rid, const QString& error) {
    if (rid != id) return;
    disconnect(*conn);
    disconnect(*fail);
    status_->setText(error);
  });
}

void ChatPanel::updateViews() {
  viewA_->setTitle(comparing() ? QFileInfo(engineA_->modelDir()).fileName() : QString());
  viewA_->showTurns(sessionA_->turns(), system_->toPlainText(), sessionA_->streamingText(), sessionA_->busy());
  if (comparing()) {
    viewB_->setTitle(QFileInfo(engineB_->modelDir()).fileName());
    viewB_->showTurns(sessionB_->turns(), system_->toPlainText(), sessionB_->streamingText(), sessionB_->busy());
  }
  if (sessionA_->busy() || sessionB_->busy()) {
    QString s = tr("generating… %1 tok/s").arg(sessionA_->liveTokensPerSecond(), 0, 'f', 1);
    if (comparing()) s += tr(" | %1 tok/s").arg(sessionB_->liveTokensPerSecond(), 0, 'f', 1);
    s += tr(" · resident %1 MiB").arg(process_memory().resident_bytes / 1048576.0, 0, 'f', 0);
    status_->setText(s);
  } else if (!sessionA_->lastStats().isEmpty()) {
    status_->setText(sessionA_->lastStats() + (comparing() && !sessionB_->lastStats().isEmpty()
                                                   ? QStringLiteral("  |  ") + sessionB_->lastStats()
                                                   : QString()));
  }
}

void ChatPanel::updateButtons() {
  const bool busy = sessionA_->busy() || sessionB_->busy() || engineA_->busy() || (comparing() && engineB_->busy());
  const bool ready = engineA_->hasModel() && (!comparing() || engineB_->hasModel());
  const bool hasTurns = !sessionA_->turns().empty();
  send_->setEnabled(!busy && ready);
  stop_->setEnabled(sessionA_->busy() || sessionB_->busy());
  regenerate_->setEnabled(!busy && ready && hasTurns);
  clear_->setEnabled(!busy);
  raw_->setEnabled(!busy && engineA_->hasModel());
  const bool ws = context_ && context_->workspace() && !context_->workspace()->read_only();
  save_->setEnabled(!busy && ws && hasTurns);
  annotate_->setEnabled(!busy && ws && hasTurns);
  compare_->setEnabled(!busy);
  updateViews();
}

bool ChatPanel::saveConversation(QString* error) {
  auto ws = context_ ? context_->workspace() : nullptr;
  if (!ws) return *error = tr("No workspace is open."), false;
  if (sessionA_->turns().empty()) return *error = tr("The conversation is empty."), false;
  applySettings();
  QString title = QString::fromStdString(sessionA_->turns().front().message.content).simplified().left(60);
  QJsonObject meta{{"checkpoint", engineA_->modelDir()}, {"sampling", samplingJson(sampling_->sampling())}};
  if (comparing())
    meta["compare"] = QJsonObject{{"checkpoint", engineB_->modelDir()}, {"messages", sessionB_->toMessagesJson()}};
  auto id = playground::saveConversation(*ws, conversationId_, title, QStringLiteral("chat"), sessionA_->toMessagesJson(), meta);
  if (!id.is_ok()) return *error = QString::fromStdString(id.status().message()), false;
  conversationId_ = *id;
  refreshSaved();
  return true;
}

bool ChatPanel::sendToAnnotation(QString* error) {
  auto ws = context_ ? context_->workspace() : nullptr;
  if (!ws) return *error = tr("No workspace is open."), false;
  applySettings();
  std::vector<AnnotationReply> replies;
  const QJsonObject sampling = samplingJson(sampling_->sampling());
  const auto last_reply = [](ChatSession* s) {
    const auto& t = s->turns();
    return !t.empty() && t.back().message.role == "assistant" ? QString::fromStdString(t.back().message.content) : QString();
  };
  replies.push_back({last_reply(sessionA_), engineA_->modelDir(), sampling});
  if (comparing()) replies.push_back({last_reply(sessionB_), engineB_->modelDir(), sampling});
  auto id = playground::sendToAnnotation(*ws, sessionA_->toMessagesJson(), replies, conversationId_);
  if (!id.is_ok()) return *error = QString::fromStdString(id.status().message()), false;
  if (context_) context_->logInfo(QStringLiteral("playground"), tr("conversation sent to annotation as prompt %1").arg(*id));
  return true;
}

void ChatPanel::refreshSaved() {
  saved_->clear();
  saved_->addItem(tr("(open a saved conversation)"), QVariant());
  auto ws = context_ ? context_->workspace() : nullptr;
  if (!ws) return;
  auto list = listConversations(*ws, QStringLiteral("chat"));
  if (!list.is_ok()) return;
  for (const auto& c : *list)
    saved_->addItem(QStringLiteral("#%1 %2 (%3)").arg(c.id).arg(c.title, c.updatedAt.left(16)), QVariant::fromValue(c.id));
}

void ChatPanel::openSaved(int index) {
  const QVariant v = saved_->itemData(index);
  auto ws = context_ ? context_->workspace() : nullptr;
  if (!v.isValid() || !ws || sessionA_->busy() || sessionB_->busy()) return;
  auto list = listConversations(*ws, QStringLiteral("chat"));
  if (!list.is_ok()) return;
  for (const auto& c : *list) {
    if (c.id != v.toLongLong()) continue;
    sessionA_->fromMessagesJson(c.messages);
    system_->setPlainText(sessionA_->systemPrompt());
    if (auto s = chat::ChatSampling::from_json(toJson(c.meta.value("sampling")), "conversation"); s.is_ok())
      sampling_->setSampling(*s);
    const QString dir = c.meta.value("checkpoint").toString();
    if (!dir.isEmpty() && dir != engineA_->modelDir() && QFileInfo::exists(dir)) loadCheckpoint(0, dir);
    if (c.meta.contains("compare")) {
      const QJsonObject cmp = c.meta.value("compare").toObject();
      setComparing(true);
      sessionB_->fromMessagesJson(cmp.value("messages").toArray());
      const QString b = cmp.value("checkpoint").toString();
      if (!b.isEmpty() && b != engineB_->modelDir() && QFileInfo::exists(b)) loadCheckpoint(1, b);
    } else {
      setComparing(false);
    }
    conversationId_ = c.id;
    status_->setText(tr("Opened conversation %1.").arg(c.id));
    break;
  }
}

}  // namespace kanana::playground
