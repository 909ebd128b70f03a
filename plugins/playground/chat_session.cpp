// Chat mode's conversation logic (see chat_session.h).
#include "chat_session.h"

#include "playground_engine.h"

namespace kanana::playground {

QString formatStats(const QJsonObject& s) {
  QString out = QStringLiteral("%1 tokens · %2 tok/s")
                    .arg(s.value("generated_tokens").toInteger())
                    .arg(s.value("tokens_per_second").toDouble(), 0, 'f', 1);
  if (s.contains("prompt_tokens")) out += QStringLiteral(" · prompt %1").arg(s.value("prompt_tokens").toInteger());
  if (s.value("dropped_messages").toInt() > 0)
    out += QStringLiteral(" · %1 old messages left out").arg(s.value("dropped_messages").toInt());
  out += QStringLiteral(" · stop: %1").arg(s.value("stop_reason").toString());
  return out;
}

ChatSession::ChatSession(PlaygroundEngine* engine, QObject* parent) : QObject(parent), engine_(engine) {
  flush_.setSingleShot(true);
  flush_.setInterval(40);
  connect(&flush_, &QTimer::timeout, this, [this] {
    if (request_) Q_EMIT streamed(streaming_);
  });
  connect(engine_, &PlaygroundEngine::token, this, &ChatSession::onToken);
  connect(engine_, &PlaygroundEngine::replyFinished, this, &ChatSession::onFinished);
  connect(engine_, &PlaygroundEngine::requestFailed, this, &ChatSession::onFailed);
}

std::vector<tok::ChatMessage> ChatSession::messages() const {
  std::vector<tok::ChatMessage> out;
  if (!system_.trimmed().isEmpty()) out.push_back({"system", system_.toStdString()});
  for (const auto& t : turns_) out.push_back(t.message);
  return out;
}

double ChatSession::liveTokensPerSecond() const {
  const double s = started_.isValid() ? started_.elapsed() / 1000.0 : 0.0;
  return busy() && s > 0 ? pieces_ / s : 0.0;
}

bool ChatSession::startReply() {
  streaming_.clear();
  pieces_ = 0;
  started_.start();
  request_ = engine_->generate(messages(), sampling_);
  Q_EMIT busyChanged(true);
  Q_EMIT streamed(QString());
  return true;
}

bool ChatSession::send(const QString& user) {
  if (busy() || user.trimmed().isEmpty()) return false;
  turns_.push_back({{"user", user.toStdString()}, {}});
  Q_EMIT turnsChanged();
  return startReply();
}

bool ChatSession::regenerate() {
  if (busy()) return false;
  while (!turns_.empty() && turns_.back().message.role == "assistant") turns_.pop_back();
  if (turns_.empty() || turns_.back().message.role != "user") return false;
  Q_EMIT turnsChanged();
  return startReply();
}

bool ChatSession::editTurn(int index, const QString& text) {
  if (busy() || index < 0 || index >= static_cast<int>(turns_.size())) return false;
  turns_.resize(static_cast<size_t>(index) + 1);
  ChatTurn& t = turns_.back();
  t.message.content = text.toStdString();
  t.message.tool_calls = Json();
  if (t.message.role == "assistant") t.meta = {{"edited", true}};
  Q_EMIT turnsChanged();
  if (t.message.role == "user") return startReply();
  return true;
}

void ChatSession::stop() {
  if (busy()) engine_->cancel();
}

void ChatSession::clear() {
  if (busy()) return;
  turns_.clear();
  Q_EMIT turnsChanged();
}

void ChatSession::setTurns(std::vector<ChatTurn> turns) {
  if (busy()) return;
  turns_ = std::move(turns);
  Q_EMIT turnsChanged();
}

void ChatSession::onToken(int id, const QString& text) {
  if (id != request_) return;
  streaming_ += text;
  ++pieces_;
  if (!flush_.isActive()) flush_.start();
}

void ChatSession::onFinished(int id, const QString& text, const QJsonObject& stats) {
  if (id != request_) return;
  request_ = 0;
  flush_.stop();
  streaming_.clear();
  ChatTurn t{{"assistant", text.toStdString()}, stats};
  t.meta["checkpoint"] = engine_->modelDir();
  turns_.push_back(std::move(t));
  lastStats_ = formatStats(stats);
  Q_EMIT turnsChanged();
  Q_EMIT busyChanged(false);
  Q_EMIT replyDone(stats);
}

void ChatSession::onFailed(int id, const QString& error) {
  if (id != request_) return;
  request_ = 0;
  flush_.stop();
  streaming_.clear();
  lastStats_ = error;
  Q_EMIT turnsChanged();
  Q_EMIT busyChanged(false);
  Q_EMIT failed(error);
}

QJsonArray ChatSession::toMessagesJson() const {
  QJsonArray out = messagesToJson(messages());
  const int offset = system_.trimmed().isEmpty() ? 0 : 1;
  for (size_t i = 0; i < turns_.size(); ++i) {
    if (turns_[i].meta.isEmpty()) continue;
    QJsonObject o = out[offset + static_cast<int>(i)].toObject();
    o["meta"] = turns_[i].meta;
    out[offset + static_cast<int>(i)] = o;
  }
  return out;
}

void ChatSession::fromMessagesJson(const QJsonArray& messages) {
  if (busy()) return;
  const auto msgs = messagesFromJson(messages);
  system_.clear();
  turns_.clear();
  for (size_t i = 0; i < msgs.size(); ++i) {
    if (i == 0 && msgs[i].role == "system") {
      system_ = QString::fromStdString(msgs[i].content);
      continue;
    }
    turns_.push_back({msgs[i], messages.at(static_cast<qsizetype>(i)).toObject().value("meta").toObject()});
  }
  Q_EMIT turnsChanged();
}

}  // namespace kanana::playground
