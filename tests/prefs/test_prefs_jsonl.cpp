// TRL preference JSONL: store → file → store → file gives the same lines in all three forms
// (pairwise, tie, k-wise ranking, repair, multi-turn branch, tool-call reply, annotators,
// reasons, models, seeds, extra fields); plain TRL files keep every field they had; the
// post-training reader accepts what is exported; malformed lines are reported with their line
// number and skipped; importing twice adds nothing.
#include <QtTest>

#include "posttrain/chat_data.h"
#include "prefs/pref_store.h"
#include "prefs/trl_jsonl.h"
#include "prefs_test_support.h"
#include "store/workspace.h"

using namespace kanana;
using namespace kanana::prefs;
using kanana::test::add_reply;
using kanana::test::contains;
using kanana::test::msg;
using kanana::test::read_lines;
using kanana::test::to_path;
using kanana::test::user;
using kanana::test::write_text;
namespace fs = std::filesystem;

namespace {


std::string jsonl(const std::vector<Json>& lines) {
  std::string out;
  for (const Json& l : lines) out += l.dump() + "\n";
  return out;
}

}  // namespace

class TestPrefsJsonl : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  int counter_ = 0;
  fs::path fresh(const std::string& stem) { return to_path(tmp_.path()) / (stem + std::to_string(++counter_)); }

  std::unique_ptr<store::Workspace> make_ws() {
    auto ws = store::Workspace::create(fresh("ws"), "prefs");
    if (!ws.is_ok()) qFatal("%s", ws.status().to_string().c_str());
    return std::move(ws).value();
  }

  // Every kind of label the store knows, over two prompt sets.
  void fill_rich_store(PrefStore& store, const fs::path& model_dir) {
    fs::create_directories(model_dir);
    write_text(model_dir / "config.json", "{}");
    const int64_t ck = *store.find_or_add_checkpoint(model_dir);
    const int64_t chat = *store.find_or_create_prompt_set("ko-chat");
    const int64_t p1 = *store.add_prompt(chat, {.messages = user("한국의 수도는?"), .lang = "ko", .meta = {{"source", "playground"}}});
    const int64_t a1 = add_reply(store, p1, "서울입니다.", ck, 11);
    const int64_t a2 = add_reply(store, p1, "Seoul.", ck, 12);
    const int64_t a3 = add_reply(store, p1, "부산입니다.");
    const int64_t p2 = *store.add_prompt(chat, {.messages = Json::array({msg("system", "Be brief."), msg("user", "2+2?")}), .lang = "en"});
    const int64_t b1 = add_reply(store, p2, "4");
    const int64_t b2 = add_reply(store, p2, "Four, because two plus two is four.");
    const int64_t p3 = *store.continue_branch(a1, "왜요?");
    const int64_t c1 = add_reply(store, p3, "수도이기 때문입니다.");
    const Json tool_reply = Json::array(
        {Json{{"role", "assistant"}, {"content", ""},
              {"tool_calls", Json::array({Json{{"id", "1"}, {"type", "function"},
                                               {"function", {{"name", "search"}, {"arguments", "{\"q\": \"수도\"}"}}}}})}},
         Json{{"role", "tool"}, {"content", "서울: 대한민국의 수도"}, {"tool_call_id", "1"}},
         msg("assistant", "정부가 서울에 있기 때문입니다.")});
    store::CandidateRecord tc;
    tc.prompt_id = p3;
    tc.text = "정부가 서울에 있기 때문입니다.";
    const int64_t c2 = *store.add_candidate(tc, Json{{"messages", tool_reply}, {"stop_reason", "stop_token"}});
    const int64_t second = *store.find_or_create_prompt_set("second");
    const int64_t p4 = *store.add_prompt(second, {.messages = user("Say hi")});
    const int64_t d1 = add_reply(store, p4, "hi"), d2 = add_reply(store, p4, "hello");

    auto rec = [&](Judgement j) {
      auto r = store.record(j);
      if (!r.is_ok() || !r->created) qFatal("fixture: %s", r.status().to_string().c_str());
    };
    rec({.prompt_id = p1, .chosen_id = a1, .rejected_id = a2, .annotator = "alice", .reason = "answers in Korean",
         .meta = {{"extra", {{"id", "ex-1"}, {"source", "hh-rlhf"}}}, {"session", 3}}});
    rec({.prompt_id = p1, .chosen_id = a1, .rejected_id = a2, .annotator = "bob"});
    rec({.prompt_id = p1, .kind = JudgementKind::kTie, .chosen_id = a2, .rejected_id = a3, .annotator = "bob"});
    rec({.prompt_id = p1, .kind = JudgementKind::kRanking, .ranking = {a1, a3, a2}, .annotator = "carol"});
    rec({.prompt_id = p1, .kind = JudgementKind::kEdit, .chosen_id = a2, .edited_text = "서울(Seoul)입니다.",
         .annotator = "carol", .reason = "repaired"});
    rec({.prompt_id = p2, .chosen_id = b1, .rejected_id = b2, .annotator = "alice", .reason = "brief"});
    rec({.prompt_id = p3, .chosen_id = c2, .rejected_id = c1, .annotator = "alice"});
    rec({.prompt_id = p4, .chosen_id = d2, .rejected_id = d1});
  }

 private Q_SLOTS:
  void storeRoundTripsThroughEveryForm() {
    for (PairFormat format : {PairFormat::kText, PairFormat::kMessages, PairFormat::kPromptMessages}) {
      const std::string form = pair_format_name(format);
      auto ws1 = make_ws();
      PrefStore s1(*ws1);
      fill_rich_store(s1, ws1->root() / "models" / "m1");
      ExportOptions eo{.format = format, .include_ties = true};
      const fs::path a = fresh("a-" + form) += ".jsonl";
      auto ea = export_preferences(s1, a, eo);
      EXPECT_OK(ea);
      QCOMPARE(ea->judgements, int64_t(8));
      QCOMPARE(ea->lines, int64_t(10));  // the ranking of three is three pairs

      auto ws2 = make_ws();
      PrefStore s2(*ws2);
      auto imported = import_preferences(s2, a, {});
      EXPECT_OK(imported);
      QVERIFY2(imported->problems.empty(), imported->problems.empty() ? "" : imported->problems[0].message.c_str());
      QCOMPARE(imported->lines, uint64_t(10));
      QCOMPARE(imported->added, int64_t(8));
      QCOMPARE(imported->merged, int64_t(2));
      QCOMPARE(imported->duplicates, int64_t(0));
      QCOMPARE(imported->prompt_set_ids.size(), size_t(2));  // "ko-chat" and "second", by name

      const fs::path b = fresh("b-" + form) += ".jsonl";
      EXPECT_OK(export_preferences(s2, b, eo));
      const auto la = read_lines(a), lb = read_lines(b);
      QCOMPARE(lb.size(), la.size());
      for (size_t i = 0; i < la.size(); ++i)
        QVERIFY2(Json::parse(la[i]) == Json::parse(lb[i]), (form + " line " + std::to_string(i + 1) + ":\n" + la[i] + "\n" + lb[i]).c_str());

      // The rebuilt store has the same labels.
      auto j1 = s1.list_judgements(), j2 = s2.list_judgements();
      QCOMPARE(j2->size(), j1->size());
      for (size_t i = 0; i < j1->size(); ++i) {
        QCOMPARE(j2->at(i).kind, j1->at(i).kind);
        QCOMPARE(j2->at(i).annotator, j1->at(i).annotator);
        QCOMPARE(j2->at(i).reason, j1->at(i).reason);
        QCOMPARE(j2->at(i).created_at, j1->at(i).created_at);
        QCOMPARE(j2->at(i).meta, j1->at(i).meta);
      }
      // Model, seed and sampling came along; the model folder exists here, so it is registered.
      auto chat = s2.find_prompt_set("ko-chat");
      EXPECT_OK(chat);
      auto cands = s2.list_candidates_of_set(chat->id);
      EXPECT_OK(cands);
      bool found = false;
      for (const Candidate& c : *cands)
        if (c.row.text == "서울입니다.") {
          found = true;
          QCOMPARE(c.row.seed.value_or(0), int64_t(11));
          QVERIFY(c.row.checkpoint_id.has_value());
          QCOMPARE(Json::parse(c.row.sampling_json)["temperature"], Json(0.8));
        }
      QVERIFY(found);

      // Importing the same file again, or into the store it came from, adds nothing.
      auto again = import_preferences(s2, a, {});
      EXPECT_OK(again);
      QCOMPARE(again->added, int64_t(0));
      QCOMPARE(again->duplicates, int64_t(10));
      auto home = import_preferences(s1, a, {});
      EXPECT_OK(home);
      QCOMPARE(home->added, int64_t(0));
      QCOMPARE(home->prompts_added, int64_t(0));
      QCOMPARE(home->candidates_added, int64_t(0));
      QCOMPARE(s1.list_judgements()->size(), size_t(8));

      // What post-training reads: every exported line parses as a preference pair.
      auto pairs = posttrain::read_preference_jsonl(a);
      EXPECT_OK(pairs);
      QVERIFY2(pairs->problems.empty(), pairs->problems.empty() ? "" : pairs->problems[0].c_str());
      QCOMPARE(pairs->items.size(), size_t(10));
      if (format == PairFormat::kMessages) {
        // The multi-turn branch keeps its history in the prompt.
        bool multi = false;
        for (const auto& p : pairs->items) multi = multi || p.prompt.size() == 3;
        QVERIFY(multi);
      }
    }
  }

  void exportedLinesLookLikeTrl() {
    auto ws = make_ws();
    PrefStore s(*ws);
    fill_rich_store(s, ws->root() / "models" / "m1");
    auto text = export_lines(s, {.format = PairFormat::kText});
    EXPECT_OK(text);
    QCOMPARE(text->size(), size_t(9));  // the tie is left out by default
    const Json& first = text->at(0);
    QCOMPARE(first["prompt"], Json("한국의 수도는?"));
    QCOMPARE(first["chosen"], Json("서울입니다."));
    QCOMPARE(first["rejected"], Json("Seoul."));
    QCOMPARE(first["id"], Json("ex-1"));            // extra fields at the top level
    QCOMPARE(first["source"], Json("hh-rlhf"));
    QCOMPARE(first["kanana"]["annotator"], Json("alice"));
    QCOMPARE(first["kanana"]["chosen"]["seed"], Json(11));
    QCOMPARE(first["kanana"]["meta"]["session"], Json(3));
    // The repair: edited text over the original.
    bool edit = false;
    for (const Json& l : *text)
      if (l["kanana"]["kind"] == "edit") {
        edit = true;
        QCOMPARE(l["chosen"], Json("서울(Seoul)입니다."));
        QCOMPARE(l["rejected"], Json("Seoul."));
      }
    QVERIFY(edit);
    auto plain = export_lines(s, {.format = PairFormat::kMessages, .provenance = false});
    EXPECT_OK(plain);
    for (const Json& l : *plain) QVERIFY(!l.contains("kanana"));
    // Only one annotator; only one set.
    QCOMPARE(export_lines(s, {.annotator = std::string("bob")})->size(), size_t(1));
    const int64_t second = s.find_prompt_set("second")->id;
    QCOMPARE(export_lines(s, {.prompt_set_id = second})->size(), size_t(1));
  }

  void plainTrlFilesKeepEveryField() {
    const std::vector<Json> text_lines = {
        {{"prompt", "What is the capital of France?"}, {"chosen", "Paris."}, {"rejected", "Lyon."}, {"id", 7},
         {"source", "synthetic"}, {"score_chosen", 9.5}},
        {{"prompt", "Translate: 고맙습니다"}, {"chosen", "Thank you."}, {"rejected", "Hello."}, {"id", 8}}};
    const std::vector<Json> implicit_lines = {
        {{"chosen", Json::array({msg("user", "Hi"), msg("assistant", "Hello!")})},
         {"rejected", Json::array({msg("user", "Hi"), msg("assistant", "Go away.")})}, {"dataset", "x"}},
        {{"chosen", Json::array({msg("user", "안녕"), msg("assistant", "안녕하세요!"), msg("user", "잘 지내?"), msg("assistant", "네!")})},
         {"rejected", Json::array({msg("user", "안녕"), msg("assistant", "안녕하세요!"), msg("user", "잘 지내?"), msg("assistant", "몰라.")})}}};
    const std::vector<Json> explicit_lines = {
        {{"prompt", Json::array({msg("system", "Be nice."), msg("user", "Hi")})},
         {"chosen", Json::array({msg("assistant", "Hello!")})}, {"rejected", Json::array({msg("assistant", "No.")})}}};
    for (const auto& [lines, format] : {std::pair{text_lines, PairFormat::kText}, {implicit_lines, PairFormat::kMessages},
                                        {explicit_lines, PairFormat::kPromptMessages}}) {
      auto ws = make_ws();
      PrefStore s(*ws);
      const fs::path in = fresh("plain") += ".jsonl";
      write_text(in, jsonl(lines));
      auto r = import_preferences(s, in, {.prompt_set = "plain", .annotator = "hf"});
      EXPECT_OK(r);
      QVERIFY(r->problems.empty());
      QCOMPARE(r->added, int64_t(lines.size()));
      auto out = export_lines(s, {.format = format});
      EXPECT_OK(out);
      QCOMPARE(out->size(), lines.size());
      for (size_t i = 0; i < lines.size(); ++i) {
        for (auto it = lines[i].begin(); it != lines[i].end(); ++it)
          QVERIFY2(out->at(i).contains(it.key()) && out->at(i)[it.key()] == it.value(),
                   (it.key() + " of line " + std::to_string(i + 1) + " came back as " + out->at(i).dump()).c_str());
        QCOMPARE(out->at(i).size(), lines[i].size() + 1);  // plus "kanana"
        QCOMPARE(out->at(i)["kanana"]["annotator"], Json("hf"));
      }
    }
  }

  void malformedLinesAreReportedWithTheirNumbersAndSkipped() {
    auto ws = make_ws();
    PrefStore s(*ws);
    const fs::path in = to_path(tmp_.path()) / "mixed.jsonl";
    const Json good1 = {{"prompt", "p1"}, {"chosen", "c"}, {"rejected", "r"}};
    const Json good2 = {{"prompt", "p2"}, {"chosen", "c"}, {"rejected", "r"}};
    std::string text;
    text += good1.dump() + "\n";                                                       // 1
    text += "{\"prompt\": \"p\", \"chosen\": \n";                                      // 2 cut short
    text += "\n";                                                                      // 3 blank
    text += Json{{"prompt", "p"}, {"chosen", "c"}}.dump() + "\n";                      // 4 no rejected
    text += Json{{"prompt", "p"}, {"chosen", 5}, {"rejected", "r"}}.dump() + "\n";     // 5 number
    text += good2.dump() + "\r\n";                                                     // 6 CRLF
    text += "[1, 2]\n";                                                                // 7 not an object
    text += Json{{"prompt", "p"}, {"chosen", "c"}, {"rejected", "r"}, {"kanana", {{"kind", "bogus"}}}}.dump() + "\n";  // 8
    text += Json{{"prompt", ""}, {"chosen", "c"}, {"rejected", "r"}}.dump() + "\n";   // 9 empty prompt
    text += Json{{"prompt", "p"}, {"chosen", "same"}, {"rejected", "same"}}.dump() + "\n";  // 10 same reply
    text += Json{{"chosen", Json::array({msg("user", "a"), msg("assistant", "b")})},
                 {"rejected", Json::array({msg("user", "x"), msg("assistant", "y")})}}.dump() + "\n";  // 11 no shared prompt
    text += Json{{"prompt", "p"}, {"chosen", "c"}, {"rejected", "r"}, {"kanana", {{"kind", "ranking"}}}}.dump() + "\n";  // 12
    text += Json{{"prompt", Json::array({msg("wizard", "a")})}, {"chosen", "c"}, {"rejected", "r"}}.dump();  // 13 bad role, no newline
    write_text(in, text);
    auto r = import_preferences(s, in, {.prompt_set = "mixed"});
    EXPECT_OK(r);
    QCOMPARE(r->lines, uint64_t(12));
    QCOMPARE(r->added, int64_t(2));
    std::vector<uint64_t> lines;
    for (const auto& p : r->problems) {
      lines.push_back(p.line);
      const std::string prefix = "mixed.jsonl:" + std::to_string(p.line) + ":";
      QVERIFY2(p.message.rfind(prefix, 0) == 0, p.message.c_str());
    }
    QCOMPARE(lines, (std::vector<uint64_t>{2, 4, 5, 7, 8, 9, 10, 11, 12, 13}));
    QVERIFY2(contains(r->problems[1].message, "field 'rejected' is required"), r->problems[1].message.c_str());
    QVERIFY2(contains(r->problems[2].message, "field 'chosen' must be a string or a list of messages"), r->problems[2].message.c_str());
    QVERIFY2(contains(r->problems[4].message, "kanana.kind"), r->problems[4].message.c_str());
    QVERIFY2(contains(r->problems[6].message, "same reply"), r->problems[6].message.c_str());
    QVERIFY2(contains(r->problems[8].message, "kanana.ranking"), r->problems[8].message.c_str());
    // A line that fails inside the database rolls back alone: no stray prompt or candidate.
    auto counts = s.counts();
    EXPECT_OK(counts);
    QCOMPARE(counts->judgements, int64_t(2));
    QCOMPARE(counts->prompts, int64_t(2));
    QCOMPARE(counts->candidates, int64_t(4));
    // Strict: the first bad line is the error.
    auto ws2 = make_ws();
    PrefStore s2(*ws2);
    auto strict = import_preferences(s2, in, {.prompt_set = "mixed", .strict = true});
    QVERIFY(!strict.is_ok());
    QVERIFY2(strict.status().message().rfind("mixed.jsonl:2:", 0) == 0, strict.status().message().c_str());
    // A missing file is an error naming it.
    auto missing = import_preferences(s2, to_path(tmp_.path()) / "nope.jsonl", {});
    QVERIFY(!missing.is_ok());
    QVERIFY(contains(missing.status().message(), "nope.jsonl"));
  }

  void duplicateImportsDoNotDuplicatePairs() {
    auto ws = make_ws();
    PrefStore s(*ws);
    const fs::path in = to_path(tmp_.path()) / "dups.jsonl";
    const Json pair = {{"prompt", "Name a fruit."}, {"chosen", "Apple."}, {"rejected", "Carrot."}};
    const Json other = {{"prompt", "Name a fruit."}, {"chosen", "Pear."}, {"rejected", "Carrot."}};
    write_text(in, jsonl({pair, other, pair}));
    auto r1 = import_preferences(s, in, {.prompt_set = "fruit"});
    EXPECT_OK(r1);
    QCOMPARE(r1->added, int64_t(2));
    QCOMPARE(r1->duplicates, int64_t(1));
    QCOMPARE(r1->prompts_added, int64_t(1));     // both pairs answer one prompt
    QCOMPARE(r1->candidates_added, int64_t(3));  // Carrot. is one candidate
    auto r2 = import_preferences(s, in, {.prompt_set = "fruit"});
    EXPECT_OK(r2);
    QCOMPARE(r2->added, int64_t(0));
    QCOMPARE(r2->duplicates, int64_t(3));
    auto counts = s.counts();
    QCOMPARE(counts->judgements, int64_t(2));
    QCOMPARE(counts->candidates, int64_t(3));
    QCOMPARE(counts->prompts, int64_t(1));
    // The same pair from another annotator is a label of its own; in another set, a pair of its own.
    auto r3 = import_preferences(s, in, {.prompt_set = "fruit", .annotator = "second"});
    QCOMPARE(r3->added, int64_t(2));
    auto r4 = import_preferences(s, in, {.prompt_set = "other-set"});
    QCOMPARE(r4->added, int64_t(2));
    QCOMPARE(s.counts()->judgements, int64_t(6));
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestPrefsJsonl)
#include "test_prefs_jsonl.moc"
