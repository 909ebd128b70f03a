// The Playground's engine: one checkpoint (and optionally one RAG index) on a worker thread of
// its own, driven from the GUI thread. Chat generation, the function-calling loop and RAG
// answers all stream back through queued signals, so the window never waits on the model.
//
// Threading contract:
//  - A PlaygroundEngine lives on the GUI thread; its private Worker (the ChatModel, the
//    RagIndex, the tool registry) lives on the engine's QThread and is only touched there.
//  - Every request method returns at once with a request id; results arrive as signals on the
//    GUI thread, always ending with exactly one replyFinished / requestFailed (or
//    ingestFinished) for that id. Requests run one after another in the order given.
//  - cancel() may be called from any thread: it stops the current request (a reply in progress
//    finishes with stop_reason "cancelled" and the text so far) and nothing queued behind it.
//  - A side-effect tool asks the confirm handler on the GUI thread; the worker waits for the
//    answer but gives up (declines) when cancelled or when the engine is destroyed, so
//    destruction never deadlocks.
//  - The destructor cancels and joins the thread.
#pragma once

#include <QJsonArray>
#include <QJsonObject>
#include <QObject>
#include <QString>
#include <QStringList>
#include <QThread>
#include <QVector>
#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include "chat/chat_model.h"
#include "tokenizer/chat_template.h"
#include "tools/tool.h"
#include "tools/tool_loop.h"

namespace kanana::playground {

class EngineWorker;

// What the tool loop may use. Built on the worker before each run.
struct ToolSetup {
  QString workspace;                 // sql_query / write_note / read_file root ("" = none)
  QStringList readFolders;           // extra read_file folders
  QString ragIndex;                  // search_documents over this index ("" = none)
  QStringList enabled;               // tool names to offer; empty = all
  std::vector<tools::Tool> extra;    // tools registered by plugins (IToolProvider)
  int maxSteps = 5;
};

struct RagSettings {
  QString indexDir;        // the index folder (created on first ingest when missing)
  QString embedder;        // embedding model folder ("" = full-text only)
  QString tokenizer;       // for a full-text-only index: chunk token counts (a model folder or file)
  int k = 5;
  QString mode = QStringLiteral("hybrid");  // bm25 | vector | hybrid
};

class PlaygroundEngine : public QObject {
  Q_OBJECT
 public:
  explicit PlaygroundEngine(QObject* parent = nullptr);
  ~PlaygroundEngine() override;

  // ---- model
  // `weights`: "" = LibTorch (f32); f32 | bf16 | int8 | q4 = the Torch-free CPU engine in that
  // format (chat::ChatModelOptions::weights). The loaded summary names the backend.
  void loadModel(const QString& dir, int threads = 0, const QString& weights = QString());
  QString modelDir() const { return modelDir_; }
  bool hasModel() const { return hasModel_; }
  // Replaces the checkpoint with a function (tests; a remote model). Empty: use the checkpoint.
  void setGenerateOverride(tools::GenerateFunction generate);

  // ---- requests (return the request id)
  int generate(const std::vector<tok::ChatMessage>& messages, const chat::ChatSampling& sampling);
  int runTools(const std::vector<tok::ChatMessage>& messages, const chat::ChatSampling& sampling, ToolSetup setup);
  int renderPrompt(const std::vector<tok::ChatMessage>& messages, bool withTools, ToolSetup setup = {});
  int ingest(const RagSettings& settings, const QStringList& paths);
  int askRag(const RagSettings& settings, const QString& question, const chat::ChatSampling& sampling);
  void cancel();
  bool busy() const { return pending_ > 0; }

  // Called on the GUI thread for each side-effect tool call; return true to run it.
  using ConfirmHandler = std::function<bool(const QString& tool, const QString& argumentsJson)>;
  void setConfirmHandler(ConfirmHandler handler) { confirm_ = std::move(handler); }

  // The tool names a ToolSetup would offer (for the tools checklist); runs on the caller's thread.
  static QStringList availableTools(const ToolSetup& setup, QString* error = nullptr);

 Q_SIGNALS:
  void modelLoaded(const QString& dir, const QString& summary, const QStringList& warnings);
  void modelFailed(const QString& dir, const QString& error);
  void token(int id, const QString& text);
  // stats: generated_tokens, prompt_tokens, tokens_per_second, stop_reason, dropped_messages, seconds
  void replyFinished(int id, const QString& text, const QJsonObject& stats);
  void requestFailed(int id, const QString& error);
  // kind: assistant | call | result | parse_error | final; step; text; name; arguments; result; error; declined
  void toolEvent(int id, const QJsonObject& event);
  // The tool loop ended: answer, stop_reason, steps, tool_calls, and the conversation it produced.
  void toolsFinished(int id, const QJsonObject& summary, const QJsonArray& messages);
  void promptRendered(int id, const QString& text, const QVector<int>& ids, const QStringList& pieces);
  void ragSources(int id, const QJsonArray& citations);
  void ingestProgress(int id, qint64 done, qint64 total);
  void ingestFinished(int id, const QJsonObject& report);
  void busyChanged(bool busy);

 private:
  friend class EngineWorker;
  int begin();
  void end();
  bool askConfirm(const QString& tool, const QString& args);  // GUI thread

  QThread thread_;
  EngineWorker* worker_ = nullptr;
  std::shared_ptr<CancelToken> cancel_;
  std::shared_ptr<std::atomic<bool>> alive_;
  ConfirmHandler confirm_;
  QString modelDir_;
  bool hasModel_ = false;
  int nextId_ = 1;
  int pending_ = 0;
};

// Conversions between the core's chat messages and JSON (OpenAI message objects).
QJsonArray messagesToJson(const std::vector<tok::ChatMessage>& messages);
std::vector<tok::ChatMessage> messagesFromJson(const QJsonArray& array);
Json toJson(const QJsonValue& v);
QJsonValue fromJson(const Json& v);

}  // namespace kanana::playground
