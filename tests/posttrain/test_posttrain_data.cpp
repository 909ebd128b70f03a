// Post-training data: chat JSONL rendered with the chat template, loss masks that are exactly
// the assistant turns (decoded back to text), SFT packing boundaries, malformed lines named
// by file:line:field, and TRL preference JSONL in all its forms.
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

#include "byte_tokenizer.h"
#include "posttrain/chat_data.h"
#include "test_support.h"
#include "tokenizer/tokenizer.h"

using namespace kanana;
using namespace kanana::posttrain;
namespace fs = std::filesystem;

namespace {

tok::ChatMessage msg(const std::string& role, const std::string& content) { return {role, content, {}, {}, {}}; }

std::vector<std::vector<tok::ChatMessage>> conversations() {
  return {
      {msg("system", "You answer briefly."), msg("user", "안녕하세요? What is 2+2?"), msg("assistant", "4입니다.\nFour."),
       msg("user", "And 3+3?"), msg("assistant", "  6  ")},
      {msg("user", "weather?"), msg("assistant", ""), msg("tool", "{\"temp\": 21}"), msg("assistant", "It is 21 °C.")},
      {msg("user", "hi"), msg("assistant", "hello <b>there</b>")},
  };
}

// Runs of consecutive positions where `on` holds, as [begin, end).
template <typename F>
std::vector<std::pair<size_t, size_t>> runs(size_t n, F on) {
  std::vector<std::pair<size_t, size_t>> out;
  for (size_t i = 0; i < n;) {
    if (!on(i)) { ++i; continue; }
    size_t j = i;
    while (j < n && on(j)) ++j;
    out.emplace_back(i, j);
    i = j;
  }
  return out;
}

void write_lines(const fs::path& p, const std::vector<std::string>& lines) {
  std::ofstream out(p);
  for (const auto& l : lines) out << l << "\n";
}

}  // namespace

class TestPosttrainData : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  std::shared_ptr<const tok::Tokenizer> bytes_;

  fs::path root() const { return fs::path(tmp_.path().toStdString()); }

  // Decodes the masked runs of every conversation and checks they are the assistant turns.
  void check_masks(const tok::Tokenizer& t, tok::ChatTemplateKind kind, bool trims) {
    const std::string end = kind == tok::ChatTemplateKind::kChatMl ? "<|im_end|>" : "<|eot_id|>";
    for (const auto& conv : conversations()) {
      std::vector<std::string> expected;
      for (const auto& m : conv) {
        if (m.role != "assistant") continue;
        std::string c = m.content;
        if (trims) c = std::string(trim(c));
        expected.push_back(c + end);
      }
      auto chat = tokenize_chat(t, kind, conv);
      QVERIFY2(chat.is_ok(), chat.status().message().c_str());
      // The mask itself.
      auto masked = runs(chat->ids.size(), [&](size_t i) { return chat->assistant[i] != 0; });
      QCOMPARE(masked.size(), expected.size());
      QCOMPARE(chat->turns.size(), expected.size());
      for (size_t k = 0; k < masked.size(); ++k) {
        std::vector<int32_t> ids(chat->ids.begin() + int64_t(masked[k].first), chat->ids.begin() + int64_t(masked[k].second));
        QCOMPARE(QString::fromStdString(t.decode(ids)), QString::fromStdString(expected[k]));
        QCOMPARE(masked[k], chat->turns[k]);
      }
      // What the SFT loss sees: the labels (shifted targets), decoded run by run.
      SftSequence s = make_sft_sequence(*chat, 100000);
      QCOMPARE(s.input.size(), chat->ids.size() - 1);
      auto labelled = runs(s.labels.size(), [&](size_t i) { return s.labels[i] != -100; });
      QCOMPARE(labelled.size(), expected.size());
      for (size_t k = 0; k < labelled.size(); ++k) {
        std::vector<int32_t> ids(s.labels.begin() + int64_t(labelled[k].first), s.labels.begin() + int64_t(labelled[k].second));
        QCOMPARE(QString::fromStdString(t.decode(ids)), QString::fromStdString(expected[k]));
        for (size_t i = labelled[k].first; i < labelled[k].second; ++i) QCOMPARE(s.labels[i], chat->ids[i + 1]);
      }
      // Everything outside the masks is the template and the other roles: together they
      // decode to the whole rendering.
      tok::ChatRenderOptions ro;
      ro.add_generation_prompt = false;
      QCOMPARE(QString::fromStdString(t.decode(chat->ids)), QString::fromStdString(*tok::render_chat(kind, conv, ro)));
    }
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    QVERIFY(test::write_byte_tokenizer(root() / "bytes"));
    auto t = tok::load_tokenizer(root() / "bytes");
    QVERIFY2(t.is_ok(), t.status().message().c_str());
    bytes_ = *t;
  }

  void maskedSpansAreExactlyTheAssistantTurnsChatMl() { check_masks(*bytes_, tok::ChatTemplateKind::kChatMl, false); }

  void maskedSpansAreExactlyTheAssistantTurnsLlama3() {
    auto t = tok::load_tokenizer(test::data_cache().toStdString() + "/tokenizers/llama3/tokenizer.json");
    if (!t.is_ok()) QSKIP("Llama 3 tokenizer not in the cache; run scripts/fetch-demo-data.sh");
    check_masks(**t, tok::ChatTemplateKind::kLlama3, /*trims=*/true);
  }

  void promptReplySplitMatchesTheGenerationPrompt() {
    const auto conv = conversations()[0];
    std::vector<tok::ChatMessage> prompt(conv.begin(), conv.begin() + 4), reply(conv.begin() + 4, conv.end());
    TextFormat f;
    auto pr = tokenize_prompt_reply(*bytes_, f, prompt, reply);
    QVERIFY2(pr.is_ok(), pr.status().message().c_str());
    auto gen_prompt = tokenize_prompt(*bytes_, f, prompt);
    QVERIFY(gen_prompt.is_ok());
    QCOMPARE(pr->prompt, *gen_prompt);  // training prompt == what generation is fed
    QCOMPARE(QString::fromStdString(bytes_->decode(pr->reply)), QString("  6  <|im_end|>"));
    QVERIFY(std::all_of(pr->reply_mask.begin(), pr->reply_mask.end(), [](uint8_t m) { return m == 1; }));
    // A tool turn inside a reply is not trained on.
    const auto conv2 = conversations()[1];
    auto pr2 = tokenize_prompt_reply(*bytes_, f, {conv2[0]}, {conv2[1], conv2[2], conv2[3]});
    QVERIFY(pr2.is_ok());
    std::vector<int32_t> counted;
    for (size_t i = 0; i < pr2->reply.size(); ++i)
      if (pr2->reply_mask[i]) counted.push_back(pr2->reply[i]);
    QCOMPARE(QString::fromStdString(bytes_->decode(counted)), QString("<|im_end|>It is 21 °C.<|im_end|>"));
    // Raw format: BOS-less byte tokenizer, EOS appended.
    auto raw = tokenize_prompt_reply_text(*bytes_, "Q: x", " A: y");
    QVERIFY(raw.is_ok());
    QCOMPARE(QString::fromStdString(bytes_->decode(raw->reply)), QString(" A: y<|im_end|>"));
  }

  void packingKeepsConversationsApart() {
    std::vector<SftSequence> seqs;
    int64_t total_targets = 0;
    for (int rep = 0; rep < 4; ++rep)
      for (const auto& conv : conversations()) {
        auto chat = tokenize_chat(*bytes_, tok::ChatTemplateKind::kChatMl, conv);
        QVERIFY(chat.is_ok());
        seqs.push_back(make_sft_sequence(*chat, 128));
        total_targets += seqs.back().targets();
      }
    const int64_t seq_len = 128;
    SftRows packed = pack_sft_sequences(seqs, seq_len, true, 258);
    SftRows single = pack_sft_sequences(seqs, seq_len, false, 258);
    QCOMPARE(single.rows, int64_t(seqs.size()));
    QVERIFY2(packed.rows < single.rows, "packing should need fewer rows");
    int64_t packed_targets = 0, conversations_seen = 0;
    for (int64_t r = 0; r < packed.rows; ++r) {
      packed_targets += packed.targets[size_t(r)];
      const size_t off = size_t(r * seq_len);
      int32_t prev_seg = -2;
      for (int64_t t = 0; t < seq_len; ++t) {
        const size_t i = off + size_t(t);
        const int32_t seg = packed.segments[i];
        if (seg != prev_seg) {
          if (seg >= 0) {
            QCOMPARE(packed.positions[i], 0);  // every conversation starts at position 0
            ++conversations_seen;
          }
        } else if (seg >= 0) {
          QCOMPARE(packed.positions[i], packed.positions[i - 1] + 1);
        }
        if (seg < 0) {
          QCOMPARE(packed.labels[i], -100);
          QCOMPARE(packed.input[i], 258);
        }
        // A label is the next input of the same conversation (or the cut-off continuation).
        if (packed.labels[i] != -100 && t + 1 < seq_len && packed.segments[i + 1] == seg)
          QCOMPARE(packed.labels[i], packed.input[i + 1]);
        prev_seg = seg;
      }
    }
    QCOMPARE(conversations_seen, int64_t(seqs.size()));
    QCOMPARE(packed_targets, total_targets);
    // Every segment is exactly one original conversation (inputs and labels), so no label
    // points into a neighbour.
    std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>> got, want;
    for (const auto& s : seqs) want.emplace_back(s.input, s.labels);
    for (int64_t r = 0; r < packed.rows; ++r) {
      for (int64_t t = 0; t < seq_len; ++t) {
        const size_t i = size_t(r * seq_len + t);
        if (packed.segments[i] < 0) continue;
        if (t == 0 || packed.segments[i - 1] != packed.segments[i]) got.emplace_back();
        got.back().first.push_back(packed.input[i]);
        got.back().second.push_back(packed.labels[i]);
      }
    }
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    QVERIFY(got == want);
  }

  void truncationCutsLongConversations() {
    auto chat = tokenize_chat(*bytes_, tok::ChatTemplateKind::kChatMl, conversations()[0]);
    QVERIFY(chat.is_ok());
    bool cut = false;
    SftSequence s = make_sft_sequence(*chat, 20, &cut);
    QVERIFY(cut);
    QCOMPARE(int64_t(s.input.size()), int64_t(20));
    make_sft_sequence(*chat, 100000, &cut);
    QVERIFY(!cut);
  }

  void malformedChatLinesNameFileLineAndField() {
    const fs::path f = root() / "chat.jsonl";
    write_lines(f, {
        "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"yo\"}]}",
        "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"robot\", \"content\": \"yo\"}]}",
        "not json",
        "",
        "{\"messages\": [{\"role\": \"user\", \"content\": 5}]}",
        "{\"text\": \"no messages\"}",
        "{\"messages\": [{\"role\": \"user\", \"content\": \"only a question\"}]}",
        "{\"messages\": [{\"role\": \"user\", \"content\": \"q\"}, {\"role\": \"assistant\", \"content\": \"a\"}]}",
    });
    auto d = read_chat_jsonl(f);
    QVERIFY2(d.is_ok(), d.status().message().c_str());
    QCOMPARE(d->items.size(), size_t(2));
    QCOMPARE(d->lines, uint64_t(7));
    QCOMPARE(QString::fromStdString(d->items[1].origin), QString::fromStdString(f.string() + ":8"));
    const std::vector<std::pair<std::string, std::string>> want = {
        {":2:", "messages[1].role"}, {":3:", "not valid JSON"}, {":5:", "messages[0].content"},
        {":6:", "'messages' is required"}, {":7:", "no assistant turn"}};
    QCOMPARE(d->problems.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      const std::string& p = d->problems[i];
      QVERIFY2(p.find(f.string() + want[i].first) == 0 && p.find(want[i].second) != std::string::npos, p.c_str());
    }
    ReadOptions strict;
    strict.strict = true;
    auto s = read_chat_jsonl(f, strict);
    QVERIFY(!s.is_ok());
    QVERIFY2(s.status().message().find(":2: field 'messages[1].role'") != std::string::npos, s.status().message().c_str());
    QVERIFY(!read_chat_jsonl(root() / "missing.jsonl").is_ok());
  }

  void preferenceFormats() {
    const fs::path f = root() / "prefs.jsonl";
    write_lines(f, {
        // 1 standard
        "{\"prompt\": \"Say hi\", \"chosen\": \"안녕\", \"rejected\": \"hello\"}",
        // 2 conversational
        "{\"prompt\": [{\"role\": \"system\", \"content\": \"s\"}, {\"role\": \"user\", \"content\": \"u\"}],"
        " \"chosen\": [{\"role\": \"assistant\", \"content\": \"good\"}], \"rejected\": [{\"role\": \"assistant\", \"content\": \"bad\"}]}",
        // 3 implicit prompt
        "{\"chosen\": [{\"role\": \"user\", \"content\": \"q\"}, {\"role\": \"assistant\", \"content\": \"A\"}],"
        " \"rejected\": [{\"role\": \"user\", \"content\": \"q\"}, {\"role\": \"assistant\", \"content\": \"B\"}], \"id\": 7}",
        // 4 string prompt, message replies
        "{\"prompt\": \"p\", \"chosen\": [{\"role\": \"assistant\", \"content\": \"c\"}], \"rejected\": \"r\"}",
        // 5..9 malformed
        "{\"prompt\": \"p\", \"chosen\": \"c\"}",
        "{\"chosen\": \"c\", \"rejected\": \"r\"}",
        "{\"prompt\": \"p\", \"chosen\": [{\"role\": \"user\", \"content\": \"c\"}], \"rejected\": \"r\"}",
        "{\"chosen\": [{\"role\": \"user\", \"content\": \"x\"}], \"rejected\": [{\"role\": \"user\", \"content\": \"y\"}]}",
        "{\"prompt\": \"p\", \"chosen\": 3, \"rejected\": \"r\"}",
    });
    auto d = read_preference_jsonl(f);
    QVERIFY2(d.is_ok(), d.status().message().c_str());
    QCOMPARE(d->items.size(), size_t(4));
    QVERIFY(!d->items[0].conversational);
    QCOMPARE(QString::fromStdString(d->items[0].chosen_text), QString("안녕"));
    QCOMPARE(d->items[1].prompt.size(), size_t(2));
    QCOMPARE(d->items[2].prompt.size(), size_t(1));
    QCOMPARE(QString::fromStdString(d->items[2].rejected[0].content), QString("B"));
    QCOMPARE(QString::fromStdString(d->items[3].prompt[0].role), QString("user"));
    QCOMPARE(QString::fromStdString(d->items[3].rejected[0].role), QString("assistant"));
    const std::vector<std::pair<std::string, std::string>> want = {
        {":5:", "'rejected' is required"}, {":6:", "'prompt' is required"}, {":7:", "'chosen' must start with an assistant"},
        {":8:", "share no prompt"}, {":9:", "'chosen' must be a string or a list"}};
    QCOMPARE(d->problems.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i)
      QVERIFY2(d->problems[i].find(want[i].first) != std::string::npos && d->problems[i].find(want[i].second) != std::string::npos,
               d->problems[i].c_str());

    // Tokenized pairs share the prompt; the chat form ends replies with the end marker.
    TextFormat chat;
    auto p = tokenize_pair(*bytes_, chat, d->items[1], 1000, 500);
    QVERIFY(p.is_ok());
    QCOMPARE(QString::fromStdString(bytes_->decode(p->prompt)),
             QString("<|im_start|>system\ns<|im_end|>\n<|im_start|>user\nu<|im_end|>\n<|im_start|>assistant\n"));
    QCOMPARE(QString::fromStdString(bytes_->decode(p->chosen.reply)), QString("good<|im_end|>"));
    QCOMPARE(QString::fromStdString(bytes_->decode(p->rejected.reply)), QString("bad<|im_end|>"));
    QVERIFY(!p->truncated);
    // Too long: prompt left-truncated to max_prompt_length, then replies cut to fit.
    auto t = tokenize_pair(*bytes_, chat, d->items[1], 30, 20);
    QVERIFY(t.is_ok());
    QVERIFY(t->truncated);
    QCOMPARE(t->prompt.size(), size_t(20));
    QVERIFY(std::equal(t->prompt.begin(), t->prompt.end(), p->prompt.end() - 20));  // the end is kept
    QVERIFY(t->prompt.size() + t->chosen.reply.size() <= 30);
    TextFormat raw;
    raw.raw = true;
    QVERIFY(tokenize_pair(*bytes_, raw, d->items[0], 100, 50).is_ok());
    QVERIFY(!tokenize_pair(*bytes_, raw, d->items[1], 100, 50).is_ok());  // messages need a template

    // Prompt files: prompts of preference lines, "prompt" lines, "messages" lines.
    const fs::path pf = root() / "prompts.jsonl";
    write_lines(pf, {"{\"prompt\": \"one\"}",
                     "{\"messages\": [{\"role\": \"user\", \"content\": \"two\"}, {\"role\": \"assistant\", \"content\": \"x\"}]}",
                     "{\"prompt\": \"p\", \"chosen\": \"c\", \"rejected\": \"r\"}", "{\"nothing\": 1}"});
    auto pr = read_prompt_jsonl(pf);
    QVERIFY(pr.is_ok());
    QCOMPARE(pr->items.size(), size_t(3));
    QCOMPARE(pr->items[1].messages.size(), size_t(1));
    QCOMPARE(pr->problems.size(), size_t(1));
  }

  void shuffleAndSplitAreDeterministic() {
    auto a = shuffled_indices(100, 7, 0), b = shuffled_indices(100, 7, 0), c = shuffled_indices(100, 7, 1);
    QCOMPARE(a, b);
    QVERIFY(a != c);
    auto sorted = a;
    std::sort(sorted.begin(), sorted.end());
    for (int64_t i = 0; i < 100; ++i) QCOMPARE(sorted[size_t(i)], i);
    auto v = validation_split(1000, 0.1, 3);
    const auto n = std::count(v.begin(), v.end(), uint8_t(1));
    QVERIFY2(n > 60 && n < 140, std::to_string(n).c_str());
    QCOMPARE(validation_split(1000, 0.1, 3), v);
    auto small = validation_split(3, 0.01, 3);
    QCOMPARE(std::count(small.begin(), small.end(), uint8_t(1)), std::ptrdiff_t(1));
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestPosttrainData)
#include "test_posttrain_data.moc"
