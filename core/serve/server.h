// The OpenAI-compatible HTTP server of `kanana serve`:
//   GET  /health                 status, and per model: slots, running, waiting, tokens/s (no key needed)
//   GET  /v1/models              the served models (and the embedding model)
//   POST /v1/chat/completions    chat, with streaming (SSE ending in "data: [DONE]"), n, stop,
//                                seed, logprobs, tools + tool_choice, response_format
//   POST /v1/completions         plain-text completion
//   POST /v1/embeddings          vectors from the Kanana2Vec model given to the server
// Errors are OpenAI's {"error": {"message", "type", "param", "code"}} with 400 (malformed JSON,
// a field's type or value, naming it), 401 (missing or wrong bearer key), 404 (unknown model or
// route), 413 (body over the limit), 429 (queue full), 500 (anything else: a request never ends
// the server).
//
// Threading contract: start() binds and serves on a thread of its own; stop() (or the
// destructor) ends it and waits. Requests run on the HTTP library's worker threads; each model's
// engine runs only on its scheduler's thread; the embedder is used under a mutex.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "embed/embedder.h"
#include "serve/served_model.h"
#include "serve/serve_options.h"

namespace httplib {
class Server;
}

namespace kanana::serve {

class Server {
 public:
  // Loads every model of options.models (and takes the embedder, may be null).
  static Result<std::unique_ptr<Server>> create(const ServeOptions& options,
                                                std::unique_ptr<embed::Embedder> embedder = nullptr);
  ~Server();

  // Binds host:port (port 0: a free one) and starts serving on a background thread.
  Status start();
  void stop();
  int port() const { return port_; }
  std::string url() const;
  const std::vector<std::unique_ptr<ServedModel>>& models() const { return models_; }

 private:
  Server() = default;
  void install_routes();
  ServedModel* find_model(const std::string& name);

  ServeOptions options_;
  std::vector<std::unique_ptr<ServedModel>> models_;
  std::unique_ptr<embed::Embedder> embedder_;
  std::string embedder_name_;
  std::mutex embed_mutex_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
};

}  // namespace kanana::serve
