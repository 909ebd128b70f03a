#include "serve/server.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <ctime>
#include <random>

#include "serve/openai_api.h"
#include "tokenizer/chat_template.h"

namespace kanana::serve {

namespace {

using httplib::Request;
using httplib::Response;
using namespace std::chrono_literals;

void send_json(Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(dump(body), "application/json");
}

void send_error(Response& res, const ApiError& e) { send_json(res, e.status, error_json(e)); }

std::string new_id(const char* prefix) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t boot = uint64_t(std::chrono::system_clock::now().time_since_epoch().count());
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s-%llx%06llx", prefix, static_cast<unsigned long long>(boot & 0xffffffffffULL),
                static_cast<unsigned long long>(++counter));
  return buf;
}

int64_t unix_now() { return int64_t(std::time(nullptr)); }

Json parse_body(const Request& req) {
  try {
    return Json::parse(req.body);
  } catch (const std::exception& e) {
    throw ApiError{.status = 400, .message = std::string("the request body is not valid JSON: ") + e.what(),
                   .code = "invalid_json"};
  }
}

// Little-endian float32 bytes in base64 (OpenAI's encoding_format "base64").
std::string base64_floats(const float* v, int64_t n) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* bytes = reinterpret_cast<const uint8_t*>(v);
  const size_t len = size_t(n) * 4;
  std::string out;
  out.reserve((len + 2) / 3 * 4);
  for (size_t i = 0; i < len; i += 3) {
    const uint32_t b = uint32_t(bytes[i]) << 16 | (i + 1 < len ? uint32_t(bytes[i + 1]) << 8 : 0) |
                       (i + 2 < len ? uint32_t(bytes[i + 2]) : 0);
    out += kAlphabet[(b >> 18) & 63];
    out += kAlphabet[(b >> 12) & 63];
    out += i + 1 < len ? kAlphabet[(b >> 6) & 63] : '=';
    out += i + 2 < len ? kAlphabet[b & 63] : '=';
  }
  return out;
}

std::atomic<bool> g_stopping_dummy{false};

}  // namespace

// Everything one chat/completion request needs while it streams or waits.
struct RequestRun {
  CompletionRequest request;
  std::string id, model;
  int64_t created = 0;
  int64_t prompt_tokens = 0;
  std::vector<std::shared_ptr<Generation>> gens;
  const std::atomic<bool>* stopping = &g_stopping_dummy;

  void cancel_all() {
    for (auto& g : gens) g->cancel();
  }
  Json usage(const std::vector<int64_t>& completion) const {
    int64_t c = 0;
    for (int64_t x : completion) c += x;
    return {{"prompt_tokens", prompt_tokens}, {"completion_tokens", c}, {"total_tokens", prompt_tokens + c}};
  }
  Json chunk(Json choice) const {
    return {{"id", id},
            {"object", request.chat ? "chat.completion.chunk" : "text_completion"},
            {"created", created},
            {"model", model},
            {"system_fingerprint", nullptr},
            {"choices", Json::array({std::move(choice)})}};
  }
};

namespace {

// Blocks until every generation ends (or the server stops: then they are cancelled).
std::vector<Generation::Update> wait_all(RequestRun& run) {
  std::vector<Generation::Update> out(run.gens.size());
  for (size_t i = 0; i < run.gens.size(); ++i) {
    std::string text;
    std::vector<TokenLogprob> logprobs;
    for (;;) {
      auto u = run.gens[i]->next(200ms);
      text += u.text;
      for (auto& lp : u.logprobs) logprobs.push_back(std::move(lp));
      if (u.finished) {
        u.text = std::move(text);
        u.logprobs = std::move(logprobs);
        out[i] = std::move(u);
        break;
      }
      if (run.stopping->load()) run.cancel_all();
    }
  }
  return out;
}

void check_failures(const std::vector<Generation::Update>& results) {
  for (const auto& u : results) {
    if (u.finish_reason == "error")
      throw ApiError{.status = 500, .message = u.error.message(), .type = "server_error"};
    if (u.finish_reason == "cancelled")
      throw ApiError{.status = 503, .message = "the request was cancelled (the server is stopping)", .type = "server_error"};
  }
}

// Server-sent events for a streaming request; runs on the HTTP worker until the end. Returns
// false (and cancels the generations) when the client went away.
bool pump_stream(RequestRun& run, httplib::DataSink& sink) {
  const CompletionRequest& r = run.request;
  const bool tools = r.chat && !r.tools.empty();
  auto last_write = std::chrono::steady_clock::now();
  auto write = [&](const std::string& s) {
    last_write = std::chrono::steady_clock::now();
    return sink.write(s.data(), s.size());
  };
  auto send = [&](const Json& j) { return write("data: " + dump(j) + "\n\n"); };
  auto gone = [&] {
    run.cancel_all();
    return false;
  };
  const size_t n = run.gens.size();
  std::vector<bool> done(n, false);
  std::vector<std::string> held(n);  // each choice's text so far (with tools: sent at the end, as content or calls)
  std::vector<int64_t> completion(n, 0);
  if (r.chat)
    for (size_t i = 0; i < n; ++i)
      if (!send(run.chunk({{"index", i}, {"delta", {{"role", "assistant"}, {"content", ""}}}, {"logprobs", nullptr},
                           {"finish_reason", nullptr}})))
        return gone();
  size_t remaining = n;
  while (remaining > 0) {
    bool waited = false;
    for (size_t i = 0; i < n; ++i) {
      if (done[i]) continue;
      auto u = run.gens[i]->next(waited ? 0ms : 50ms);
      waited = true;
      completion[i] = u.completion_tokens;
      const Json lp = r.logprobs && !u.logprobs.empty() ? logprobs_json(u.logprobs, r.chat) : Json();
      held[i] += u.text;
      if (!u.text.empty() || !lp.is_null()) {
        if (!tools) {
          Json choice = r.chat ? Json{{"index", i}, {"delta", {{"content", u.text}}}, {"logprobs", lp}, {"finish_reason", nullptr}}
                               : Json{{"index", i}, {"text", u.text}, {"logprobs", lp}, {"finish_reason", nullptr}};
          if (!send(run.chunk(choice))) return gone();
        }
      }
      if (!u.finished) continue;
      done[i] = true;
      --remaining;
      if (u.finish_reason == "error" || u.finish_reason == "cancelled") {
        const ApiError e{.status = 500, .message = u.finish_reason == "error" ? u.error.message() : "cancelled",
                         .type = "server_error"};
        if (!send(error_json(e))) return gone();
        continue;
      }
      Json final;
      if (r.chat) {
        Json delta = Json::object();
        std::string reason = u.finish_reason;
        if (tools) {
          ChatReply reply = chat_reply(r, held[i], u.finish_reason, 1);
          reason = reply.finish_reason;
          if (reply.message.contains("tool_calls")) {
            Json calls = reply.message["tool_calls"];
            for (size_t k = 0; k < calls.size(); ++k) calls[k]["index"] = k;
            delta["tool_calls"] = calls;
          }
          if (!reply.message["content"].is_null()) delta["content"] = reply.message["content"];
        }
        final = {{"index", i}, {"delta", delta}, {"logprobs", nullptr}, {"finish_reason", reason}};
        if (r.response_format != "text") final["json_validation"] = validate_response_format(r, held[i]);
      } else {
        final = {{"index", i}, {"text", ""}, {"logprobs", nullptr}, {"finish_reason", u.finish_reason}};
      }
      if (!send(run.chunk(final))) return gone();
    }
    if (run.stopping->load()) return gone();
    // A comment line now and then: a client that left is noticed even while waiting in the queue.
    if (std::chrono::steady_clock::now() - last_write > 1s && !write(": keep-alive\n\n")) return gone();
  }
  if (r.include_usage) {
    Json u = run.chunk(Json());
    u["choices"] = Json::array();
    u["usage"] = run.usage(completion);
    if (!send(u)) return gone();
  }
  if (!write("data: [DONE]\n\n")) return gone();
  sink.done();
  return true;
}

}  // namespace

Result<std::unique_ptr<Server>> Server::create(const ServeOptions& options, std::unique_ptr<embed::Embedder> embedder) {
  KANANA_RETURN_IF_ERROR(check_options(options, serve_fields(), "serve"));
  if (options.models.empty()) return invalid_argument("serve: give at least one --model");
  std::unique_ptr<Server> s(new Server());
  s->options_ = options;
  for (const auto& spec : options.models) {
    auto [name, dir] = split_model_spec(spec);
    if (name.empty()) return invalid_argument("--model '" + spec + "': no model name");
    if (s->find_model(name)) return invalid_argument("--model '" + spec + "': the name '" + name + "' is taken");
    auto m = ServedModel::load(name, dir, options);
    if (!m.is_ok()) return m.status().with_context("--model " + spec);
    s->models_.push_back(std::move(*m));
  }
  if (embedder) {
    s->embedder_name_ = embedder->model_dir().filename().string();
    if (s->embedder_name_.empty()) s->embedder_name_ = "embedding";
    s->embedder_ = std::move(embedder);
  }
  return s;
}

Server::~Server() { stop(); }

std::string Server::url() const {
  const std::string host = options_.host == "0.0.0.0" ? "127.0.0.1" : options_.host;
  return "http://" + host + ":" + std::to_string(port_) + "/v1";
}

ServedModel* Server::find_model(const std::string& name) {
  for (auto& m : models_)
    if (m->name() == name) return m.get();
  return nullptr;
}

Status Server::start() {
  if (http_) return failed_precondition("the server is already running");
  std::signal(SIGPIPE, SIG_IGN);  // a client that hangs up must not end the process
  stopping_ = false;
  http_ = std::make_unique<httplib::Server>();
  // Every streaming request holds a worker while it runs: room for every slot and queue place.
  const size_t workers = std::clamp<size_t>(size_t(options_.parallel) * models_.size() + size_t(options_.queue) + 8, 8, 1024);
  http_->new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  http_->set_payload_max_length(size_t(options_.max_request_bytes));
  http_->set_read_timeout(60, 0);
  http_->set_write_timeout(60, 0);
  install_routes();
  if (options_.port == 0) {
    port_ = http_->bind_to_any_port(options_.host);
  } else {
    port_ = http_->bind_to_port(options_.host, int(options_.port)) ? int(options_.port) : -1;
  }
  if (port_ <= 0) {
    http_.reset();
    return unavailable("cannot listen on " + options_.host + ":" + std::to_string(options_.port) + " (" +
                       std::strerror(errno) + ")");
  }
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  return Status::ok();
}

void Server::stop() {
  if (!http_) return;
  stopping_ = true;  // streams and waits notice within 200 ms and cancel their generations
  http_->stop();
  if (thread_.joinable()) thread_.join();
  http_.reset();
}

void Server::install_routes() {
  httplib::Server& h = *http_;
  auto guard = [](std::function<void(const Request&, Response&)> fn) {
    return [fn = std::move(fn)](const Request& req, Response& res) {
      try {
        fn(req, res);
      } catch (const ApiError& e) {
        send_error(res, e);
      } catch (const std::exception& e) {
        send_error(res, {.status = 500, .message = std::string("internal error: ") + e.what(), .type = "server_error"});
      } catch (...) {
        send_error(res, {.status = 500, .message = "internal error", .type = "server_error"});
      }
    };
  };

  h.set_pre_routing_handler([this](const Request& req, Response& res) {
    if (options_.api_key.empty() || req.path == "/health") return httplib::Server::HandlerResponse::Unhandled;
    const std::string auth = req.get_header_value("Authorization");
    const std::string want = "Bearer " + options_.api_key;
    // Compared in time independent of where they differ.
    unsigned diff = auth.size() != want.size();
    for (size_t i = 0; i < want.size(); ++i) diff |= unsigned(char(i < auth.size() ? auth[i] : 0) ^ want[i]);
    if (diff == 0) return httplib::Server::HandlerResponse::Unhandled;
    send_error(res, {.status = 401,
                     .message = auth.empty() ? "missing API key: send 'Authorization: Bearer <key>'" : "incorrect API key",
                     .code = "invalid_api_key"});
    return httplib::Server::HandlerResponse::Handled;
  });
  // Statuses the library answers itself (no route, body too large, a malformed request line).
  h.set_error_handler([this](const Request& req, Response& res) {
    if (!res.body.empty()) return;
    ApiError e{.status = res.status, .message = "HTTP " + std::to_string(res.status)};
    if (res.status == 404) {
      e.message = "no route " + req.method + " " + req.path + " (see GET /v1/models)";
      e.code = "unknown_url";
    } else if (res.status == 413) {
      e.message = "the request body exceeds " + std::to_string(options_.max_request_bytes) + " bytes (--max-request-bytes)";
      e.code = "request_too_large";
    }
    send_error(res, e);
  });
  h.set_exception_handler([](const Request&, Response& res, std::exception_ptr) {
    send_error(res, {.status = 500, .message = "internal error", .type = "server_error"});
  });

  h.Get("/health", guard([this](const Request&, Response& res) {
          Json models = Json::array();
          for (auto& m : models_) {
            const SchedulerStats st = m->scheduler().stats();
            models.push_back({{"id", m->name()},
                              {"weights", infer::weight_format_name(m->engine().options().weights)},
                              {"context", m->context()},
                              {"slots", st.slots},
                              {"running", st.running},
                              {"waiting", st.waiting},
                              {"generated_tokens", st.generated_tokens},
                              {"steps", st.steps},
                              {"tokens_per_second", st.tokens_per_second}});
          }
          send_json(res, 200, {{"status", "ok"}, {"models", models}, {"embedding_model", embedder_ ? Json(embedder_name_) : Json()}});
        }));

  h.Get("/v1/models", guard([this](const Request&, Response& res) {
          Json data = Json::array();
          const int64_t now = unix_now();
          for (auto& m : models_)
            data.push_back({{"id", m->name()}, {"object", "model"}, {"created", now}, {"owned_by", "kanana-workbench"}});
          if (embedder_)
            data.push_back({{"id", embedder_name_}, {"object", "model"}, {"created", now}, {"owned_by", "kanana-workbench"}});
          send_json(res, 200, {{"object", "list"}, {"data", data}});
        }));

  auto completion = [this](bool chat) {
    return [this, chat](const Request& req, Response& res) {
      auto run = std::make_shared<RequestRun>();
      run->request = parse_completion_request(parse_body(req), chat);
      run->stopping = &stopping_;
      const CompletionRequest& r = run->request;
      ServedModel* m = find_model(r.model);
      if (m == nullptr) {
        std::string names;
        for (auto& x : models_) names += (names.empty() ? "" : ", ") + x->name();
        throw ApiError{.status = 404, .message = "the model '" + r.model + "' does not exist (served: " + names + ")",
                       .param = "model", .code = "model_not_found"};
      }
      run->id = new_id(chat ? "chatcmpl" : "cmpl");
      run->model = m->name();
      run->created = unix_now();
      const size_t prompts = chat ? 1 : r.prompts.size();
      std::vector<int32_t> stop_ids = chat ? m->chat_stop_ids() : m->eos_ids();
      std::vector<std::string> stops = r.stop;
      if (chat && m->chat_template())
        for (auto& s : tok::chat_stop_strings(*m->chat_template())) stops.push_back(s);
      std::random_device device;
      for (size_t p = 0; p < prompts; ++p) {
        std::vector<int32_t> ids = build_prompt(r, *m, p);
        const int64_t len = int64_t(ids.size());
        run->prompt_tokens += len;
        if (len >= m->context())
          throw ApiError{.status = 400,
                         .message = "the prompt has " + std::to_string(len) + " tokens; the context is " +
                                    std::to_string(m->context()) + " (--context)",
                         .param = chat ? "messages" : "prompt", .code = "context_length_exceeded"};
        const int64_t room = m->context() - len + 1;  // the last token is never fed back
        for (int64_t i = 0; i < r.n; ++i) {
          GenerationRequest g;
          g.prompt = ids;
          g.sampling = r.sampling;
          g.sampling.max_new_tokens = std::min(r.max_tokens.value_or(room), room);
          g.sampling.seed = r.seed_given ? r.sampling.seed + int64_t(p) * r.n + i
                                         : int64_t(uint64_t(device()) << 31 ^ uint64_t(device()));
          g.stop_ids = stop_ids;
          g.stop_strings = stops;
          g.top_logprobs = r.logprobs ? r.top_logprobs : -1;
          run->gens.push_back(std::make_shared<Generation>(std::move(g)));
        }
      }
      if (Status st = m->scheduler().submit(run->gens); !st.is_ok()) {
        if (st.code() == StatusCode::kUnavailable)
          throw ApiError{.status = 429, .message = st.message(), .type = "rate_limit_error", .code = "queue_full"};
        throw ApiError{.status = 400, .message = st.message(), .param = chat ? "messages" : "prompt"};
      }
      if (r.stream) {
        res.set_header("Cache-Control", "no-cache");
        res.set_chunked_content_provider(
            "text/event-stream", [run](size_t, httplib::DataSink& sink) { return pump_stream(*run, sink); },
            [run](bool ok) {
              if (!ok) run->cancel_all();
            });
        return;
      }
      auto results = wait_all(*run);
      check_failures(results);
      Json choices = Json::array();
      std::vector<int64_t> completion;
      for (size_t i = 0; i < results.size(); ++i) {
        const auto& u = results[i];
        completion.push_back(u.completion_tokens);
        const Json lp = r.logprobs ? logprobs_json(u.logprobs, chat) : Json();
        Json choice;
        if (chat) {
          ChatReply reply = chat_reply(r, u.text, u.finish_reason, 1);
          choice = {{"index", i}, {"message", reply.message}, {"logprobs", lp}, {"finish_reason", reply.finish_reason}};
          if (r.response_format != "text") choice["json_validation"] = validate_response_format(r, u.text);
        } else {
          choice = {{"index", i}, {"text", u.text}, {"logprobs", lp}, {"finish_reason", u.finish_reason}};
        }
        choices.push_back(choice);
      }
      send_json(res, 200,
                {{"id", run->id},
                 {"object", chat ? "chat.completion" : "text_completion"},
                 {"created", run->created},
                 {"model", run->model},
                 {"system_fingerprint", nullptr},
                 {"choices", choices},
                 {"usage", run->usage(completion)}});
    };
  };
  h.Post("/v1/chat/completions", guard(completion(true)));
  h.Post("/v1/completions", guard(completion(false)));

  h.Post("/v1/embeddings", guard([this](const Request& req, Response& res) {
           const Json body = parse_body(req);
           if (!body.is_object()) throw ApiError{.message = "the request body must be a JSON object"};
           if (!body.contains("model") || !body["model"].is_string())
             throw ApiError{.message = "'model' is required and must be a string", .param = "model"};
           const std::string model = body["model"].get<std::string>();
           if (!embedder_ || model != embedder_name_) {
             const bool generator = find_model(model) != nullptr;
             throw ApiError{.status = generator ? 400 : 404,
                            .message = generator ? "'" + model + "' is a generation model; embeddings come from the "
                                                   "--embedding-model" + (embedder_ ? " '" + embedder_name_ + "'" : std::string(" (none is loaded)"))
                                                 : "the embedding model '" + model + "' does not exist" +
                                                       (embedder_ ? " (served: " + embedder_name_ + ")" : std::string(" (no --embedding-model is loaded)")),
                            .param = "model", .code = generator ? "" : "model_not_found"};
           }
           std::vector<std::string> texts;
           const Json& input = body.contains("input") ? body["input"] : Json();
           if (input.is_string()) {
             texts.push_back(input.get<std::string>());
           } else if (input.is_array() && !input.empty()) {
             for (const auto& t : input) {
               if (!t.is_string())
                 throw ApiError{.message = "'input' must be a string or an array of strings (token arrays are not supported)", .param = "input"};
               texts.push_back(t.get<std::string>());
             }
           } else {
             throw ApiError{.message = "'input' must be a string or a non-empty array of strings", .param = "input"};
           }
           std::string format = "float";
           if (body.contains("encoding_format") && !body["encoding_format"].is_null()) {
             if (!body["encoding_format"].is_string() ||
                 (body["encoding_format"] != "float" && body["encoding_format"] != "base64"))
               throw ApiError{.message = "'encoding_format' must be float or base64", .param = "encoding_format"};
             format = body["encoding_format"].get<std::string>();
           }
           std::lock_guard lock(embed_mutex_);
           if (body.contains("dimensions") && !body["dimensions"].is_null() &&
               !(body["dimensions"].is_number_integer() && body["dimensions"].get<int64_t>() == embedder_->dim()))
             throw ApiError{.message = "'dimensions' must be the model's " + std::to_string(embedder_->dim()) + " (no truncation)",
                            .param = "dimensions"};
           auto m = embedder_->embed(texts);
           if (!m.is_ok()) throw ApiError{.message = m.status().message(), .param = "input"};
           int64_t tokens = 0;
           for (const auto& t : texts) tokens += embedder_->count_tokens(t);
           Json data = Json::array();
           for (int64_t i = 0; i < m->rows; ++i) {
             Json v = format == "base64" ? Json(base64_floats(m->row(i), m->dim))
                                         : Json(std::vector<float>(m->row(i), m->row(i) + m->dim));
             data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", v}});
           }
           send_json(res, 200, {{"object", "list"}, {"data", data}, {"model", embedder_name_},
                                {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}});
         }));
}

}  // namespace kanana::serve
