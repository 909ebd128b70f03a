// `kanana chat` driven through stdin with a tiny model (debug preset over a byte-level
// tokenizer with ChatML tokens, made by `kanana model init`), and the ChatModel behind it:
// the rendered prompt and its ids, context fitting (oldest turns dropped, system kept),
// streaming, tokens/s, and the tool loop on a real checkpoint.
#include <QtTest>

#include <filesystem>

#include "../posttrain/byte_tokenizer.h"
#include "base/json.h"
#include "chat/chat_model.h"
#include "test_support.h"
#include "tools/builtin_tools.h"
#include "tools/tool_loop.h"

using namespace kanana;
namespace fs = std::filesystem;

namespace {

// run_kanana with text on stdin (the chat reads its messages there).
test::CliRun run_chat(const QStringList& args, const QByteArray& input, int timeout_ms = 180000) {
  QProcess p;
  p.start(test::bin_path("kanana"), QStringList{"chat"} + args);
  test::CliRun r;
  if (!p.waitForStarted(10000)) return r;
  p.write(input);
  p.closeWriteChannel();
  if (!p.waitForFinished(timeout_ms)) {
    p.kill();
    p.waitForFinished();
    return r;
  }
  r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
  r.out = QString::fromUtf8(p.readAllStandardOutput());
  r.err = QString::fromUtf8(p.readAllStandardError());
  return r;
}

struct Stats {
  int generated = 0, prompt = 0;
  QString stop;
};

// "[6 tokens, 812.3 tok/s, prompt 31 tokens, stop: length]" lines of stderr.
std::vector<Stats> stats(const QString& err) {
  std::vector<Stats> out;
  static const QRegularExpression re(
      QStringLiteral("\\[(\\d+) tokens, ([0-9.]+) tok/s, prompt (\\d+) tokens[^,]*, stop: (\\w+)\\]"));
  auto it = re.globalMatch(err);
  while (it.hasNext()) {
    auto m = it.next();
    out.push_back({m.captured(1).toInt(), m.captured(3).toInt(), m.captured(4)});
  }
  return out;
}

bool set_context(const fs::path& model, int64_t n) {
  auto c = read_json_file(model / "config.json");
  if (!c.is_ok()) return false;
  (*c)["max_position_embeddings"] = n;
  return write_json_file(model / "config.json", *c).is_ok();
}

}  // namespace

class TestChat : public QObject {
  Q_OBJECT
 private:
  QTemporaryDir tmp_;
  fs::path model_, long_model_;
  QStringList base_;

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    const fs::path root = tmp_.path().toStdString();
    QVERIFY(test::write_byte_tokenizer(root / "tok"));
    model_ = root / "model";
    auto r = test::run_kanana({"model", "init", "--preset", "debug", "--out", QString::fromStdString(model_.string()),
                               "--tokenizer", QString::fromStdString((root / "tok").string()), "--seed", "3"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    // A copy with a long context for prompts that carry the tool list.
    long_model_ = root / "model_long";
    fs::copy(model_, long_model_, fs::copy_options::recursive);
    QVERIFY(set_context(long_model_, 8192));
    base_ = {"--model", QString::fromStdString(model_.string()), "--greedy", "--max-new-tokens", "6", "--threads", "1"};
  }

  void chatsThroughStdin() {
    const QByteArray script = "hello\nhello\n/reset\nhello\n/exit\nnever answered\n";
    auto r = run_chat(base_, script);
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const auto s = stats(r.err);
    QCOMPARE(s.size(), size_t{3});  // nothing after /exit
    for (const auto& x : s) QVERIFY(x.generated >= 1 && x.generated <= 6);
    QVERIFY(s[1].prompt > s[0].prompt + 8);  // the second turn carries the first
    QCOMPARE(s[2].prompt, s[0].prompt);      // /reset forgot it
    QVERIFY(r.err.contains("[conversation reset]"));
    // "<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n": 1 + 5 + 5 + 1 + 1 + 1 + 10 bytes-tokens.
    QCOMPARE(s[0].prompt, 24);
    // Greedy decoding is deterministic: the same script gives the same transcript.
    auto again = run_chat(base_, script);
    QCOMPARE(again.out, r.out);
  }

  // `kanana chat --weights f32`: the CPU engine answers the same script exactly as LibTorch,
  // and says how the model runs; --dtype with --weights is a usage error.
  void chatOnTheCpuEngine() {
    const QByteArray script = "hello\n/reset\n안녕\n";
    auto torch_run = run_chat(base_, script);
    QVERIFY2(torch_run.code == 0, qPrintable(torch_run.err));
    QVERIFY2(torch_run.err.contains("[LibTorch f32"), qPrintable(torch_run.err));
    auto engine = run_chat(base_ + QStringList{"--weights", "f32"}, script);
    QVERIFY2(engine.code == 0, qPrintable(engine.err));
    QVERIFY2(engine.err.contains("[CPU engine f32"), qPrintable(engine.err));
    QCOMPARE(engine.out, torch_run.out);
    QCOMPARE(stats(engine.err).size(), size_t{2});
    auto both = run_chat(base_ + QStringList{"--weights", "q4", "--dtype", "bf16"}, "hi\n");
    QCOMPARE(both.code, 2);
    QVERIFY2(both.err.contains("--dtype"), qPrintable(both.err));
  }

  void systemPromptAndCommands() {
    // --system, then /system (clears it), /system TEXT, a message continued with '\', an
    // unknown command; the end of input ends the chat as /exit does.
    auto r = run_chat(base_ + QStringList{"--system", "Be brief."},
                      "hello\n/system\nhello\n/system Be brief.\nhel\\\nlo\n/nonsense\n");
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const auto s = stats(r.err);
    QCOMPARE(s.size(), size_t{3});
    // "<|im_start|>system\nBe brief.<|im_end|>\n" adds 1 + 7 + 9 + 1 + 1 tokens.
    QCOMPARE(s[0].prompt, 24 + 19);
    QCOMPARE(s[1].prompt, 24);
    QCOMPARE(s[2].prompt, 25 + 19);  // "hel\nlo": one byte more than "hello"
    QVERIFY(r.err.contains("unknown command /nonsense"));
  }

  void toolsGoIntoThePrompt() {
    QStringList args = base_;
    args[1] = QString::fromStdString(long_model_.string());
    auto tools = run_chat(args + QStringList{"--tools", "--max-steps", "2"}, "what is 2+2?\n");
    QVERIFY2(tools.code == 0, qPrintable(tools.err));
    const auto b = stats(tools.err);
    QVERIFY(!b.empty());
    // Without tools this prompt is 31 tokens; the calculator/datetime/convert_units signatures add the rest.
    QVERIFY(b[0].prompt > 2000);
    // The short-context model cannot hold them: a clear error, and the chat goes on.
    auto tight = run_chat(base_ + QStringList{"--tools"}, "what is 2+2?\n");
    QCOMPARE(tight.code, 0);
    QVERIFY2(tight.err.contains("does not fit the model's context of 512"), qPrintable(tight.err));
  }

  void usageAndLoadErrors() {
    QCOMPARE(run_chat({}, "").code, 2);  // --model is required
    QCOMPARE(run_chat(base_ + QStringList{"--temperature", "warm"}, "").code, 2);
    auto r = run_chat({"--model", QString::fromStdString((fs::path(tmp_.path().toStdString()) / "nope").string())}, "hi\n");
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("the model folder is missing"), qPrintable(r.err));
  }

  void chatModelRendersStreamsAndFits() {
    chat::ChatModelOptions o;
    o.threads = 1;
    auto m = chat::ChatModel::load(model_, o);
    QVERIFY2(m.is_ok(), m.status().to_string().c_str());
    QCOMPARE((*m)->template_kind(), tok::ChatTemplateKind::kChatMl);
    QVERIFY((*m)->has_chat_tokens());
    QCOMPARE((*m)->context_length(), int64_t{512});
    const std::vector<tok::ChatMessage> msgs = {{"system", "sys"}, {"user", "hi"}};
    auto p = (*m)->render(msgs);
    QVERIFY(p.is_ok());
    QCOMPARE(p->text, *tok::render_chat(tok::ChatTemplateKind::kChatMl, msgs));
    QCOMPARE(p->ids.front(), 256);  // <|im_start|> is one special token
    QCOMPARE((*m)->piece(256), std::string("<|im_start|>"));
    QCOMPARE(p->ids.size(), p->text.size() - 2 * (12 - 1) - 2 * (10 - 1) - (12 - 1));

    chat::ChatSampling s;
    s.greedy = true;
    s.max_new_tokens = 12;
    std::string streamed;
    auto r = (*m)->reply(msgs, Json::array(), s, [&](const std::string& t) {
      streamed += t;
      return true;
    });
    QVERIFY(r.is_ok());
    QCOMPARE(streamed, r->text);
    QVERIFY(r->generated_tokens >= 1 && r->generated_tokens <= 12);
    QCOMPARE(r->prompt_tokens, static_cast<int64_t>(p->ids.size()));
    if (r->generated_tokens > 2) QVERIFY(r->tokens_per_second() > 0);
    // Stop from the callback after the first piece.
    int pieces = 0;
    r = (*m)->reply(msgs, Json::array(), s, [&](const std::string&) { return ++pieces < 1; });
    QVERIFY(r.is_ok());
    QVERIFY(r->stop_reason == "callback" || r->generated_tokens <= 1 || r->stop_reason == "stop_token");

    // A long conversation loses its oldest turns, never the system prompt or the last question.
    std::vector<tok::ChatMessage> longer = {{"system", "sys"}};
    for (int i = 0; i < 20; ++i) {
      longer.push_back({"user", "question " + std::to_string(i) + std::string(30, 'q')});
      longer.push_back({"assistant", "answer " + std::to_string(i) + std::string(30, 'a')});
    }
    longer.push_back({"user", "last question"});
    auto fitted = (*m)->render(longer, Json::array(), 100);
    QVERIFY(fitted.is_ok());
    QVERIFY(fitted->dropped_messages > 0);
    QVERIFY(static_cast<int64_t>(fitted->ids.size()) <= 512 - 100);
    QVERIFY(fitted->text.find("<|im_start|>system\nsys<|im_end|>") == 0);
    QVERIFY(fitted->text.find("last question") != std::string::npos);
    QVERIFY(fitted->text.find("question 0") == std::string::npos);
    auto too_long = (*m)->render({{"user", std::string(600, 'x')}});
    QCOMPARE(too_long.status().code(), StatusCode::kOutOfRange);

    // The tool loop on a real checkpoint: whatever the random model writes, the loop ends cleanly.
    auto lm = chat::ChatModel::load(long_model_, o);
    QVERIFY(lm.is_ok());
    tools::ToolRegistry reg;
    QVERIFY(tools::register_builtin_tools(reg).is_ok());
    std::vector<tok::ChatMessage> conv = {{"user", "what is 2+2?"}};
    chat::ChatReply last;
    auto loop = tools::run_tool_loop(reg, conv, (*lm)->tool_generator(s, {}, nullptr, &last), {.max_steps = 2});
    QVERIFY2(loop.is_ok(), loop.status().to_string().c_str());
    QVERIFY(loop->steps >= 1 && loop->steps <= 2);
    QVERIFY(last.prompt_tokens > 1000);
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestChat)
#include "test_chat.moc"
