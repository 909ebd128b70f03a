// The Playground engine and its worker (see playground_engine.h).
#include "playground_engine.h"

#include <QJsonDocument>
#include <QMetaObject>
#include <QPointer>
#include <chrono>
#include <filesystem>
#include <future>
#include <mutex>

#include "base/json.h"
#include "embed/embedder.h"
#include "rag/prompt.h"
#include "rag/rag_index.h"
#include "tools/builtin_tools.h"
#include "tools/rag_retriever.h"

namespace kanana::playground {
namespace fs = std::filesystem;

// ---------------------------------------------------------------- JSON conversions

Json toJson(const QJsonValue& v) {
  return parse_json_or_discarded(QJsonDocument::fromVariant(v.toVariant()).toJson(QJsonDocument::Compact).toStdString());
}

QJsonValue fromJson(const Json& v) {
  const std::string text = Json::array({v}).dump(-1, ' ', false, Json::error_handler_t::replace);
  return QJsonDocument::fromJson(QByteArray::fromStdString(text)).array().at(0);
}

QJsonArray messagesToJson(const std::vector<tok::ChatMessage>& messages) {
  QJsonArray out;
  for (const auto& m : messages) {
    QJsonObject o{{"role", QString::fromStdString(m.role)}, {"content", QString::fromStdString(m.content)}};
    if (m.name) o["name"] = QString::fromStdString(*m.name);
    if (m.tool_call_id) o["tool_call_id"] = QString::fromStdString(*m.tool_call_id);
    if (m.tool_calls.is_array() && !m.tool_calls.empty()) o["tool_calls"] = fromJson(m.tool_calls);
    out.append(o);
  }
  return out;
}

std::vector<tok::ChatMessage> messagesFromJson(const QJsonArray& array) {
  std::vector<tok::ChatMessage> out;
  for (const QJsonValue& v : array) {
    const QJsonObject o = v.toObject();
    tok::ChatMessage m;
    m.role = o.value("role").toString().toStdString();
    m.content = o.value("content").toString().toStdString();
    if (o.contains("name")) m.name = o.value("name").toString().toStdString();
    if (o.contains("tool_call_id")) m.tool_call_id = o.value("tool_call_id").toString().toStdString();
    if (o.contains("tool_calls")) m.tool_calls = toJson(o.value("tool_calls"));
    out.push_back(std::move(m));
  }
  return out;
}

namespace {

QJsonObject reply_stats(const chat::ChatReply& r, double seconds) {
  return {{"generated_tokens", static_cast<qint64>(r.generated_tokens)},
          {"prompt_tokens", static_cast<qint64>(r.prompt_tokens)},
          {"tokens_per_second", r.tokens_per_second()},
          {"stop_reason", QString::fromStdString(r.stop_reason)},
          {"dropped_messages", r.dropped_messages},
          {"seconds", seconds}};
}

QString qs(const std::string& s) { return QString::fromStdString(s); }

}  // namespace

// ---------------------------------------------------------------- worker

class EngineWorker : public QObject {
 public:
  EngineWorker(PlaygroundEngine* engine, std::shared_ptr<std::atomic<bool>> alive) : engine_(engine), alive_(std::move(alive)) {}

  // Every call below runs on the worker thread.
  template <typename F>
  void emit_on_gui(F&& f) {
    QMetaObject::invokeMethod(engine_, std::forward<F>(f), Qt::QueuedConnection);
  }

  // Request `id` ends with an error: report it and free the engine for the next request.
  void fail_request(int id, const Status& st) {
    PlaygroundEngine* e = engine_;
    const QString error = qs(st.message());
    emit_on_gui([e, id, error] {
      Q_EMIT e->requestFailed(id, error);
      e->end();
    });
  }

  void load(const QString& dir, int threads, const QString& weights) {
    chat::ChatModelOptions o;
    o.threads = threads;
    o.weights = weights.toStdString();
    model_.reset();
    auto m = chat::ChatModel::load(dir.toStdString(), o);
    PlaygroundEngine* e = engine_;
    if (!m.is_ok()) {
      const QString error = qs(m.status().message());
      emit_on_gui([e, dir, error] {
        e->hasModel_ = false;
        Q_EMIT e->modelFailed(dir, error);
        e->end();
      });
      return;
    }
    model_ = std::move(m).value();
    const QString summary = QStringLiteral("%1 · %2 template · %3M parameters · context %4 · %5, %6 MiB of weights")
                                .arg(QDir_name(dir), QString::fromLatin1(tok::chat_template_name(model_->template_kind())))
                                .arg(model_->parameter_count() / 1e6, 0, 'f', 1)
                                .arg(model_->context_length())
                                .arg(qs(model_->backend()))
                                .arg(model_->weight_bytes() / 1048576.0, 0, 'f', 0);
    QStringList warnings;
    for (const auto& w : model_->warnings()) warnings << qs(w);
    emit_on_gui([e, dir, summary, warnings] {
      e->hasModel_ = true;
      e->modelDir_ = dir;
      Q_EMIT e->modelLoaded(dir, summary, warnings);
      e->end();
    });
  }

  void set_override(tools::GenerateFunction f) { override_ = std::move(f); }

  // One assistant reply, streamed.
  void generate(int id, std::vector<tok::ChatMessage> messages, chat::ChatSampling sampling,
                std::shared_ptr<CancelToken> cancel) {
    const auto t0 = std::chrono::steady_clock::now();
    PlaygroundEngine* e = engine_;
    const auto stream = [this, e, id](const std::string& text) {
      const QString piece = qs(text);
      emit_on_gui([e, id, piece] { Q_EMIT e->token(id, piece); });
      return true;
    };
    Result<chat::ChatReply> r = internal_error("no model");
    if (override_) {
      auto text = override_(messages, Json::array());
      if (text.is_ok()) {
        stream(*text);
        chat::ChatReply reply;
        reply.text = *text;
        reply.stop_reason = cancel->is_cancelled() ? "cancelled" : "stop_token";
        r = reply;
      } else {
        r = text.status();
      }
    } else if (!model_) {
      r = failed_precondition("no checkpoint is loaded: pick one first");
    } else {
      r = model_->reply(messages, Json::array(), sampling, stream, cancel.get());
    }
    finish_reply(id, r, t0);
  }

  void finish_reply(int id, const Result<chat::ChatReply>& r, std::chrono::steady_clock::time_point t0) {
    PlaygroundEngine* e = engine_;
    if (!r.is_ok()) return fail_request(id, r.status());
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const QString text = qs(r->text);
    const QJsonObject stats = reply_stats(*r, seconds);
    emit_on_gui([e, id, text, stats] {
      Q_EMIT e->replyFinished(id, text, stats);
      e->end();
    });
  }

  Result<tools::ToolRegistry> build_registry(const ToolSetup& setup) {
    tools::ToolRegistry reg;
    tools::BuiltinToolOptions bo;
    bo.workspace = setup.workspace.toStdString();
    for (const auto& f : setup.readFolders) bo.read_roots.emplace_back(f.toStdString());
    if (!bo.read_roots.empty() && !bo.workspace.empty()) bo.read_roots.push_back(bo.workspace);
    if (!setup.ragIndex.isEmpty()) {
      KANANA_ASSIGN_OR_RETURN(bo.retriever, tools::make_rag_retriever(setup.ragIndex.toStdString()));
      bo.retrieval_description = "the document index " + fs::path(setup.ragIndex.toStdString()).filename().string();
    }
    KANANA_RETURN_IF_ERROR(tools::register_builtin_tools(reg, bo));
    for (const auto& t : setup.extra) KANANA_RETURN_IF_ERROR(reg.add(t));
    if (!setup.enabled.isEmpty())
      for (const auto& name : reg.names())
        if (!setup.enabled.contains(qs(name))) reg.remove(name);
    return reg;
  }

  void run_tools(int id, std::vector<tok::ChatMessage> messages, chat::ChatSampling sampling, ToolSetup setup,
                 std::shared_ptr<CancelToken> cancel) {
    PlaygroundEngine* e = engine_;
    auto reg = build_registry(setup);
    if (!reg.is_ok()) return fail_request(id, reg.status());
    if (!override_ && !model_) return fail_request(id, failed_precondition("no checkpoint is loaded: pick one first"));
    const auto stream = [this, e, id](const std::string& text) {
      const QString piece = qs(text);
      emit_on_gui([e, id, piece] { Q_EMIT e->token(id, piece); });
      return true;
    };
    tools::GenerateFunction gen;
    if (override_) {
      gen = [this, stream](const std::vector<tok::ChatMessage>& m, const Json& t) -> Result<std::string> {
        KANANA_ASSIGN_OR_RETURN(std::string text, override_(m, t));
        stream(text);
        return text;
      };
    } else {
      gen = model_->tool_generator(sampling, stream, cancel.get());
    }
    // Side-effect tools: ask on the GUI thread, wait here, give up when cancelled or gone.
    auto alive = alive_;
    const tools::ConfirmFunction confirm = [this, e, cancel, alive](const tools::ToolSpec& spec, const Json& args) {
      auto promise = std::make_shared<std::promise<bool>>();
      std::future<bool> answer = promise->get_future();
      const QString name = qs(spec.name);
      const QString json = qs(args.dump(2, ' ', false, Json::error_handler_t::replace));
      emit_on_gui([e, promise, name, json] { promise->set_value(e->askConfirm(name, json)); });
      while (answer.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready)
        if (cancel->is_cancelled() || !alive->load()) return false;
      try {
        return answer.get();
      } catch (const std::future_error&) {
        return false;
      }
    };
    const auto on_event = [this, e, id](const tools::ToolEvent& ev) {
      QJsonObject o{{"kind", QString::fromLatin1(tools::tool_event_kind_name(ev.kind))}, {"step", ev.step}};
      if (!ev.text.empty()) o["text"] = qs(ev.text);
      if (!ev.call.name.empty()) {
        o["name"] = qs(ev.call.name);
        o["id"] = qs(ev.call.id);
        o["arguments"] = fromJson(ev.call.arguments);
      }
      if (ev.kind == tools::ToolEvent::Kind::kResult) {
        o["ok"] = ev.outcome.ok;
        o["declined"] = ev.outcome.declined;
        if (ev.outcome.ok) o["result"] = fromJson(ev.outcome.result);
        else o["error"] = qs(ev.outcome.error);
      }
      emit_on_gui([e, id, o] { Q_EMIT e->toolEvent(id, o); });
    };
    tools::ToolLoopOptions lo;
    lo.max_steps = std::max(1, setup.maxSteps);
    auto r = tools::run_tool_loop(*reg, messages, gen, lo, confirm, on_event, cancel.get());
    if (!r.is_ok()) return fail_request(id, r.status());
    const QJsonObject summary{{"answer", qs(r->answer)}, {"stop_reason", qs(r->stop_reason)}, {"steps", r->steps},
                              {"tool_calls", r->tool_calls}};
    const QJsonArray conv = messagesToJson(messages);
    emit_on_gui([e, id, summary, conv] {
      Q_EMIT e->toolsFinished(id, summary, conv);
      e->end();
    });
  }

  void render(int id, std::vector<tok::ChatMessage> messages, bool with_tools, ToolSetup setup) {
    PlaygroundEngine* e = engine_;
    Json tools = Json::array();
    Status st;
    if (with_tools) {
      auto reg = build_registry(setup);
      if (reg.is_ok()) tools = reg->openai_tools();
      else st = reg.status();
    }
    Result<chat::RenderedPrompt> p = st.is_ok() ? (model_ ? model_->render(messages, tools)
                                                          : Result<chat::RenderedPrompt>(failed_precondition("no checkpoint is loaded")))
                                                : Result<chat::RenderedPrompt>(st);
    if (!p.is_ok()) return fail_request(id, p.status());
    QVector<int> ids;
    QStringList pieces;
    for (int32_t t : p->ids) {
      ids << t;
      pieces << qs(model_->piece(t));
    }
    const QString text = qs(p->text);
    emit_on_gui([e, id, text, ids, pieces] {
      Q_EMIT e->promptRendered(id, text, ids, pieces);
      e->end();
    });
  }

  // Opens (or, with `create`, creates) the index of `s` on this thread.
  Status open_index(const RagSettings& s, bool create) {
    if (index_ && index_dir_ == s.indexDir && embedder_dir_ == s.embedder) return Status::ok();
    index_.reset();
    const fs::path dir = s.indexDir.toStdString();
    std::shared_ptr<embed::Embedder> embedder;
    if (!s.embedder.isEmpty()) {
      KANANA_ASSIGN_OR_RETURN(std::unique_ptr<embed::Embedder> em, embed::load_embedder(s.embedder.toStdString()));
      embedder = std::move(em);
    }
    if (rag::RagIndex::exists(dir)) {
      KANANA_ASSIGN_OR_RETURN(index_, rag::RagIndex::open(dir));
      if (embedder) KANANA_RETURN_IF_ERROR(index_->set_embedder(embedder));
    } else if (create) {
      rag::IndexSettings settings;
      if (!embedder) {
        if (s.tokenizer.isEmpty())
          return failed_precondition("pick an embedding model, or a checkpoint whose tokenizer counts chunk tokens");
        settings.tokenizer = s.tokenizer.toStdString();
      }
      KANANA_ASSIGN_OR_RETURN(index_, rag::RagIndex::create(dir, settings, embedder));
    } else {
      return not_found(dir.string() + " holds no index yet: add documents first");
    }
    index_dir_ = s.indexDir;
    embedder_dir_ = s.embedder;
    return Status::ok();
  }

  void ingest(int id, RagSettings s, QStringList paths, std::shared_ptr<CancelToken> cancel) {
    PlaygroundEngine* e = engine_;
    if (Status st = open_index(s, /*create=*/true); !st.is_ok()) return fail_request(id, st);
    struct Forward final : Progress {
      EngineWorker* w;
      PlaygroundEngine* e;
      int id;
      std::chrono::steady_clock::time_point last{};
      void update(int64_t done, int64_t total, const std::string&) override {
        const auto now = std::chrono::steady_clock::now();
        if (now - last < std::chrono::milliseconds(100) && done != total) return;
        last = now;
        w->emit_on_gui([e = e, id = id, done, total] { Q_EMIT e->ingestProgress(id, done, total); });
      }
      void finish(const std::string&) override {}
    } progress;
    progress.w = this;
    progress.e = e;
    progress.id = id;
    std::vector<fs::path> list;
    for (const auto& p : paths) list.emplace_back(p.toStdString());
    auto r = index_->add_paths(list, /*strict=*/false, &progress, cancel.get());
    if (!r.is_ok()) return fail_request(id, r.status());
    QJsonArray problems;
    for (const auto& p : r->problems) problems.append(qs(p));
    QJsonObject report{{"sources_added", static_cast<qint64>(r->sources_added)},
                       {"sources_replaced", static_cast<qint64>(r->sources_replaced)},
                       {"sources_unchanged", static_cast<qint64>(r->sources_unchanged)},
                       {"documents", static_cast<qint64>(r->documents)},
                       {"chunks_added", static_cast<qint64>(r->chunks_added)},
                       {"problems", problems}};
    if (auto stats = index_->stats(); stats.is_ok()) {
      report["chunks"] = static_cast<qint64>(stats->chunks);
      report["sources"] = static_cast<qint64>(stats->sources);
      report["vector_index"] = qs(stats->vector_index);
    }
    emit_on_gui([e, id, report] {
      Q_EMIT e->ingestFinished(id, report);
      e->end();
    });
  }

  void ask_rag(int id, RagSettings s, QString question, chat::ChatSampling sampling, std::shared_ptr<CancelToken> cancel) {
    PlaygroundEngine* e = engine_;
    if (Status st = open_index(s, /*create=*/false); !st.is_ok()) return fail_request(id, st);
    rag::SearchOptions so;
    so.k = s.k;
    auto mode = rag::parse_search_mode(s.mode.toStdString());
    if (!mode.is_ok()) return fail_request(id, mode.status());
    so.mode = *mode;
    if (so.mode != rag::SearchMode::kBm25 && !index_->has_vectors()) so.mode = rag::SearchMode::kBm25;
    auto hits = index_->search(question.toStdString(), so);
    if (!hits.is_ok()) return fail_request(id, hits.status());
    const rag::RagPrompt prompt = rag::build_rag_prompt(question.toStdString(), *hits);
    QJsonArray cites;
    for (const auto& c : prompt.citations) {
      cites.append(QJsonObject{{"number", c.number},
                               {"chunk_id", static_cast<qint64>(c.chunk_id)},
                               {"text", qs(c.text)},
                               {"source", qs(c.span.to_string())},
                               {"path", qs(c.span.path)},
                               {"kind", qs(c.span.kind)},
                               {"line", static_cast<qint64>(c.span.line)},
                               {"record_id", qs(c.span.record_id)},
                               {"begin", static_cast<qint64>(c.span.begin)},
                               {"end", static_cast<qint64>(c.span.end)}});
    }
    emit_on_gui([e, id, cites] { Q_EMIT e->ragSources(id, cites); });
    std::vector<tok::ChatMessage> messages = {{"system", prompt.system}, {"user", prompt.user}};
    if (!override_ && !model_) return fail_request(id, failed_precondition("sources found; load a checkpoint to generate an answer"));
    generate(id, std::move(messages), sampling, std::move(cancel));
  }

 private:
  static QString QDir_name(const QString& dir) { return QString::fromStdString(fs::path(dir.toStdString()).filename().string()); }

  PlaygroundEngine* engine_;
  std::shared_ptr<std::atomic<bool>> alive_;
  std::unique_ptr<chat::ChatModel> model_;
  tools::GenerateFunction override_;
  std::unique_ptr<rag::RagIndex> index_;
  QString index_dir_, embedder_dir_;
};

// ---------------------------------------------------------------- engine

namespace {
// Tokens of the requests not yet finished, so Stop reaches queued work too.
std::mutex g_tokens_mutex;
}  // namespace

PlaygroundEngine::PlaygroundEngine(QObject* parent)
    : QObject(parent), cancel_(std::make_shared<CancelToken>()), alive_(std::make_shared<std::atomic<bool>>(true)) {
  worker_ = new EngineWorker(this, alive_);
  worker_->moveToThread(&thread_);
  thread_.setObjectName(QStringLiteral("playground-engine"));
  thread_.start();
}

PlaygroundEngine::~PlaygroundEngine() {
  alive_->store(false);
  cancel();
  thread_.quit();
  thread_.wait();
  delete worker_;  // the thread has finished: nothing runs on the worker any more
}

int PlaygroundEngine::begin() {
  if (pending_++ == 0) Q_EMIT busyChanged(true);
  return nextId_++;
}

void PlaygroundEngine::end() {
  if (pending_ > 0 && --pending_ == 0) {
    std::lock_guard<std::mutex> lock(g_tokens_mutex);
    cancel_ = std::make_shared<CancelToken>();  // later requests start uncancelled
    Q_EMIT busyChanged(false);
  }
}

void PlaygroundEngine::cancel() {
  std::lock_guard<std::mutex> lock(g_tokens_mutex);
  cancel_->cancel();
}

bool PlaygroundEngine::askConfirm(const QString& tool, const QString& args) { return confirm_ && confirm_(tool, args); }

void PlaygroundEngine::loadModel(const QString& dir, int threads, const QString& weights) {
  begin();
  hasModel_ = false;
  EngineWorker* w = worker_;
  QMetaObject::invokeMethod(worker_, [w, dir, threads, weights] { w->load(dir, threads, weights); }, Qt::QueuedConnection);
}

void PlaygroundEngine::setGenerateOverride(tools::GenerateFunction generate) {
  EngineWorker* w = worker_;
  QMetaObject::invokeMethod(worker_, [w, generate] { w->set_override(generate); }, Qt::QueuedConnection);
}

int PlaygroundEngine::generate(const std::vector<tok::ChatMessage>& messages, const chat::ChatSampling& sampling) {
  const int id = begin();
  EngineWorker* w = worker_;
  std::shared_ptr<CancelToken> c;
  {
    std::lock_guard<std::mutex> lock(g_tokens_mutex);
    c = cancel_;
  }
  QMetaObject::invokeMethod(worker_, [w, id, messages, sampling, c] { w->generate(id, messages, sampling, c); },
                            Qt::QueuedConnection);
  return id;
}

int PlaygroundEngine::runTools(const std::vector<tok::ChatMessage>& messages, const chat::ChatSampling& sampling,
                               ToolSetup setup) {
  const int id = begin();
  EngineWorker* w = worker_;
  std::shared_ptr<CancelToken> c;
  {
    std::lock_guard<std::mutex> lock(g_tokens_mutex);
    c = cancel_;
  }
  auto s = std::make_shared<ToolSetup>(std::move(setup));
  QMetaObject::invokeMethod(worker_, [w, id, messages, sampling, s, c] { w->run_tools(id, messages, sampling, *s, c); },
                            Qt::QueuedConnection);
  return id;
}

int PlaygroundEngine::renderPrompt(const std::vector<tok::ChatMessage>& messages, bool withTools, ToolSetup setup) {
  const int id = begin();
  EngineWorker* w = worker_;
  auto s = std::make_shared<ToolSetup>(std::move(setup));
  QMetaObject::invokeMethod(worker_, [w, id, messages, withTools, s] { w->render(id, messages, withTools, *s); },
                            Qt::QueuedConnection);
  return id;
}

int PlaygroundEngine::ingest(const RagSettings& settings, const QStringList& paths) {
  const int id = begin();
  EngineWorker* w = worker_;
  std::shared_ptr<CancelToken> c;
  {
    std::lock_guard<std::mutex> lock(g_tokens_mutex);
    c = cancel_;
  }
  QMetaObject::invokeMethod(worker_, [w, id, settings, paths, c] { w->ingest(id, settings, paths, c); }, Qt::QueuedConnection);
  return id;
}

int PlaygroundEngine::askRag(const RagSettings& settings, const QString& question, const chat::ChatSampling& sampling) {
  const int id = begin();
  EngineWorker* w = worker_;
  std::shared_ptr<CancelToken> c;
  {
    std::lock_guard<std::mutex> lock(g_tokens_mutex);
    c = cancel_;
  }
  QMetaObject::invokeMethod(worker_, [w, id, settings, question, sampling, c] { w->ask_rag(id, settings, question, sampling, c); },
                            Qt::QueuedConnection);
  return id;
}

QStringList PlaygroundEngine::availableTools(const ToolSetup& setup, QString* error) {
  tools::ToolRegistry reg;
  tools::BuiltinToolOptions bo;
  bo.workspace = setup.workspace.toStdString();
  for (const auto& f : setup.readFolders) bo.read_roots.emplace_back(f.toStdString());
  if (!setup.ragIndex.isEmpty())  // declared only; the index opens on first use
    bo.retriever = [](const std::string&, int64_t, const CancelToken*) -> Result<std::vector<tools::RetrievedPassage>> {
      return std::vector<tools::RetrievedPassage>{};
    };
  Status st = tools::register_builtin_tools(reg, bo);
  for (const auto& t : setup.extra)
    if (st.is_ok()) st = reg.add(t);
  if (!st.is_ok() && error) *error = QString::fromStdString(st.message());
  QStringList out;
  for (const auto& n : reg.names()) out << QString::fromStdString(n);
  return out;
}

}  // namespace kanana::playground
