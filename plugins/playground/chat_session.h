// One conversation with one checkpoint: the turns, the system prompt and sampling settings,
// and the actions of the Chat mode — send, stop, regenerate, edit any turn and continue from
// there — over a PlaygroundEngine. Streamed text is coalesced (at most one streamed() signal
// per 40 ms) so a fast model cannot flood the GUI with repaints.
//
// Threading: GUI thread only (the engine does the work on its thread).
#pragma once

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonObject>
#include <QObject>
#include <QString>
#include <QTimer>
#include <vector>

#include "chat/chat_model.h"
#include "tokenizer/chat_template.h"

namespace kanana::playground {

class PlaygroundEngine;

struct ChatTurn {
  tok::ChatMessage message;
  QJsonObject meta;  // assistant turns: generated_tokens, tokens_per_second, stop_reason, checkpoint
};

class ChatSession : public QObject {
  Q_OBJECT
 public:
  explicit ChatSession(PlaygroundEngine* engine, QObject* parent = nullptr);

  PlaygroundEngine* engine() const { return engine_; }
  const std::vector<ChatTurn>& turns() const { return turns_; }
  QString systemPrompt() const { return system_; }
  void setSystemPrompt(const QString& text) { system_ = text; }
  const chat::ChatSampling& sampling() const { return sampling_; }
  void setSampling(const chat::ChatSampling& s) { sampling_ = s; }
  bool busy() const { return request_ != 0; }
  QString streamingText() const { return streaming_; }
  QString lastStats() const { return lastStats_; }
  // While streaming: pieces received per second since the request started (about tokens/s).
  double liveTokensPerSecond() const;

  // The messages the model sees: the system prompt, then the turns.
  std::vector<tok::ChatMessage> messages() const;

  // Each returns false (and does nothing) while a reply is being generated, or when the
  // action does not apply (regenerate with no user turn, edit of a turn that does not exist).
  bool send(const QString& user);
  bool regenerate();
  // Replace turn `index`'s text and drop every later turn. A user turn is answered again; an
  // assistant turn is kept as written, and the conversation continues from it.
  bool editTurn(int index, const QString& text);
  void stop();
  void clear();
  void setTurns(std::vector<ChatTurn> turns);

  // {"system", "sampling", "turns": [message + "meta"]} for the workspace's conversations table.
  QJsonArray toMessagesJson() const;  // OpenAI messages (system first), each with its "meta"
  void fromMessagesJson(const QJsonArray& messages);

 Q_SIGNALS:
  void turnsChanged();
  void streamed(const QString& textSoFar);
  void busyChanged(bool busy);
  void replyDone(const QJsonObject& stats);
  void failed(const QString& error);

 private:
  bool startReply();
  void onToken(int id, const QString& text);
  void onFinished(int id, const QString& text, const QJsonObject& stats);
  void onFailed(int id, const QString& error);

  PlaygroundEngine* engine_;
  std::vector<ChatTurn> turns_;
  QString system_;
  chat::ChatSampling sampling_;
  int request_ = 0;
  QString streaming_;
  int pieces_ = 0;
  QElapsedTimer started_;
  QString lastStats_;
  QTimer flush_;
};

// "12 tokens · 34.5 tok/s · stop: stop_token" for a reply's stats.
QString formatStats(const QJsonObject& stats);

}  // namespace kanana::playground
