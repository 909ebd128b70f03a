// Function calling end to end without a model: tool lists rendered into Llama 3.1 / ChatML
// prompts (against goldens rendered by Jinja2 from the reference templates), tool calls read
// from every shape a model writes them in and from malformed output (a clear error, never a
// crash), and the multi-step loop driven by a scripted fake model: results fed back, malformed
// calls corrected, the step limit, side-effect confirmation, cancellation and failures.
#include <QtTest>

#include <filesystem>
#include <stdexcept>

#include "base/files.h"
#include "test_support.h"
#include "tools/builtin_tools.h"
#include "tools/calculator.h"
#include "tools/tool.h"
#include "tools/tool_call_parser.h"
#include "tools/tool_loop.h"
#include "tools/tool_prompt.h"

using namespace kanana;
using namespace kanana::tools;

namespace {

Json weather_tool() {
  return Json::parse(R"({"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "도시 이름"},
                   "unit": {"type": "string", "enum": ["c", "f"]}}, "required": ["city"]}}})");
}

std::string golden(const char* name) {
  auto r = read_file(kanana::test::source_dir().toStdString() + "/tests/tools/golden/" + name);
  return r.is_ok() ? *r : std::string("<missing golden ") + name + ">";
}

// A model that answers from a script, and records what it was shown.
struct ScriptedModel {
  std::vector<std::string> replies;
  std::vector<std::vector<tok::ChatMessage>> seen;
  size_t next = 0;
  GenerateFunction fn() {
    return [this](const std::vector<tok::ChatMessage>& messages, const Json&) -> Result<std::string> {
      seen.push_back(messages);
      if (next >= replies.size()) return std::string("(script exhausted)");
      return replies[next++];
    };
  }
};

}  // namespace

class TestToolCalls : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void toolPromptMatchesReferenceTemplates() {
    const std::vector<tok::ChatMessage> msgs = {{"system", "You are helpful."}, {"user", "서울 날씨 어때?"}};
    const Json tools = Json::array({weather_tool()});
    auto llama = render_chat_with_tools(tok::ChatTemplateKind::kLlama3, msgs, tools, {}, {.today = "26 Jul 2024"});
    QVERIFY(llama.is_ok());
    QCOMPARE(QString::fromStdString(llama->text), QString::fromStdString(golden("llama31_tools.txt")));
    auto chatml = render_chat_with_tools(tok::ChatTemplateKind::kChatMl, msgs, tools);
    QVERIFY(chatml.is_ok());
    QCOMPARE(QString::fromStdString(chatml->text), QString::fromStdString(golden("chatml_tools_system.txt")));
    chatml = render_chat_with_tools(tok::ChatTemplateKind::kChatMl, {msgs[1]}, tools);
    QCOMPARE(QString::fromStdString(chatml->text), QString::fromStdString(golden("chatml_tools_nosystem.txt")));
    // No tools: exactly the plain template.
    QCOMPARE(render_chat_with_tools(tok::ChatTemplateKind::kLlama3, msgs, Json::array())->text,
             *tok::render_chat(tok::ChatTemplateKind::kLlama3, msgs));
    // Assistant spans still point at the assistant turns after the system block moved.
    std::vector<tok::ChatMessage> turn = msgs;
    turn.push_back({"assistant", "맑아요."});
    auto spans = render_chat_with_tools(tok::ChatTemplateKind::kLlama3, turn, tools, {.add_generation_prompt = false});
    QCOMPARE(spans->assistant_spans.size(), size_t{1});
    const auto [b, e] = spans->assistant_spans[0];
    QCOMPARE(spans->text.substr(b, e - b), std::string("맑아요.<|eot_id|>"));
  }

  void parsesEveryCallShape() {
    auto p = parse_tool_calls("The answer is 4.");
    QVERIFY(!p.attempted());
    QCOMPARE(p.text, std::string("The answer is 4."));
    QVERIFY(!parse_tool_calls("[1] Debian is a free operating system [2].").attempted());  // citations are not calls

    p = parse_tool_calls(R"({"name": "calculator", "parameters": {"expression": "2+2"}})");
    QCOMPARE(p.calls.size(), size_t{1});
    QCOMPARE(p.calls[0].name, std::string("calculator"));
    QCOMPARE(p.calls[0].arguments, Json({{"expression", "2+2"}}));
    QCOMPARE(p.calls[0].id, std::string("call_1"));
    QVERIFY(p.text.empty());

    p = parse_tool_calls("<|python_tag|>{\"name\": \"calculator\", \"arguments\": {\"expression\": \"1\"}}<|eom_id|>", 7);
    QCOMPARE(p.calls.size(), size_t{1});
    QCOMPARE(p.calls[0].id, std::string("call_7"));

    p = parse_tool_calls("<tool_call>\n{\"name\": \"a\", \"arguments\": {\"x\": 1}}\n</tool_call>\n<tool_call>\n"
                         "{\"name\": \"b\", \"arguments\": {}}\n</tool_call>");
    QCOMPARE(p.calls.size(), size_t{2});
    QCOMPARE(p.calls[1].name, std::string("b"));
    QCOMPARE(p.calls[1].id, std::string("call_2"));

    p = parse_tool_calls("Let me compute.\n```json\n{\"name\": \"calculator\", \"arguments\": {\"expression\": \"3*3\"}}\n```\nDone.");
    QCOMPARE(p.calls.size(), size_t{1});
    QCOMPARE(p.text, std::string("Let me compute.\n\nDone."));
    // A code block that is not a call stays text.
    p = parse_tool_calls("Example:\n```python\nprint(1)\n```");
    QVERIFY(!p.attempted());

    p = parse_tool_calls(R"([{"name": "a", "arguments": {}}, {"name": "b", "arguments": {}}])");
    QCOMPARE(p.calls.size(), size_t{2});
    p = parse_tool_calls(R"({"name": "a", "parameters": {}}; {"name": "b", "parameters": {}})");
    QCOMPARE(p.calls.size(), size_t{2});
    p = parse_tool_calls("{\"name\": \"a\", \"arguments\": {}}\n{\"name\": \"b\", \"arguments\": {}}");
    QCOMPARE(p.calls.size(), size_t{2});

    p = parse_tool_calls("{\"name\": \"a\", \"arguments\": {\"q\": \"} { \\\" ]\"}} I will now wait.");
    QCOMPARE(p.calls.size(), size_t{1});
    QCOMPARE(p.calls[0].arguments["q"], Json("} { \" ]"));
    QCOMPARE(p.text, std::string("I will now wait."));

    p = parse_tool_calls(
        "{\"tool_calls\": [{\"id\": \"x1\", \"type\": \"function\", \"function\": {\"name\": \"a\", \"arguments\": \"{\\\"v\\\": 2}\"}}]}");
    QCOMPARE(p.calls.size(), size_t{1});
    QCOMPARE(p.calls[0].id, std::string("x1"));
    QCOMPARE(p.calls[0].arguments, Json({{"v", 2}}));

    p = parse_tool_calls(R"(Sure! {"name": "calculator", "arguments": {"expression": "5"}})");
    QCOMPARE(p.calls.size(), size_t{1});
    QCOMPARE(p.text, std::string("Sure!"));
    p = parse_tool_calls(R"({"name": "계산기", "arguments": null})");
    QCOMPARE(p.calls[0].arguments, Json::object());
  }

  void malformedCallsBecomeErrors() {
    const auto error_of = [](const std::string& out) {
      auto p = parse_tool_calls(out);
      return p.calls.empty() && p.errors.size() == 1 ? p.errors[0].message : std::string("calls: ") + std::to_string(p.calls.size());
    };
    QVERIFY(error_of(R"({"name": "calculator", "arguments": {"expression": "2+2"})").find("incomplete JSON") != std::string::npos);
    QVERIFY(error_of(R"({'name': 'calculator', 'arguments': {}})").find("is not valid JSON") != std::string::npos);
    QVERIFY(error_of(R"({"name": "calculator", "arguments": {"expression": "2+2",}})").find("is not valid JSON") != std::string::npos);
    QVERIFY(error_of(R"({"arguments": {"x": 1}})").find("has no \"name\"") != std::string::npos);
    QVERIFY(error_of(R"({"name": "a", "arguments": "not json"})").find("\"arguments\" is a string that is not valid JSON") !=
            std::string::npos);
    QVERIFY(error_of(R"({"name": "a", "arguments": [1, 2]})").find("must be a JSON object") != std::string::npos);
    QVERIFY(error_of("<tool_call>oops</tool_call>").find("holds no JSON call") != std::string::npos);
    QVERIFY(error_of("<|python_tag|>weather.call(city=\"Seoul\")").find("holds no JSON call") != std::string::npos);
    QVERIFY(error_of("<tool_call>\n{\"name\": \"a\", \"arguments\": {\"x\": [1, 2}}\n</tool_call>").find("not valid JSON") !=
            std::string::npos);
    // The error names where in the output the call started.
    QVERIFY(error_of(R"(Calling: {"name": "a", "arguments": {)").find("at byte 9") != std::string::npos);
    // Garbage of every kind is survived.
    std::string junk;
    for (int i = 0; i < 4096; ++i) junk += static_cast<char>((i * 7919) % 256);
    (void)parse_tool_calls(junk);
    (void)parse_tool_calls(std::string(20000, '{') + std::string(20000, '}'));
    (void)parse_tool_calls(std::string(20000, '[') + "{\"name\"");
    (void)parse_tool_calls("<tool_call>");
    (void)parse_tool_calls("```\n{");
    (void)parse_tool_calls("{\"name\": \"\xff\xfe\", \"arguments\": {}}");
  }

  void loopFeedsResultsBack() {
    ToolRegistry reg;
    QVERIFY(reg.add(make_calculator_tool()).is_ok());
    ScriptedModel model;
    model.replies = {R"({"name": "calculator", "parameters": {"expression": "2+3*4"}})", "2+3*4 = 14."};
    std::vector<tok::ChatMessage> msgs = {{"user", "What is 2+3*4?"}};
    std::vector<std::string> kinds;
    auto r = run_tool_loop(reg, msgs, model.fn(), {}, {}, [&](const ToolEvent& e) { kinds.push_back(tool_event_kind_name(e.kind)); });
    QVERIFY(r.is_ok());
    QCOMPARE(r->stop_reason, std::string("answer"));
    QCOMPARE(r->answer, std::string("2+3*4 = 14."));
    QCOMPARE(r->steps, 2);
    QCOMPARE(r->tool_calls, 1);
    QCOMPARE(kinds, (std::vector<std::string>{"assistant", "call", "result", "assistant", "final"}));
    QCOMPARE(msgs.size(), size_t{4});
    QCOMPARE(msgs[1].role, std::string("assistant"));
    QCOMPARE(msgs[1].tool_calls[0]["function"]["name"], Json("calculator"));
    QCOMPARE(msgs[2].role, std::string("tool"));
    QCOMPARE(*msgs[2].tool_call_id, std::string("call_1"));
    QCOMPARE(Json::parse(msgs[2].content)["result"], Json(14));
    // What the model saw on its second step, rendered in both formats.
    const auto& second = model.seen[1];
    auto llama = render_chat_with_tools(tok::ChatTemplateKind::kLlama3, second, reg.openai_tools());
    QVERIFY(llama->text.find("<|start_header_id|>assistant<|end_header_id|>\n\n{\"name\": \"calculator\", \"parameters\": "
                             "{\"expression\": \"2+3*4\"}}<|eot_id|><|start_header_id|>ipython<|end_header_id|>\n\n"
                             "{\"expression\":\"2+3*4\",\"result\":14}<|eot_id|>") != std::string::npos);
    auto chatml = render_chat_with_tools(tok::ChatTemplateKind::kChatMl, second, reg.openai_tools());
    QVERIFY(chatml->text.find("<tool_call>\n{\"name\": \"calculator\", \"arguments\": {\"expression\": \"2+3*4\"}}\n</tool_call>"
                              "<|im_end|>\n<|im_start|>tool call_1\n{\"expression\":\"2+3*4\",\"result\":14}<|im_end|>") !=
            std::string::npos);
    // A second question continues the ids.
    model.replies.push_back(R"({"name": "calculator", "arguments": {"expression": "1+1"}})");
    model.replies.push_back("2.");
    msgs.push_back({"user", "And 1+1?"});
    r = run_tool_loop(reg, msgs, model.fn());
    QCOMPARE(*msgs[msgs.size() - 2].tool_call_id, std::string("call_2"));
  }

  void loopLetsTheModelFixMalformedCalls() {
    ToolRegistry reg;
    int runs = 0;
    Tool counter;
    counter.spec.name = "count";
    counter.spec.parameters = Json::parse(R"({"type": "object", "properties": {"n": {"type": "integer", "minimum": 0}},
                                             "required": ["n"], "additionalProperties": false})");
    counter.run = [&](const Json& a, const ToolContext&) -> Result<Json> {
      ++runs;
      return Json{{"n", a["n"]}};
    };
    QVERIFY(reg.add(counter).is_ok());
    ScriptedModel model;
    model.replies = {
        R"({"name": "count", "arguments": {"n": 1})",                                   // truncated JSON
        R"({"name": "count", "arguments": {"n": 1}} {"name": "count", "arguments": {)",  // one good, one broken: nothing runs
        R"({"name": "cnt", "arguments": {"n": 1}})",                                   // unknown tool
        R"({"name": "count", "arguments": {"n": -1, "m": 2}})",                        // schema violations
        R"({"name": "count", "arguments": {"n": 3}})",
        "Counted."};
    std::vector<tok::ChatMessage> msgs = {{"user", "count"}};
    ToolLoopOptions o;
    o.max_steps = 10;
    auto r = run_tool_loop(reg, msgs, model.fn(), o);
    QVERIFY(r.is_ok());
    QCOMPARE(r->stop_reason, std::string("answer"));
    QCOMPARE(r->steps, 6);
    QCOMPARE(runs, 1);
    // The errors the model read, in order.
    std::vector<std::string> tool_contents;
    for (const auto& m : msgs)
      if (m.role == "tool") tool_contents.push_back(m.content);
    QCOMPARE(tool_contents.size(), size_t{5});
    QVERIFY2(tool_contents[0].find("incomplete JSON") != std::string::npos, tool_contents[0].c_str());
    QVERIFY(tool_contents[0].find("No tool was run") != std::string::npos);
    QVERIFY(tool_contents[1].find("incomplete JSON") != std::string::npos);
    QVERIFY(tool_contents[2].find("unknown tool 'cnt'; available tools: count") != std::string::npos);
    QVERIFY2(tool_contents[3].find("arguments.n must be >= 0 (got -1)") != std::string::npos, tool_contents[3].c_str());
    QVERIFY(tool_contents[3].find("arguments.m is not a known argument") != std::string::npos);
    QCOMPARE(Json::parse(tool_contents[4]), Json({{"n", 3}}));
    // The malformed output itself stays in the conversation for the model to see.
    QCOMPARE(msgs[1].content, model.replies[0]);
  }

  void loopStopsAtTheStepLimit() {
    ToolRegistry reg;
    QVERIFY(reg.add(make_calculator_tool()).is_ok());
    ScriptedModel model;
    model.replies.assign(10, R"({"name": "calculator", "arguments": {"expression": "1"}})");
    std::vector<tok::ChatMessage> msgs = {{"user", "loop forever"}};
    ToolLoopOptions o;
    o.max_steps = 3;
    auto r = run_tool_loop(reg, msgs, model.fn(), o);
    QVERIFY(r.is_ok());
    QCOMPARE(r->stop_reason, std::string("step_limit"));
    QCOMPARE(r->steps, 3);
    QCOMPARE(r->tool_calls, 3);
    QCOMPARE(model.next, size_t{3});
    QVERIFY(r->answer.empty());
    o.max_steps = 0;
    QVERIFY(!run_tool_loop(reg, msgs, model.fn(), o).is_ok());
  }

  void sideEffectToolsAskFirst() {
    ToolRegistry reg;
    std::vector<std::string> deleted;
    Tool del;
    del.spec.name = "delete_item";
    del.spec.side_effects = true;
    del.spec.parameters = Json::parse(R"({"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]})");
    del.run = [&](const Json& a, const ToolContext&) -> Result<Json> {
      deleted.push_back(a["id"].get<std::string>());
      return Json{{"deleted", a["id"]}};
    };
    QVERIFY(reg.add(del).is_ok());
    Tool boom;  // a tool that throws must not take the loop down
    boom.spec.name = "boom";
    boom.run = [](const Json&, const ToolContext&) -> Result<Json> { throw std::runtime_error("kaboom"); };
    QVERIFY(reg.add(boom).is_ok());

    ScriptedModel model;
    model.replies = {R"({"name": "delete_item", "arguments": {"id": "a"}})", R"({"name": "delete_item", "arguments": {"id": "b"}})",
                     R"({"name": "boom", "arguments": {}})", "done"};
    std::vector<std::pair<std::string, std::string>> asked;
    const ConfirmFunction confirm = [&](const ToolSpec& spec, const Json& args) {
      asked.emplace_back(spec.name, args["id"].get<std::string>());
      return args["id"] == "b";  // the user declines "a", approves "b"
    };
    std::vector<tok::ChatMessage> msgs = {{"user", "delete a and b"}};
    std::vector<ToolOutcome> outcomes;
    auto r = run_tool_loop(reg, msgs, model.fn(), {}, confirm, [&](const ToolEvent& e) {
      if (e.kind == ToolEvent::Kind::kResult) outcomes.push_back(e.outcome);
    });
    QVERIFY(r.is_ok());
    QCOMPARE(asked.size(), size_t{2});  // boom has no side effects: not asked
    QCOMPARE(deleted, std::vector<std::string>{"b"});
    QCOMPARE(outcomes.size(), size_t{3});
    QVERIFY(outcomes[0].declined);
    QVERIFY(outcomes[0].content().find("the user declined to run 'delete_item'") != std::string::npos);
    QVERIFY(outcomes[1].ok);
    QVERIFY(!outcomes[2].ok);
    QVERIFY(outcomes[2].error.find("kaboom") != std::string::npos);
    // Without a confirmation callback, side-effect tools never run.
    model = {};
    model.replies = {R"({"name": "delete_item", "arguments": {"id": "c"}})", "ok"};
    r = run_tool_loop(reg, msgs, model.fn());
    QCOMPARE(deleted, std::vector<std::string>{"b"});
  }

  void loopReportsFailuresAndCancellation() {
    ToolRegistry reg;
    QVERIFY(reg.add(make_calculator_tool()).is_ok());
    int calls = 0;
    const GenerateFunction failing = [&](const std::vector<tok::ChatMessage>&, const Json&) -> Result<std::string> {
      if (++calls == 2) return internal_error("the model fell over");
      return std::string(R"({"name": "calculator", "arguments": {"expression": "1"}})");
    };
    std::vector<tok::ChatMessage> msgs = {{"user", "x"}};
    auto r = run_tool_loop(reg, msgs, failing);
    QVERIFY(!r.is_ok());
    QCOMPARE(QString::fromStdString(r.status().message()), QString("the model fell over"));

    CancelToken cancel;
    const GenerateFunction cancelling = [&](const std::vector<tok::ChatMessage>&, const Json&) -> Result<std::string> {
      cancel.cancel();  // the user pressed Stop while the model was writing
      return std::string(R"({"name": "calculator", "arguments": {"expression": "1"}})");
    };
    msgs = {{"user", "x"}};
    r = run_tool_loop(reg, msgs, cancelling, {}, {}, {}, &cancel);
    QVERIFY(r.is_ok());
    QCOMPARE(r->stop_reason, std::string("cancelled"));
    QCOMPARE(r->tool_calls, 0);
  }

  void builtinToolsWithoutWorkspace() {
    ToolRegistry reg;
    QVERIFY(register_builtin_tools(reg).is_ok());
    QCOMPARE(reg.names(), (std::vector<std::string>{"calculator", "convert_units", "datetime"}));
    // Every declaration is a valid OpenAI tool.
    for (const Json& t : reg.openai_tools()) {
      QCOMPARE(t["type"], Json("function"));
      QVERIFY(!t["function"]["description"].get<std::string>().empty());
      QCOMPARE(t["function"]["parameters"]["type"], Json("object"));
    }
    // A retriever makes search_documents appear and numbers its passages.
    ToolRegistry with_rag;
    BuiltinToolOptions o;
    o.retriever = [](const std::string& q, int64_t k, const CancelToken*) -> Result<std::vector<RetrievedPassage>> {
      std::vector<RetrievedPassage> out;
      for (int64_t i = 0; i < k; ++i) out.push_back({"faq.txt:" + std::to_string(i), q + " passage", 1.0 / (i + 1)});
      return out;
    };
    QVERIFY(register_builtin_tools(with_rag, o).is_ok());
    ToolOutcome out = with_rag.execute({"c", "search_documents", {{"query", "데비안"}, {"k", 2}}});
    QVERIFY(out.ok);
    QCOMPARE(out.result["passages"].size(), size_t{2});
    QCOMPARE(out.result["passages"][1]["n"], Json(2));
    QCOMPARE(out.result["passages"][0]["text"], Json("데비안 passage"));
  }
};

#include "test_main.h"
KANANA_TEST_APPLESS_MAIN(TestToolCalls)
#include "test_tool_calls.moc"
