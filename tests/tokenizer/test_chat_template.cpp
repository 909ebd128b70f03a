// Chat templates: exact rendered strings for the Llama 3 header format and the project's
// ChatML format, assistant spans for SFT loss masks, stop tokens and template detection.
#include <QTemporaryDir>
#include <QtTest>

#include "base/files.h"
#include "test_support.h"
#include "tokenizer/chat_template.h"

using namespace kanana;
using tok::ChatMessage;

class TestChatTemplate : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void llama3_golden() {
    const std::vector<ChatMessage> messages = {
        {"system", "  You are a helpful assistant.\n"}, {"user", "안녕하세요?"}, {"assistant", "네, 안녕하세요!"},
        {"user", "What is 2+2?"}};
    auto text = tok::render_chat(tok::ChatTemplateKind::kLlama3, messages);
    QVERIFY(text.is_ok());
    QCOMPARE(*text, std::string("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                                "You are a helpful assistant.<|eot_id|>"
                                "<|start_header_id|>user<|end_header_id|>\n\n안녕하세요?<|eot_id|>"
                                "<|start_header_id|>assistant<|end_header_id|>\n\n네, 안녕하세요!<|eot_id|>"
                                "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
                                "<|start_header_id|>assistant<|end_header_id|>\n\n"));
  }

  void chatml_golden_with_tools() {
    ChatMessage call{"assistant", ""};
    call.tool_calls = Json::parse("[{\"type\": \"function\", \"function\": {\"name\": \"weather\", \"arguments\": \"{\\\"city\\\": \\\"Seoul\\\"}\"}}]");
    ChatMessage result{"tool", "{\"temp\": 3}"};
    result.tool_call_id = "call_1";
    tok::ChatRenderOptions no_prompt;
    no_prompt.add_generation_prompt = false;
    auto r = tok::render_with_spans(tok::ChatTemplateKind::kChatMl,
                                    {{"user", "서울 날씨?"}, call, result, {"assistant", "3도입니다."}}, no_prompt);
    QVERIFY2(r.is_ok(), r.status().to_string().c_str());
    QCOMPARE(r->text, std::string("<|im_start|>user\n서울 날씨?<|im_end|>\n"
                                  "<|im_start|>assistant\n<tool_call>\n{\"name\": \"weather\", \"arguments\": {\"city\": \"Seoul\"}}\n</tool_call><|im_end|>\n"
                                  "<|im_start|>tool call_1\n{\"temp\": 3}<|im_end|>\n"
                                  "<|im_start|>assistant\n3도입니다.<|im_end|>\n"));
    QCOMPARE(r->assistant_spans.size(), size_t(2));
    const auto [b, e] = r->assistant_spans[1];
    QCOMPARE(r->text.substr(b, e - b), std::string("3도입니다.<|im_end|>"));
    QVERIFY(r->text.substr(r->assistant_spans[0].first, 11) == "<tool_call>");
  }

  void llama3_spans_cover_content_and_eot() {
    auto r = tok::render_with_spans(tok::ChatTemplateKind::kLlama3,
                                    {{"user", "hi"}, {"assistant", " hello "}, {"user", "bye"}, {"assistant", "bye"}});
    QVERIFY(r.is_ok());
    QCOMPARE(r->assistant_spans.size(), size_t(2));
    for (const auto& [b, e] : r->assistant_spans) {
      const std::string span = r->text.substr(b, e - b);
      QVERIFY(span.size() > 10 && span.substr(span.size() - 10) == "<|eot_id|>");
    }
    QCOMPARE(r->text.substr(r->assistant_spans[0].first, r->assistant_spans[0].second - r->assistant_spans[0].first),
             std::string("hello<|eot_id|>"));
  }

  void tool_role_and_errors() {
    auto r = tok::render_chat(tok::ChatTemplateKind::kLlama3, {{"tool", "42"}}, {false, false});
    QVERIFY(r.is_ok());
    QCOMPARE(*r, std::string("<|start_header_id|>ipython<|end_header_id|>\n\n42<|eot_id|>"));
    QVERIFY(!tok::render_chat(tok::ChatTemplateKind::kLlama3, {{"robot", "x"}}).is_ok());
    ChatMessage bad{"user", "x"};
    bad.tool_calls = Json::parse("[{\"function\": {\"name\": \"f\", \"arguments\": \"{not json\"}}]");
    QVERIFY(!tok::render_chat(tok::ChatTemplateKind::kChatMl, {bad}).is_ok());
    auto parsed = tok::parse_chat_messages(Json::parse("[{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": []}]"), "m.json");
    QVERIFY(parsed.is_ok());
    QCOMPARE(parsed->size(), size_t(2));
    QVERIFY(!tok::parse_chat_messages(Json::parse("[{\"content\": \"a\"}]"), "m.json").is_ok());
  }

  void detection_from_config() {
    QTemporaryDir dir;
    const std::filesystem::path d = dir.path().toStdString();
    QVERIFY(write_file_atomic(d / "tokenizer_config.json",
                              "{\"chat_template\": \"{{ '<|start_header_id|>' + message['role'] }}\"}").is_ok());
    auto kind = tok::detect_chat_template(d);
    QVERIFY2(kind.is_ok(), kind.status().to_string().c_str());
    QCOMPARE(*kind, tok::ChatTemplateKind::kLlama3);
    QVERIFY(write_file_atomic(d / "tokenizer_config.json", "{\"chat_template\": [{\"name\": \"default\", \"template\": \"<|im_start|>\"}]}").is_ok());
    QCOMPARE(*tok::detect_chat_template(d), tok::ChatTemplateKind::kChatMl);
    // The real Llama 3 tokenizer folder from the cache.
    const std::string llama3 = (test::data_cache() + "/tokenizers/llama3").toStdString();
    if (std::filesystem::exists(llama3)) {
      QCOMPARE(*tok::detect_chat_template(llama3), tok::ChatTemplateKind::kLlama3);
      auto t = tok::load_tokenizer(llama3);
      QVERIFY(t.is_ok());
      const auto stops = tok::chat_stop_ids(tok::ChatTemplateKind::kLlama3, **t);
      QVERIFY(std::find(stops.begin(), stops.end(), 128009) != stops.end());  // <|eot_id|>
      QVERIFY(std::find(stops.begin(), stops.end(), 128001) != stops.end());  // <|end_of_text|>
    }
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestChatTemplate)
#include "test_chat_template.moc"
