// Every route of the OpenAI-compatible server, in process on an ephemeral loopback port with a
// tiny random model: chat and completions with and without streaming (the streamed text equals
// the non-streamed one), n > 1 and seed determinism, stop strings, logprobs, tools (the prompt
// grows with them; a tool-call conversation is accepted; calls in the output become tool_calls),
// response_format validation, the error shapes and statuses (400 naming the field, 401, 404,
// 413, 429), and a client that disconnects mid-stream freeing its slot.
#include <QtTest>

#include <atomic>
#include <chrono>
#include <thread>

#include "base/files.h"
#include "serve/openai_api.h"
#include "serve/serve_options.h"
#include "serve_test_support.h"
#include "test_main.h"
#include "tokenizer/chat_template.h"
#include "tools/tool_prompt.h"

using namespace kanana;
namespace fs = std::filesystem;

namespace {

Json chat_body(const std::string& user, int max_tokens, bool stream = false) {
  return {{"model", "tiny"},
          {"messages", Json::array({{{"role", "system"}, {"content", "You are terse."}}, {{"role", "user"}, {"content", user}}})},
          {"max_tokens", max_tokens},
          {"temperature", 0},
          {"stream", stream}};
}

void check_error_shape(const test::HttpReply& r, int status, const char* param, const char* code) {
  QVERIFY2(r.status == status, (std::to_string(r.status) + " " + r.body).c_str());
  const Json j = r.json();
  QVERIFY2(j.is_object() && j.contains("error"), r.body.c_str());
  const Json& e = j["error"];
  for (const char* k : {"message", "type", "param", "code"}) QVERIFY2(e.contains(k), r.body.c_str());
  QVERIFY(e["message"].is_string() && !e["message"].get<std::string>().empty());
  if (param) QCOMPARE(QString::fromStdString(e["param"].is_string() ? e["param"].get<std::string>() : "null"), QString(param));
  if (code) QCOMPARE(QString::fromStdString(e["code"].is_string() ? e["code"].get<std::string>() : "null"), QString(code));
}

// An ASCII window of `len` bytes in `text` that does not occur earlier (a stop string for it).
std::string ascii_window(const std::string& text, size_t len) {
  for (size_t i = 2; i + len <= text.size(); ++i) {
    bool ok = true;
    for (size_t j = 0; j < len; ++j) ok &= text[i + j] > 32 && text[i + j] < 127;
    if (ok && text.find(text.substr(i, len)) == i) return text.substr(i, len);
  }
  return {};
}

}  // namespace

class TestServeApi : public QObject {
  Q_OBJECT

  QTemporaryDir tmp_;
  QString model_;
  std::unique_ptr<serve::Server> server_;
  int port_ = 0;

 private Q_SLOTS:
  void initTestCase() {
    model_ = tmp_.path() + "/tiny";
    const QString made = test::make_serve_model(model_);
    if (made == "skip") QSKIP("the Llama 3 tokenizer is not in the data cache (scripts/setup.sh fetches it)");
    QVERIFY2(made.isEmpty(), qPrintable(made));
    auto s = serve::Server::create(test::serve_test_options(model_));
    QVERIFY2(s.is_ok(), s.status().to_string().c_str());
    server_ = std::move(*s);
    QVERIFY(server_->start().is_ok());
    port_ = server_->port();
    QVERIFY(port_ > 0);
  }
  void cleanupTestCase() {
    if (server_) server_->stop();
  }

  void healthAndModels() {
    auto h = test::get(port_, "/health");
    QCOMPARE(h.status, 200);
    QCOMPARE(QString::fromStdString(h.json()["status"].get<std::string>()), QString("ok"));
    QCOMPARE(h.json()["models"][0]["slots"].get<int>(), 4);
    auto m = test::get(port_, "/v1/models");
    QCOMPARE(m.status, 200);
    QCOMPARE(QString::fromStdString(m.json()["data"][0]["id"].get<std::string>()), QString("tiny"));
    QCOMPARE(QString::fromStdString(m.json()["object"].get<std::string>()), QString("list"));
    QVERIFY(QString::fromStdString(server_->url()).startsWith("http://127.0.0.1:"));
  }

  // A configuration file (kanana serve --config; a serve job's serve.json): relative model
  // folders resolve against the file's folder, errors name the file and the field, and the
  // CLI takes flags over the file.
  void configFile() {
    const QString dir = tmp_.path() + "/conf";
    QDir().mkpath(dir + "/sub");
    const std::string file = (dir + "/sub/serve.json").toStdString();
    QVERIFY(write_file_atomic(file, R"({"model": ["../m1", "chat=m2", "/abs/m3"], "port": 0, "parallel": 2})").is_ok());
    serve::ServeOptions o;
    QVERIFY(serve::read_serve_config(file, o).is_ok());
    const std::string base = (dir + "/sub").toStdString();
    QCOMPARE(o.models, (std::vector<std::string>{base + "/../m1", "chat=" + base + "/m2", "/abs/m3"}));
    QCOMPARE(o.parallel, int64_t(2));
    QCOMPARE(o.port, int64_t(0));
    QVERIFY(write_file_atomic(file, R"({"model": "/m", "paralel": 2})").is_ok());
    Status bad = serve::read_serve_config(file, o);
    QVERIFY(!bad.is_ok());
    QVERIFY2(bad.message().find("serve.json") != std::string::npos && bad.message().find("'paralel'") != std::string::npos,
             bad.message().c_str());
    auto cli = test::run_kanana({"serve", "--config", QString::fromStdString(file)});
    QVERIFY(cli.code != 0);
    QVERIFY2(cli.err.contains("serve.json") && cli.err.contains("'paralel'"), qPrintable(cli.err));
    auto none = test::run_kanana({"serve", "--port", "0"});
    QVERIFY(none.code != 0);
    QVERIFY2(none.err.contains("--model is required"), qPrintable(none.err));
    // The file is checked on its own (a flag does not excuse it); a flag then wins over it.
    QVERIFY(write_file_atomic(file, R"({"model": "/no/such/model", "parallel": 0})").is_ok());
    auto refused = test::run_kanana({"serve", "--config", QString::fromStdString(file), "--parallel", "3"});
    QVERIFY2(refused.err.contains("'parallel' must be"), qPrintable(refused.err));
    QVERIFY(write_file_atomic(file, R"({"model": "/no/such/model", "port": 0})").is_ok());
    // --model replaces the file's folders (it does not add to them).
    auto other = test::run_kanana({"serve", "--config", QString::fromStdString(file), "--model", "/other/missing"});
    QVERIFY(other.code != 0);
    QVERIFY2(other.err.contains("/other/missing") && !other.err.contains("/no/such/model"), qPrintable(other.err));
  }

  // The usage counts the tokens of the rendered chat; the streamed deltas join to the same text.
  void chatStreamEqualsNonStream() {
    const Json body = chat_body("Tell me about Seoul.", 12);
    auto r = test::post(port_, "/v1/chat/completions", body.dump());
    QVERIFY2(r.status == 200, r.body.c_str());
    const Json j = r.json();
    QCOMPARE(QString::fromStdString(j["object"].get<std::string>()), QString("chat.completion"));
    const Json& choice = j["choices"][0];
    QCOMPARE(QString::fromStdString(choice["message"]["role"].get<std::string>()), QString("assistant"));
    const std::string text = choice["message"]["content"].get<std::string>();
    const std::string finish = choice["finish_reason"].get<std::string>();
    QVERIFY(finish == "length" || finish == "stop");
    const int completion = j["usage"]["completion_tokens"].get<int>();
    QVERIFY(completion >= 1 && completion <= 12);
    if (finish == "length") QCOMPARE(completion, 12);
    QCOMPARE(j["usage"]["total_tokens"].get<int>(), j["usage"]["prompt_tokens"].get<int>() + completion);
    // The prompt: the model's chat template, encoded with its special tokens.
    auto tok = tok::load_tokenizer(model_.toStdString());
    QVERIFY(tok.is_ok());
    auto text_prompt = tok::render_chat(tok::ChatTemplateKind::kLlama3,
                                        {{"system", "You are terse."}, {"user", "Tell me about Seoul."}});
    QVERIFY(text_prompt.is_ok());
    tok::EncodeOptions eo;
    eo.add_bos = false;
    QCOMPARE(j["usage"]["prompt_tokens"].get<size_t>(), (*tok)->encode(*text_prompt, eo).size());

    Json sbody = body;
    sbody["stream"] = true;
    sbody["stream_options"] = {{"include_usage", true}};
    auto s = test::post(port_, "/v1/chat/completions", sbody.dump());
    QCOMPARE(s.status, 200);
    const auto sse = test::parse_sse(s.body);
    QVERIFY(sse.done && !sse.malformed);
    QVERIFY(sse.events.size() >= 3);
    QCOMPARE(QString::fromStdString(sse.events[0]["choices"][0]["delta"]["role"].get<std::string>()), QString("assistant"));
    std::string sfinish;
    QCOMPARE(QString::fromStdString(test::streamed_text(sse, 0, true, &sfinish)), QString::fromStdString(text));
    QCOMPARE(QString::fromStdString(sfinish), QString::fromStdString(finish));
    QCOMPARE(sse.events.back()["usage"]["completion_tokens"].get<int>(), completion);
    QVERIFY(sse.events.back()["choices"].empty());
  }

  void completionsStreamAndPlain() {
    const Json body = {{"model", "tiny"}, {"prompt", "The capital of Korea is"}, {"max_tokens", 8}, {"temperature", 0}};
    auto r = test::post(port_, "/v1/completions", body.dump());
    QVERIFY2(r.status == 200, r.body.c_str());
    const Json j = r.json();
    QCOMPARE(QString::fromStdString(j["object"].get<std::string>()), QString("text_completion"));
    const std::string text = j["choices"][0]["text"].get<std::string>();
    Json sbody = body;
    sbody["stream"] = true;
    auto s = test::post(port_, "/v1/completions", sbody.dump());
    const auto sse = test::parse_sse(s.body);
    QVERIFY(sse.done);
    QCOMPARE(QString::fromStdString(test::streamed_text(sse, 0, false)), QString::fromStdString(text));
    // Two prompts: two choices, numbered prompt-major.
    Json two = body;
    two["prompt"] = Json::array({"Hello", "The capital of Korea is"});
    auto t = test::post(port_, "/v1/completions", two.dump());
    QCOMPARE(t.status, 200);
    QCOMPARE(t.json()["choices"].size(), size_t(2));
    QCOMPARE(QString::fromStdString(t.json()["choices"][1]["text"].get<std::string>()), QString::fromStdString(text));
  }

  // n choices, each with its own seed: a repeated request with the same seed is the same.
  void nChoicesAndSeed() {
    Json body = chat_body("Write a word.", 10);
    body["temperature"] = 1.0;
    body["n"] = 3;
    body["seed"] = 42;
    auto a = test::post(port_, "/v1/chat/completions", body.dump());
    QVERIFY2(a.status == 200, a.body.c_str());
    QCOMPARE(a.json()["choices"].size(), size_t(3));
    auto b = test::post(port_, "/v1/chat/completions", body.dump());
    QCOMPARE(b.status, 200);
    std::set<std::string> distinct;
    for (size_t i = 0; i < 3; ++i) {
      QCOMPARE(a.json()["choices"][i]["index"].get<size_t>(), i);
      QCOMPARE(a.json()["choices"][i]["message"]["content"], b.json()["choices"][i]["message"]["content"]);
      distinct.insert(a.json()["choices"][i]["message"]["content"].get<std::string>());
    }
    QVERIFY2(distinct.size() > 1, "three sampled choices of a random model should not all be equal");
    // Streaming n > 1: each index gets its deltas, and they join to the same texts.
    body["stream"] = true;
    auto s = test::post(port_, "/v1/chat/completions", body.dump());
    const auto sse = test::parse_sse(s.body);
    QVERIFY(sse.done);
    for (size_t i = 0; i < 3; ++i)
      QCOMPARE(QString::fromStdString(test::streamed_text(sse, i, true)),
               QString::fromStdString(a.json()["choices"][i]["message"]["content"].get<std::string>()));
  }

  // The stop string is taken from a seeded sample (the random model's greedy text repeats one
  // token); the same request with it ends right before it, streamed or not.
  void stopStrings() {
    Json sampled = chat_body("Count for me.", 24);
    sampled["temperature"] = 1.0;
    sampled["seed"] = 11;
    auto full = test::post(port_, "/v1/chat/completions", sampled.dump());
    QCOMPARE(full.status, 200);
    const std::string text = full.json()["choices"][0]["message"]["content"].get<std::string>();
    const std::string stop = ascii_window(text, 2);
    QVERIFY2(!stop.empty(), ("no ASCII pair to stop at in: " + text).c_str());
    for (bool stream : {false, true}) {
      Json body = sampled;
      body["stream"] = stream;
      body["stop"] = Json::array({stop, "never-seen-stop"});
      auto r = test::post(port_, "/v1/chat/completions", body.dump());
      QCOMPARE(r.status, 200);
      std::string got, finish;
      if (stream) {
        got = test::streamed_text(test::parse_sse(r.body), 0, true, &finish);
      } else {
        got = r.json()["choices"][0]["message"]["content"].get<std::string>();
        finish = r.json()["choices"][0]["finish_reason"].get<std::string>();
      }
      QCOMPARE(QString::fromStdString(got), QString::fromStdString(text.substr(0, text.find(stop))));
      QCOMPARE(QString::fromStdString(finish), QString("stop"));
    }
  }

  void logprobs() {
    Json body = chat_body("Hi", 6);
    body["logprobs"] = true;
    body["top_logprobs"] = 3;
    auto r = test::post(port_, "/v1/chat/completions", body.dump());
    QVERIFY2(r.status == 200, r.body.c_str());
    const Json reply = r.json();
    const Json& content = reply["choices"][0]["logprobs"]["content"];
    QVERIFY(content.is_array() && !content.empty());
    for (const auto& t : content) {
      QVERIFY(t["logprob"].get<double>() <= 0);
      QCOMPARE(t["top_logprobs"].size(), size_t(3));
      // Greedy: the chosen token is the most likely one.
      QCOMPARE(t["logprob"].get<double>(), t["top_logprobs"][0]["logprob"].get<double>());
      QVERIFY(t["top_logprobs"][0]["logprob"].get<double>() >= t["top_logprobs"][1]["logprob"].get<double>());
    }
  }

  // Tools are rendered into the prompt with the project's tool prompt; a conversation with an
  // assistant tool call and its result is accepted; a call in the model's text becomes
  // tool_calls (the random model writes none, so that half is checked on chat_reply directly).
  void toolCallRoundTrip() {
    const Json tools = Json::array({{{"type", "function"},
                                     {"function",
                                      {{"name", "get_weather"},
                                       {"description", "Weather of a city"},
                                       {"parameters",
                                        {{"type", "object"},
                                         {"properties", {{"city", {{"type", "string"}}}}},
                                         {"required", {"city"}}}}}}}});
    Json body = chat_body("Weather in Seoul?", 4);
    auto plain = test::post(port_, "/v1/chat/completions", body.dump());
    body["tools"] = tools;
    auto with_tools = test::post(port_, "/v1/chat/completions", body.dump());
    QVERIFY2(with_tools.status == 200, with_tools.body.c_str());
    QVERIFY(with_tools.json()["usage"]["prompt_tokens"].get<int>() > plain.json()["usage"]["prompt_tokens"].get<int>() + 20);
    // Streamed with tools, the reply comes whole at the end (calls cannot be told from text
    // before it is complete): the same text.
    Json streamed = body;
    streamed["stream"] = true;
    const auto sse = test::parse_sse(test::post(port_, "/v1/chat/completions", streamed.dump()).body);
    QVERIFY(sse.done);
    QCOMPARE(QString::fromStdString(test::streamed_text(sse, 0, true)),
             QString::fromStdString(with_tools.json()["choices"][0]["message"]["content"].get<std::string>()));
    body["tool_choice"] = "none";
    auto none = test::post(port_, "/v1/chat/completions", body.dump());
    QCOMPARE(none.json()["usage"]["prompt_tokens"], plain.json()["usage"]["prompt_tokens"]);

    Json round = chat_body("Weather in Seoul?", 4);
    round["tools"] = tools;
    round["messages"].push_back({{"role", "assistant"},
                                 {"content", nullptr},
                                 {"tool_calls", Json::array({{{"id", "call_1"},
                                                              {"type", "function"},
                                                              {"function", {{"name", "get_weather"}, {"arguments", "{\"city\":\"Seoul\"}"}}}}})}});
    round["messages"].push_back({{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "{\"celsius\": 3}"}});
    auto second = test::post(port_, "/v1/chat/completions", round.dump());
    QVERIFY2(second.status == 200, second.body.c_str());
    QVERIFY(second.json()["usage"]["prompt_tokens"].get<int>() > with_tools.json()["usage"]["prompt_tokens"].get<int>());

    serve::CompletionRequest req = serve::parse_completion_request(
        Json{{"model", "tiny"}, {"messages", Json::array({{{"role", "user"}, {"content", "x"}}})}, {"tools", tools}}, true);
    auto reply = serve::chat_reply(req, "<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Seoul\"}}", "stop", 1);
    QCOMPARE(QString::fromStdString(reply.finish_reason), QString("tool_calls"));
    const Json& call = reply.message["tool_calls"][0];
    QCOMPARE(QString::fromStdString(call["function"]["name"].get<std::string>()), QString("get_weather"));
    QCOMPARE(Json::parse(call["function"]["arguments"].get<std::string>()), Json({{"city", "Seoul"}}));
    QVERIFY(reply.message["content"].is_null());
    auto text_only = serve::chat_reply(req, "It is sunny.", "stop", 1);
    QCOMPARE(QString::fromStdString(text_only.finish_reason), QString("stop"));
    QVERIFY(!text_only.message.contains("tool_calls"));
  }

  void responseFormatValidated() {
    Json body = chat_body("JSON please", 6);
    body["response_format"] = {{"type", "json_schema"},
                               {"json_schema", {{"name", "x"}, {"schema", {{"type", "object"}, {"required", {"a"}}}}}}};
    auto r = test::post(port_, "/v1/chat/completions", body.dump());
    QVERIFY2(r.status == 200, r.body.c_str());
    const Json reply = r.json();
    const Json& v = reply["choices"][0]["json_validation"];
    QCOMPARE(v["valid"].get<bool>(), false);  // random text is not JSON
    QVERIFY(!v["errors"].empty());
    const auto req = serve::parse_completion_request(body, true);
    QCOMPARE(serve::validate_response_format(req, "{\"a\": 1}")["valid"].get<bool>(), true);
    const Json bad = serve::validate_response_format(req, "{\"b\": 1}");
    QCOMPARE(bad["valid"].get<bool>(), false);
    QVERIFY2(bad["errors"][0].get<std::string>().find("output.a") != std::string::npos, bad.dump().c_str());
    // A schema keyword the validator does not know is refused up front.
    body["response_format"]["json_schema"]["schema"]["pattern"] = "x";
    check_error_shape(test::post(port_, "/v1/chat/completions", body.dump()), 400, "response_format.json_schema", nullptr);
  }

  void errorShapes() {
    check_error_shape(test::post(port_, "/v1/chat/completions", "{\"model\": \"tiny\", "), 400, "null", "invalid_json");
    Json b = chat_body("x", 4);
    b["temperature"] = "hot";
    check_error_shape(test::post(port_, "/v1/chat/completions", b.dump()), 400, "temperature", nullptr);
    b = chat_body("x", 4);
    b["max_tokens"] = 0;
    check_error_shape(test::post(port_, "/v1/chat/completions", b.dump()), 400, "max_tokens", nullptr);
    b = chat_body("x", 4);
    b["n"] = "2";
    check_error_shape(test::post(port_, "/v1/chat/completions", b.dump()), 400, "n", nullptr);
    b = chat_body("x", 4);
    b["stop"] = 5;
    check_error_shape(test::post(port_, "/v1/chat/completions", b.dump()), 400, "stop", nullptr);
    b = chat_body("x", 4);
    b.erase("messages");
    check_error_shape(test::post(port_, "/v1/chat/completions", b.dump()), 400, "messages", nullptr);
    b = chat_body("x", 4);
    b["messages"][1]["role"] = "wizard";
    check_error_shape(test::post(port_, "/v1/chat/completions", b.dump()), 400, "messages[1].role", nullptr);
    b = chat_body("x", 4);
    b["model"] = "gpt-9";
    check_error_shape(test::post(port_, "/v1/chat/completions", b.dump()), 404, "model", "model_not_found");
    check_error_shape(test::post(port_, "/v1/completions", "{\"model\": \"tiny\"}"), 400, "prompt", nullptr);
    check_error_shape(test::post(port_, "/v1/embeddings", "{\"model\": \"tiny\", \"input\": \"x\"}"), 400, "model", nullptr);
    check_error_shape(test::get(port_, "/v1/nothing"), 404, "null", "unknown_url");
    // A prompt longer than the context.
    std::string big;
    for (int i = 0; i < 400; ++i) big += "word" + std::to_string(i) + " ";
    b = chat_body("x", 4);
    b["messages"][1]["content"] = big;
    check_error_shape(test::post(port_, "/v1/chat/completions", b.dump()), 400, "messages", "context_length_exceeded");
    // The server is still fine.
    QCOMPARE(test::post(port_, "/v1/chat/completions", chat_body("x", 2).dump()).status, 200);
  }

  void apiKeyAndBodyLimit() {
    auto o = test::serve_test_options(model_);
    o.api_key = "sekret";
    o.max_request_bytes = 2048;
    auto s = serve::Server::create(o);
    QVERIFY(s.is_ok());
    QVERIFY((*s)->start().is_ok());
    const int port = (*s)->port();
    QCOMPARE(test::get(port, "/health").status, 200);
    check_error_shape(test::get(port, "/v1/models"), 401, "null", "invalid_api_key");
    check_error_shape(test::get(port, "/v1/models", "wrong"), 401, "null", "invalid_api_key");
    check_error_shape(test::post(port, "/v1/chat/completions", chat_body("x", 2).dump()), 401, "null", "invalid_api_key");
    QCOMPARE(test::get(port, "/v1/models", "sekret").status, 200);
    QCOMPARE(test::post(port, "/v1/chat/completions", chat_body("x", 2).dump(), "sekret").status, 200);
    check_error_shape(test::post(port, "/v1/chat/completions", chat_body(std::string(4000, 'x'), 2).dump(), "sekret"), 413,
                      "null", "request_too_large");
    (*s)->stop();
  }

  // One slot, no queue: a second request while one streams gets 429; a client that leaves
  // mid-stream frees the slot for the next request.
  void queueFullAndDisconnect() {
    auto o = test::serve_test_options(model_);
    o.parallel = 1;
    o.queue = 0;
    o.context = 2048;  // room for a long stream, so the test sees it cut short
    auto s = serve::Server::create(o);
    QVERIFY(s.is_ok());
    QVERIFY((*s)->start().is_ok());
    const int port = (*s)->port();
    std::atomic<int> chunks{0};
    std::atomic<bool> leave{false};
    std::thread client([&] {
      httplib::Client c("127.0.0.1", port);
      httplib::Request req;
      req.method = "POST";
      req.path = "/v1/chat/completions";
      req.body = chat_body("Go on forever.", 2000, true).dump();
      req.set_header("Content-Type", "application/json");
      req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) {
        ++chunks;
        return !leave.load();
      };
      c.send(req);
    });
    auto running = [&] { return test::get(port, "/health").json()["models"][0]["running"].get<int>(); };
    auto wait_for = [&](auto cond) {
      for (int i = 0; i < 200 && !cond(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      return cond();
    };
    QVERIFY(wait_for([&] { return chunks.load() >= 2; }));
    QCOMPARE(running(), 1);
    check_error_shape(test::post(port, "/v1/chat/completions", chat_body("x", 2).dump()), 429, "null", "queue_full");
    leave = true;
    client.join();
    QVERIFY2(wait_for([&] { return running() == 0; }), "the slot of the client that left was not freed");
    const int generated = test::get(port, "/health").json()["models"][0]["generated_tokens"].get<int>();
    QVERIFY2(generated < 2000, "the sequence ran to its end although its client had left");
    QCOMPARE(test::post(port, "/v1/chat/completions", chat_body("x", 2).dump()).status, 200);
    (*s)->stop();
  }
};

KANANA_TEST_GUILESS_MAIN(TestServeApi)
#include "test_serve_api.moc"
