// The Playground over a tiny real checkpoint (debug preset, byte-level tokenizer with ChatML
// tokens): the engine streams on its own thread while the GUI event loop keeps turning; chat
// sessions send, stop, regenerate and edit turns; conversations round-trip through the
// workspace and reach the annotation tables; the tool loop asks before side-effect tools and
// runs plugin tools; and the page's three modes work offscreen (tools transcript with a
// QMessageBox approval, RAG answers whose [n] citations open the source passage).
#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QJsonDocument>
#include <QLineEdit>
#include <QListWidget>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QInputMethodEvent>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTextBrowser>
#include <QTreeWidget>
#include <QtTest>
#include <filesystem>
#include <fstream>

#include "../posttrain/byte_tokenizer.h"
#include "chat_panel.h"
#include "chat_session.h"
#include "conversation_store.h"
#include "playground_engine.h"
#include "playground_page.h"
#include "rag_panel.h"
#include "send_key_filter.h"
#include "sdk/tool_provider.h"
#include "sdk/workbench_context.h"
#include "store/workspace.h"
#include "test_support.h"
#include "tools_panel.h"

using namespace kanana;
using namespace kanana::playground;
namespace fs = std::filesystem;

namespace {

// A plugin's tool, offered through the object pool.
class EchoToolProvider : public QObject, public gui::IToolProvider {
  Q_OBJECT
  Q_INTERFACES(kanana::gui::IToolProvider)
 public:
  std::vector<tools::Tool> tools() override {
    tools::Tool t;
    t.spec.name = "echo";
    t.spec.description = "Repeat the text";
    t.spec.parameters = Json::parse("{\"type\": \"object\", \"properties\": {\"text\": {\"type\": \"string\"}}, \"required\": [\"text\"]}");
    t.run = [](const Json& a, const tools::ToolContext&) -> Result<Json> { return Json{{"echo", a["text"]}}; };
    return {t};
  }
};

// A scripted model for the tool loop: replies in order, then a fixed answer.
tools::GenerateFunction scripted(std::vector<std::string> replies) {
  auto state = std::make_shared<std::pair<std::vector<std::string>, size_t>>(std::move(replies), 0);
  return [state](const std::vector<tok::ChatMessage>&, const Json&) -> Result<std::string> {
    if (state->second < state->first.size()) return state->first[state->second++];
    return std::string("All done.");
  };
}

// With KANANA_SCREENSHOT_DIR set, each mode is saved as <dir>/playground-<mode>.png once it shows content.
void screenshot(QWidget& w, const char* mode) {
  const QString dir = qEnvironmentVariable("KANANA_SCREENSHOT_DIR");
  if (!dir.isEmpty()) w.grab().save(dir + "/playground-" + mode + ".png");
}

bool waitFor(const std::function<bool()>& done, int ms = 60000) {
  QElapsedTimer t;
  t.start();
  while (!done() && t.elapsed() < ms) QTest::qWait(10);
  return done();
}

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

}  // namespace

class TestPlayground : public QObject {
  Q_OBJECT
 private:
  QTemporaryDir tmp_;
  QString model_, longModel_;
  fs::path ws_;

  bool load(PlaygroundEngine& e, const QString& dir, const QString& weights = QString(), QString* summary = nullptr) {
    QSignalSpy ok(&e, &PlaygroundEngine::modelLoaded);
    QSignalSpy bad(&e, &PlaygroundEngine::modelFailed);
    e.loadModel(dir, 1, weights);
    waitFor([&] { return ok.count() + bad.count() > 0; });
    if (bad.count()) qWarning() << bad.first().at(1).toString();
    if (summary && ok.count()) *summary = ok.first().at(1).toString();
    return ok.count() == 1;
  }

  // One greedy reply to the same conversation.
  std::string greedyReply(PlaygroundEngine& engine) {
    ChatSession s(&engine);
    chat::ChatSampling sampling;
    sampling.greedy = true;
    sampling.max_new_tokens = 12;
    s.setSampling(sampling);
    QSignalSpy done(&s, &ChatSession::replyDone);
    if (!s.send("hello, 안녕") || !done.wait(60000) || s.turns().size() != 2) return "<no reply>";
    return s.turns()[1].message.content;
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    const fs::path root = tmp_.path().toStdString();
    QVERIFY(test::write_byte_tokenizer(root / "tok"));
    const fs::path model = root / "model";
    auto r = test::run_kanana({"model", "init", "--preset", "debug", "--out", QString::fromStdString(model.string()),
                               "--tokenizer", QString::fromStdString((root / "tok").string()), "--seed", "3"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    model_ = QString::fromStdString(model.string());
    fs::copy(model, root / "model_long", fs::copy_options::recursive);
    auto c = read_json_file(root / "model_long" / "config.json");
    QVERIFY(c.is_ok());
    (*c)["max_position_embeddings"] = 8192;
    QVERIFY(write_json_file(root / "model_long" / "config.json", *c).is_ok());
    longModel_ = QString::fromStdString((root / "model_long").string());
    ws_ = root / "ws";
    auto ws = store::Workspace::create(ws_, "playground-test");
    QVERIFY(ws.is_ok());
    store::CheckpointRecord cp;
    cp.name = "tiny-debug";
    cp.path = model.string();
    QVERIFY((*ws)->add_checkpoint(cp).is_ok());
  }

  void sessionSendRegenerateEdit() {
    PlaygroundEngine engine;
    QVERIFY(load(engine, model_));
    QCOMPARE(engine.modelDir(), model_);
    ChatSession s(&engine);
    chat::ChatSampling sampling;
    sampling.greedy = true;
    sampling.max_new_tokens = 8;
    s.setSampling(sampling);
    s.setSystemPrompt("Be brief.");
    QSignalSpy done(&s, &ChatSession::replyDone);
    QVERIFY(s.send("hello"));
    QVERIFY(s.busy());
    QVERIFY(!s.send("again"));  // one reply at a time
    QVERIFY(done.wait(60000));
    QCOMPARE(s.turns().size(), size_t{2});
    const std::string first = s.turns()[1].message.content;
    const QJsonObject stats = done.first().at(0).toJsonObject();
    QVERIFY(stats.value("generated_tokens").toInt() >= 1);
    QCOMPARE(stats.value("prompt_tokens").toInt(), 24 + 19);
    QCOMPARE(s.turns()[1].meta.value("checkpoint").toString(), model_);
    QVERIFY(s.regenerate());
    QVERIFY(done.wait(60000));
    QCOMPARE(s.turns().size(), size_t{2});
    QCOMPARE(s.turns()[1].message.content, first);  // greedy: the same reply again
    // Edit the user turn: later turns go, the model answers the new text.
    QVERIFY(s.editTurn(0, "hi"));
    QVERIFY(done.wait(60000));
    QCOMPARE(s.turns().size(), size_t{2});
    QCOMPARE(s.turns()[0].message.content, std::string("hi"));
    QCOMPARE(done.last().at(0).toJsonObject().value("prompt_tokens").toInt(), 24 - 3 + 19);
    // Edit the reply: kept as written, no generation, and the chat continues from it.
    QVERIFY(s.editTurn(1, "A custom reply."));
    QVERIFY(!s.busy());
    QCOMPARE(s.turns()[1].message.content, std::string("A custom reply."));
    QVERIFY(s.send("next"));
    QVERIFY(done.wait(60000));
    QCOMPARE(s.turns().size(), size_t{4});
    QVERIFY(!s.editTurn(7, "x"));
    // The raw view: the rendered template and its ids.
    QSignalSpy rendered(&engine, &PlaygroundEngine::promptRendered);
    engine.renderPrompt(s.messages(), false);
    QVERIFY(rendered.wait(30000));
    const QString text = rendered.first().at(1).toString();
    const auto ids = rendered.first().at(2).value<QVector<int>>();
    const QStringList pieces = rendered.first().at(3).toStringList();
    QVERIFY(text.startsWith("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>"));
    QCOMPARE(ids.first(), 256);
    QCOMPARE(pieces.first(), QString("<|im_start|>"));
    QCOMPARE(ids.size(), pieces.size());
  }

  // The Playground on the CPU engine: the summary names the backend, an f32 engine answers
  // exactly as LibTorch does, q4 answers too.
  void engineWeightsChat() {
    PlaygroundEngine torchEngine;
    QString summary;
    QVERIFY(load(torchEngine, model_, QString(), &summary));
    QVERIFY2(summary.contains("LibTorch f32"), qPrintable(summary));
    const std::string reference = greedyReply(torchEngine);
    PlaygroundEngine f32;
    QVERIFY(load(f32, model_, "f32", &summary));
    QVERIFY2(summary.contains("CPU engine f32") && summary.contains("MiB of weights"), qPrintable(summary));
    QCOMPARE(greedyReply(f32), reference);
    PlaygroundEngine q4;
    QVERIFY(load(q4, model_, "q4", &summary));
    QVERIFY2(summary.contains("CPU engine q4"), qPrintable(summary));
    QVERIFY(greedyReply(q4) != "<no reply>");
    PlaygroundEngine bad;
    QSignalSpy failed(&bad, &PlaygroundEngine::modelFailed);
    bad.loadModel(model_, 1, "q3");
    QVERIFY(failed.wait(30000));
    QVERIFY2(failed.first().at(1).toString().contains("q3"), qPrintable(failed.first().at(1).toString()));
  }

  void streamingKeepsTheEventLoopTurningAndStops() {
    PlaygroundEngine engine;
    QVERIFY(load(engine, longModel_));
    ChatSession s(&engine);
    chat::ChatSampling sampling;
    sampling.greedy = true;
    sampling.max_new_tokens = 4000;
    s.setSampling(sampling);
    int streamedSignals = 0;
    connect(&s, &ChatSession::streamed, this, [&] { ++streamedSignals; });
    // A GUI-thread timer: its ticks must keep coming while the model generates.
    QElapsedTimer clock;
    clock.start();
    qint64 last = 0, worstGap = 0;
    int ticks = 0;
    QTimer timer;
    timer.setInterval(10);
    connect(&timer, &QTimer::timeout, this, [&] {
      const qint64 now = clock.elapsed();
      worstGap = std::max(worstGap, now - last);
      last = now;
      ++ticks;
    });
    QSignalSpy done(&s, &ChatSession::replyDone);
    QVERIFY(s.send("tell me a long story"));
    last = clock.elapsed();
    timer.start();
    QVERIFY(waitFor([&] { return s.streamingText().size() > 50 || !s.busy(); }));
    QVERIFY2(s.busy(), "the reply ended before it could be stopped");
    QTest::qWait(200);
    s.stop();
    QVERIFY(done.wait(30000));
    timer.stop();
    QCOMPARE(done.first().at(0).toJsonObject().value("stop_reason").toString(), QString("cancelled"));
    QVERIFY(!s.turns().back().message.content.empty());  // the text so far is kept
    QVERIFY(s.turns().back().meta.value("generated_tokens").toInt() < 4000);
    QVERIFY(ticks >= 10);
    QVERIFY2(worstGap < 500, qPrintable(QString("the GUI thread stalled for %1 ms").arg(worstGap)));
    QVERIFY(streamedSignals >= 2);
    QVERIFY(s.liveTokensPerSecond() == 0.0);  // not busy any more
  }

  void conversationsAndAnnotation() {
    auto ws = store::Workspace::open(ws_);
    QVERIFY(ws.is_ok());
    PlaygroundEngine engine;  // no model needed to store turns
    ChatSession s(&engine);
    s.setSystemPrompt("시스템");
    s.setTurns({{{"user", "데비안이 뭐예요?"}, {}},
                {{"assistant", "자유 운영체제입니다."}, QJsonObject{{"generated_tokens", 5}, {"checkpoint", model_}}}});
    auto id = saveConversation(**ws, std::nullopt, "t", "chat", s.toMessagesJson(), QJsonObject{{"checkpoint", model_}});
    QVERIFY2(id.is_ok(), id.status().to_string().c_str());
    s.setTurns({{{"user", "데비안이 뭐예요?"}, {}}, {{"assistant", "Debian."}, {}}});
    QVERIFY(saveConversation(**ws, *id, "t2", "chat", s.toMessagesJson(), {}).is_ok());  // update in place
    auto list = listConversations(**ws, "chat");
    QVERIFY(list.is_ok());
    QCOMPARE(list->size(), size_t{1});
    QCOMPARE(list->front().title, QString("t2"));
    ChatSession back(&engine);
    back.fromMessagesJson(list->front().messages);
    QCOMPARE(back.systemPrompt(), QString("시스템"));
    QCOMPARE(back.turns().size(), size_t{2});
    QCOMPARE(back.turns()[1].message.content, std::string("Debian."));

    auto prompt = sendToAnnotation(**ws, s.toMessagesJson(),
                                   {{"Debian.", model_, QJsonObject{{"seed", 7}}}, {"데비안은 리눅스 배포판입니다.", "", {}}}, *id);
    QVERIFY2(prompt.is_ok(), prompt.status().to_string().c_str());
    auto sets = (*ws)->list_prompt_sets();
    QCOMPARE(sets->size(), size_t{1});
    QCOMPARE(sets->front().name, std::string(kAnnotationPromptSet));
    auto prompts = (*ws)->list_prompts(sets->front().id);
    QCOMPARE(prompts->size(), size_t{1});
    QCOMPARE(prompts->front().text, std::string("데비안이 뭐예요?"));
    QCOMPARE(prompts->front().system, std::string("시스템"));
    QCOMPARE(prompts->front().lang, std::string("ko"));
    const Json meta = Json::parse(prompts->front().meta_json);
    QCOMPARE(meta["source"], Json("playground"));
    QCOMPARE(meta["conversation_id"], Json(*id));
    QCOMPARE(meta["messages"].size(), size_t{2});  // system + user: the reply is a candidate, not the prompt
    QCOMPARE(meta["messages"][1]["content"], Json("데비안이 뭐예요?"));
    auto candidates = (*ws)->list_candidates(*prompt);
    QCOMPARE(candidates->size(), size_t{2});
    QVERIFY(candidates->at(0).checkpoint_id.has_value());  // the registered checkpoint
    QCOMPARE(*candidates->at(0).seed, int64_t{7});
    QVERIFY(!candidates->at(1).checkpoint_id.has_value());
    // A second hand-off reuses the set.
    QVERIFY(sendToAnnotation(**ws, s.toMessagesJson(), {}).is_ok());
    QCOMPARE((*ws)->list_prompt_sets()->size(), size_t{1});
    QVERIFY(!sendToAnnotation(**ws, QJsonArray{QJsonObject{{"role", "system"}, {"content", "x"}}}, {}).is_ok());
    QCOMPARE(guessLanguage("hello 안녕"), QString("mixed"));
  }

  void toolLoopAsksFirstAndRunsPluginTools() {
    PlaygroundEngine engine;
    engine.setGenerateOverride(scripted({
        "{\"name\": \"write_note\", \"arguments\": {\"name\": \"plan\", \"content\": \"# 계획\"}}",
        "{\"name\": \"echo\", \"arguments\": {\"text\": \"안녕\"}}",
        "<tool_call>\n{\"name\": \"calculator\", \"arguments\": {\"expression\": \"6*7\"\n</tool_call>",
    }));
    QStringList asked;
    bool allow = false;
    engine.setConfirmHandler([&](const QString& tool, const QString& args) {
      asked << tool + " " + QJsonDocument::fromJson(args.toUtf8()).object().value("name").toString();
      return allow;
    });
    ToolSetup setup;
    setup.workspace = QString::fromStdString(ws_.string());
    setup.extra = EchoToolProvider().tools();
    QVERIFY(PlaygroundEngine::availableTools(setup).contains("echo"));
    QSignalSpy events(&engine, &PlaygroundEngine::toolEvent);
    QSignalSpy finished(&engine, &PlaygroundEngine::toolsFinished);
    engine.runTools({{"user", "write a plan"}}, {}, setup);
    QVERIFY(finished.wait(30000));
    QCOMPARE(asked, QStringList{"write_note plan"});
    QVERIFY(!fs::exists(ws_ / "notes" / "plan.md"));
    QStringList kinds;
    for (const auto& e : events) {
      const QJsonObject o = e.at(1).toJsonObject();
      kinds << o.value("kind").toString() + (o.contains("name") ? ":" + o.value("name").toString() : QString()) +
                   (o.value("declined").toBool() ? ":declined" : QString());
    }
    QCOMPARE(kinds, (QStringList{"assistant", "call:write_note", "result:write_note:declined", "assistant", "call:echo",
                                 "result:echo", "assistant", "parse_error", "assistant", "final"}));
    const QJsonObject summary = finished.first().at(1).toJsonObject();
    QCOMPARE(summary.value("answer").toString(), QString("All done."));
    QCOMPARE(summary.value("steps").toInt(), 4);
    // The echo result went back to the model as a tool message.
    const QJsonArray conv = finished.first().at(2).toJsonArray();
    bool echoed = false;
    for (const QJsonValue& m : conv)
      echoed = echoed || (m.toObject().value("role") == "tool" && m.toObject().value("content").toString().contains("안녕"));
    QVERIFY(echoed);

    allow = true;
    engine.setGenerateOverride(scripted({"{\"name\": \"write_note\", \"arguments\": {\"name\": \"plan\", \"content\": \"# 계획\"}}"}));
    finished.clear();
    engine.runTools({{"user", "write a plan"}}, {}, setup);
    QVERIFY(finished.wait(30000));
    QVERIFY(fs::exists(ws_ / "notes" / "plan.md"));
  }

  // Enter sends, Shift+Enter adds a line, and an Enter pressed while the input method is
  // composing a Hangul syllable sends once, after the syllable is committed, with it.
  void enterSendsAndKoreanCompositionIsCommittedFirst() {
    QPlainTextEdit box;
    QStringList sent;
    new playground::SendKeyFilter(&box, [&] {
      sent << box.toPlainText();
      box.clear();
    });
    auto key = [&](Qt::KeyboardModifiers m) {
      QKeyEvent press(QEvent::KeyPress, Qt::Key_Return, m);
      QApplication::sendEvent(&box, &press);
    };
    auto ime = [&](const QString& preedit, const QString& commit) {
      QInputMethodEvent e(preedit, {});
      e.setCommitString(commit);
      QApplication::sendEvent(&box, &e);
    };
    box.insertPlainText(QStringLiteral("첫 줄"));
    key(Qt::ShiftModifier);
    box.insertPlainText(QStringLiteral("둘째"));
    QCOMPARE(box.toPlainText(), QStringLiteral("첫 줄\n둘째"));  // Shift+Enter: a line, not a send
    QVERIFY(sent.isEmpty());
    key(Qt::NoModifier);
    QCOMPARE(sent, QStringList{QStringLiteral("첫 줄\n둘째")});
    QVERIFY(box.toPlainText().isEmpty());

    // 안녕하 + composing "세" (ㅅ → 세), Enter, then the IME commits 세.
    sent.clear();
    ime(QString(), QStringLiteral("안녕하"));
    ime(QStringLiteral("ㅅ"), QString());
    ime(QStringLiteral("세"), QString());
    key(Qt::NoModifier);
    QVERIFY2(sent.isEmpty(), "nothing is sent while a syllable is being composed");
    ime(QString(), QStringLiteral("세"));
    QTRY_COMPARE(sent.size(), 1);
    QCOMPARE(sent[0], QStringLiteral("안녕하세"));
    QVERIFY(box.toPlainText().isEmpty());
    QTest::qWait(20);
    QCOMPARE(sent.size(), 1);  // sent once, the syllable not again
  }

  void pageModesOffscreen() {
    QTemporaryDir settingsDir;
    QSettings settings(settingsDir.filePath("s.ini"), QSettings::IniFormat);
    gui::WorkbenchContext context(&settings);
    QString error;
    QVERIFY2(context.openWorkspace(QString::fromStdString(ws_.string()), &error), qPrintable(error));
    EchoToolProvider provider;
    context.addObject(&provider);
    PlaygroundPage page(&context);
    page.resize(1300, 800);
    page.show();
    QCOMPARE(page.findChild<QTabWidget*>("playgroundModes")->count(), 4);  // Chat, RAG, Tools, Serve
    page.setMode("tools");
    QCOMPARE(settings.value("playground/mode").toString(), QString("tools"));

    // Tools: the plugin tool is listed; a side-effect call raises a QMessageBox that is answered Yes.
    ToolsPanel* tools = page.tools();
    auto* list = tools->findChild<QListWidget*>("toolList");
    QStringList names;
    for (int i = 0; i < list->count(); ++i) names << list->item(i)->data(Qt::UserRole).toString();
    QVERIFY2(names.contains("echo") && names.contains("calculator") && names.contains("sql_query"), qPrintable(names.join(",")));
    tools->engine()->setGenerateOverride(
        scripted({"{\"name\": \"write_note\", \"arguments\": {\"name\": \"page-note\", \"content\": \"x\"}}",
                  "{\"name\": \"sql_query\", \"arguments\": {\"query\": \"SELECT count(*) FROM checkpoints\"}}"}));
    int boxes = 0;
    QTimer answer;
    answer.setInterval(50);
    connect(&answer, &QTimer::timeout, this, [&] {
      if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) {
        ++boxes;
        box->button(QMessageBox::Yes)->click();
      }
    });
    answer.start();
    QSignalSpy finished(tools->engine(), &PlaygroundEngine::toolsFinished);
    tools->run("save a note and count checkpoints");
    QVERIFY(finished.wait(30000));
    answer.stop();
    QCOMPARE(boxes, 1);
    QVERIFY(fs::exists(ws_ / "notes" / "page-note.md"));
    QTreeWidget* transcript = tools->transcript();
    QStringList rows;
    for (int i = 0; i < transcript->topLevelItemCount(); ++i)
      rows << transcript->topLevelItem(i)->text(1) + ":" + transcript->topLevelItem(i)->text(2);
    QVERIFY2(rows.contains("call:write_note") && rows.contains("result:write_note") && rows.contains("result:sql_query"),
             qPrintable(rows.join(" | ")));
    bool counted = false;
    for (int i = 0; i < transcript->topLevelItemCount(); ++i)
      counted = counted || (transcript->topLevelItem(i)->text(2) == "sql_query" &&
                            transcript->topLevelItem(i)->text(3).contains("[[1]]"));
    QVERIFY(counted);
    tools->findChild<QLineEdit*>("toolInput")->setText("What is (17.5 * 4) ^ 2?");
    screenshot(page, "tools");

    // Chat: a checkpoint, a streamed reply in the transcript, saved to the workspace.
    page.setMode("chat");
    ChatPanel* chat = page.chat();
    chat->loadCheckpoint(0, model_);
    QVERIFY(waitFor([&] { return chat->engine(0)->hasModel(); }));
    QSignalSpy replied(chat->session(0), &ChatSession::replyDone);
    chat->sendMessage("hello");
    QVERIFY(replied.wait(60000));
    QVERIFY(page.findChild<QTextBrowser*>("transcriptA")->toPlainText().contains("hello"));
    QVERIFY2(chat->saveConversation(&error), qPrintable(error));
    QVERIFY(chat->sendToAnnotation(&error));
    // Side by side: B starts from A's turns and answers the next message too.
    chat->loadCheckpoint(1, longModel_);
    QVERIFY(waitFor([&] { return chat->engine(1)->hasModel(); }));
    chat->setComparing(true);
    QCOMPARE(chat->session(1)->turns().size(), size_t{2});
    QSignalSpy repliedB(chat->session(1), &ChatSession::replyDone);
    chat->sendMessage("and then?");
    QVERIFY(repliedB.wait(60000) || repliedB.count() == 1);
    QVERIFY(waitFor([&] { return !chat->session(0)->busy(); }));
    QCOMPARE(chat->session(0)->turns().size(), size_t{4});
    QCOMPARE(chat->session(1)->turns().size(), size_t{4});
    QCOMPARE(chat->session(1)->turns()[2].message.content, std::string("and then?"));
    screenshot(page, "chat");

    // RAG: a full-text index over a Korean/English file; the answer's [1] opens the passage.
    page.setMode("rag");
    RagPanel* rag = page.rag();
    const fs::path docs = fs::path(tmp_.path().toStdString()) / "docs" / "faq.md";
    write(docs,
          "# 데비안\n\n데비안은 자유 소프트웨어로 만든 운영체제입니다. 패키지는 apt로 설치합니다.\n\n"
          "Debian is a free operating system. Packages are installed with apt.\n\n"
          "# 기타\n\n김치는 한국의 발효 음식입니다.\n");
    rag->setIndexDir(QString::fromStdString((ws_ / "rag" / "faq").string()));
    auto s = rag->settings();
    QVERIFY(!s.indexDir.isEmpty());
    QSignalSpy ingested(rag->engine(), &PlaygroundEngine::ingestFinished);
    QSignalSpy failed(rag->engine(), &PlaygroundEngine::requestFailed);
    // A full-text index counts chunk tokens with a checkpoint's tokenizer.
    rag->findChild<QWidget*>("ragCheckpoint")->findChild<QComboBox*>()->setCurrentIndex(1);
    rag->addPaths({QString::fromStdString(docs.string())});
    QVERIFY(waitFor([&] { return ingested.count() + failed.count() > 0; }));
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().at(1).toString()));
    QVERIFY(ingested.first().at(1).toJsonObject().value("chunks").toInt() >= 1);
    rag->engine()->setGenerateOverride(scripted({"데비안은 자유 운영체제입니다 [1]."}));
    QSignalSpy answered(rag->engine(), &PlaygroundEngine::replyFinished);
    rag->ask("데비안 패키지는 어떻게 설치하나요?");
    QVERIFY(answered.wait(30000));
    QVERIFY(!rag->citations().isEmpty());
    QVERIFY(page.findChild<QTextBrowser*>("ragAnswer")->toHtml().contains("cite:1"));
    QVERIFY(rag->openCitation(1));
    QVERIFY2(page.findChild<QTextBrowser*>("ragPassage")->toPlainText().contains("apt"),
             qPrintable(page.findChild<QTextBrowser*>("ragPassage")->toPlainText()));
    QVERIFY(!rag->openCitation(99));
    // A prompt that overflows the context: the answer says so (not "load a checkpoint").
    rag->engine()->setGenerateOverride([](const std::vector<tok::ChatMessage>&, const Json&) -> Result<std::string> {
      return invalid_argument("the prompt has 894 tokens but the model's context holds 512");
    });
    QSignalSpy refused(rag->engine(), &PlaygroundEngine::requestFailed);
    rag->ask("데비안 패키지는 어떻게 설치하나요?");
    QVERIFY(refused.wait(30000));
    const QString why = page.findChild<QTextBrowser*>("ragAnswer")->toPlainText();
    QVERIFY2(why.contains("894 tokens") && !why.contains("load a checkpoint"), qPrintable(why));
    rag->engine()->setGenerateOverride(scripted({"데비안은 자유 운영체제입니다 [1]."}));
    screenshot(page, "rag");
    context.removeObject(&provider);
  }
};

#include "test_main.h"
KANANA_TEST_MAIN(TestPlayground)
#include "test_playground.moc"
