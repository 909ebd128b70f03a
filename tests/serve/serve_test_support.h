// Shared by the tests/serve suites: the tiny model fixture (the debug preset with random weights
// and the real Llama 3 tokenizer, made by `kanana model init`), an in-process server on an
// ephemeral loopback port, and small HTTP/SSE helpers around httplib::Client.
#pragma once

#include <httplib.h>

#include <QDir>
#include <QFile>
#include <QString>
#include <QTemporaryDir>

#include <string>
#include <vector>

#include "base/json.h"
#include "serve/server.h"
#include "test_support.h"

namespace kanana::test {

inline QString llama3_tokenizer_dir() { return data_cache() + "/tokenizers/llama3"; }

// `kanana model init` into `dir`; empty on success, else what went wrong.
inline QString make_serve_model(const QString& dir) {
  if (!QFile::exists(llama3_tokenizer_dir() + "/tokenizer.json")) return "skip";
  auto init = run_kanana({"model", "init", "--preset", "debug", "--seed", "3", "--tokenizer", llama3_tokenizer_dir(),
                          "--out", dir});
  return init.code == 0 ? QString() : "kanana model init failed: " + init.err;
}

inline serve::ServeOptions serve_test_options(const QString& model_dir) {
  serve::ServeOptions o;
  o.models = {"tiny=" + model_dir.toStdString()};
  o.port = 0;
  o.weights = "f32";
  o.threads = 2;
  o.parallel = 4;
  o.queue = 8;
  o.context = 256;
  return o;
}

// The events of a server-sent-event stream: the JSON of each "data:" line, and whether it
// ended with "data: [DONE]".
struct SseStream {
  std::vector<Json> events;
  bool done = false;
  bool malformed = false;
};
inline SseStream parse_sse(const std::string& body) {
  SseStream s;
  size_t at = 0;
  while (at < body.size()) {
    size_t end = body.find('\n', at);
    if (end == std::string::npos) end = body.size();
    const std::string line = body.substr(at, end - at);
    at = end + 1;
    if (line.rfind("data: ", 0) != 0) continue;
    const std::string data = line.substr(6);
    if (data == "[DONE]") {
      s.done = true;
      continue;
    }
    try {
      s.events.push_back(Json::parse(data));
    } catch (const std::exception&) {
      s.malformed = true;
    }
  }
  return s;
}

struct HttpReply {
  int status = 0;  // 0: no answer
  std::string body;
  Json json() const {
    try {
      return Json::parse(body);
    } catch (const std::exception&) {
      return Json();
    }
  }
};

inline HttpReply post(int port, const std::string& path, const std::string& body, const std::string& key = "") {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(120, 0);
  httplib::Headers h;
  if (!key.empty()) h.emplace("Authorization", "Bearer " + key);
  auto r = c.Post(path, h, body, "application/json");
  if (!r) return {};
  return {r->status, r->body};
}

inline HttpReply get(int port, const std::string& path, const std::string& key = "") {
  httplib::Client c("127.0.0.1", port);
  httplib::Headers h;
  if (!key.empty()) h.emplace("Authorization", "Bearer " + key);
  auto r = c.Get(path, h);
  if (!r) return {};
  return {r->status, r->body};
}

// The text of a streamed chat/completion choice, joined from its deltas.
inline std::string streamed_text(const SseStream& s, size_t index, bool chat, std::string* finish = nullptr) {
  std::string text;
  for (const auto& e : s.events) {
    if (!e.contains("choices")) continue;
    for (const auto& c : e["choices"]) {
      if (c["index"].get<size_t>() != index) continue;
      if (chat && c["delta"].contains("content") && c["delta"]["content"].is_string())
        text += c["delta"]["content"].get<std::string>();
      if (!chat && c.contains("text")) text += c["text"].get<std::string>();
      if (finish && c.contains("finish_reason") && c["finish_reason"].is_string())
        *finish = c["finish_reason"].get<std::string>();
    }
  }
  return text;
}

}  // namespace kanana::test
