// The annotation store: schema v3 from a v2 database (with backup), prompts ↔ conversations,
// judgements with validation and de-duplication, undo into the log, multi-turn branches,
// agreement statistics on a hand-computed example, the word diff, and kill safety: a child
// process recording judgements is SIGKILLed and every judgement it reported as saved is there.
#include <QProcess>
#include <QtTest>

#include <cmath>
#include <cstdio>
#include <set>

#include "prefs/agreement.h"
#include "prefs/conversation.h"
#include "prefs/pref_store.h"
#include "prefs/word_diff.h"
#include "prefs_test_support.h"
#include "store/database.h"
#include "store/migrations.h"
#include "store/workspace.h"

using namespace kanana;
using namespace kanana::prefs;
using kanana::test::add_reply;
using kanana::test::contains;
using kanana::test::to_path;
using kanana::test::user;
namespace fs = std::filesystem;

namespace {

// Child mode: record judgements into the workspace at `dir` forever, printing each id after
// record() returned. The parent kills it with SIGKILL.
int child_writer(const char* dir) {
  auto ws = store::Workspace::open(dir);
  if (!ws.is_ok()) {
    std::fprintf(stderr, "%s\n", ws.status().to_string().c_str());
    return 3;
  }
  PrefStore store(**ws);
  auto prompts = store.list_prompts(1);
  if (!prompts.is_ok() || prompts->empty()) return 4;
  const int64_t prompt = prompts->front().row.id;
  auto candidates = store.list_candidates(prompt);
  if (!candidates.is_ok() || candidates->size() < 2) return 5;
  for (int64_t round = 0;; ++round) {
    for (size_t a = 0; a < candidates->size(); ++a)
      for (size_t b = 0; b < candidates->size(); ++b) {
        if (a == b) continue;
        Judgement j;
        j.prompt_id = prompt;
        j.chosen_id = (*candidates)[a].row.id;
        j.rejected_id = (*candidates)[b].row.id;
        j.annotator = "writer-" + std::to_string(round);
        j.reason = "round " + std::to_string(round);
        auto r = store.record(j);
        if (!r.is_ok()) {
          std::fprintf(stderr, "%s\n", r.status().to_string().c_str());
          return 6;
        }
        std::printf("saved %lld\n", static_cast<long long>(r->id));
        std::fflush(stdout);
      }
  }
}

}  // namespace

class TestPrefsStore : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  int counter_ = 0;
  fs::path fresh_dir() { return to_path(tmp_.path()) / ("ws" + std::to_string(++counter_)); }

  std::unique_ptr<store::Workspace> make_ws() {
    auto ws = store::Workspace::create(fresh_dir(), "prefs");
    if (!ws.is_ok()) qFatal("%s", ws.status().to_string().c_str());
    return std::move(ws).value();
  }

 private Q_SLOTS:
  void migratesFromVersionTwoWithBackup() {
    QCOMPARE(store::latest_schema_version(), int64_t(3));
    const fs::path dir = fresh_dir();
    fs::create_directories(dir);
    {
      auto db = store::Database::open(dir / "workspace.db", {.create = true});
      EXPECT_OK(db);
      auto report = store::migrate(**db, 2);
      EXPECT_OK(report);
      QCOMPARE(report->to_version, int64_t(2));
      EXPECT_STATUS_OK((*db)->exec(
          "INSERT INTO prompt_sets (name) VALUES ('old-set');"
          "INSERT INTO prompts (prompt_set_id, text, system, lang) VALUES (1, '안녕하세요?', 'Answer briefly.', 'ko');"
          "INSERT INTO candidates (prompt_id, text, seed) VALUES (1, '네, 안녕하세요.', 7), (1, 'Hello.', 8);"
          "INSERT INTO judgements (prompt_id, kind, chosen_id, rejected_id, annotator, reason) "
          "VALUES (1, 'pairwise', 1, 2, 'alice', 'answers in Korean');"));
      // v2 has none of the v3 columns.
      QVERIFY(!(*db)->exec("SELECT pair_key FROM judgements").is_ok());
    }
    auto ws = store::Workspace::open(dir);
    EXPECT_OK(ws);
    QCOMPARE(*(*ws)->db().user_version(), int64_t(3));
    auto check = (*ws)->db().integrity_check(true);
    EXPECT_OK(check);
    QCOMPARE(*check, std::string("ok"));
    // The backup is the v2 database as it was.
    auto old = store::Database::open(dir / "workspace.db.bak-v2", {.read_only = true});
    EXPECT_OK(old);
    QCOMPARE(*(*old)->user_version(), int64_t(2));
    QCOMPARE(*(*old)->query_int("SELECT count(*) FROM judgements"), int64_t(1));

    PrefStore store(**ws);
    auto judgements = store.list_judgements();
    EXPECT_OK(judgements);
    QCOMPARE(judgements->size(), size_t(1));
    const Judgement& j = judgements->front();
    QCOMPARE(j.annotator, std::string("alice"));
    QCOMPARE(j.reason, std::string("answers in Korean"));
    QCOMPARE(*j.chosen_id, int64_t(1));
    QVERIFY(j.meta.is_object() && j.meta.empty());
    auto prompt = store.get_prompt(1);
    EXPECT_OK(prompt);
    QCOMPARE(prompt->messages, (Json::array({Json{{"role", "system"}, {"content", "Answer briefly."}},
                                             Json{{"role", "user"}, {"content", "안녕하세요?"}}})));
    QVERIFY(!prompt->parent_candidate_id);
    // v2 rows have no key until backfilled; then the same judgement is a duplicate.
    QCOMPARE(*(*ws)->db().query_int("SELECT count(*) FROM judgements WHERE pair_key IS NULL"), int64_t(1));
    auto keyed = store.backfill_keys();
    EXPECT_OK(keyed);
    QCOMPARE(*keyed, int64_t(1));
    Judgement again = j;
    again.id = 0;
    auto rec = store.record(again);
    EXPECT_OK(rec);
    QVERIFY(!rec->created);
    QCOMPARE(rec->id, j.id);
    // The old row can be undone like any other.
    auto undone = store.undo_last("alice");
    EXPECT_OK(undone);
    QVERIFY(undone->has_value());
    QCOMPARE((*undone)->id, j.id);
  }

  void promptRowsMapToConversations() {
    store::PromptRecord simple;
    EXPECT_STATUS_OK(set_prompt_messages(&simple, Json::array({Json{{"role", "system"}, {"content", "S"}},
                                                                Json{{"role", "user"}, {"content", "U"}}})));
    QCOMPARE(simple.text, std::string("U"));
    QCOMPARE(simple.system, std::string("S"));
    QCOMPARE(simple.meta_json, std::string("{}"));
    const Json multi = Json::array({Json{{"role", "user"}, {"content", "hi"}}, Json{{"role", "assistant"}, {"content", "hello"}},
                                    Json{{"role", "user"}, {"content", "again"}}});
    store::PromptRecord row;
    EXPECT_STATUS_OK(set_prompt_messages(&row, multi, Json{{"source", "playground"}}));
    QCOMPARE(row.text, std::string("again"));
    QCOMPARE(prompt_messages(row), multi);
    QCOMPARE(Json::parse(row.meta_json)["source"], Json("playground"));
    // A Playground-style row: the history in meta, the new user turn in text.
    store::PromptRecord playground;
    playground.text = "and now?";
    playground.meta_json = Json{{"messages", Json::array({Json{{"role", "user"}, {"content", "hi"}},
                                                          Json{{"role", "assistant"}, {"content", "hello"}}})}}.dump();
    const Json m = prompt_messages(playground);
    QCOMPARE(m.size(), size_t(3));
    QCOMPARE(m[2], (Json{{"role", "user"}, {"content", "and now?"}}));
  }

  void judgementsAreValidatedAndDeduplicated() {
    auto ws = make_ws();
    PrefStore store(*ws);
    auto set = store.find_or_create_prompt_set("ko-chat");
    EXPECT_OK(set);
    QCOMPARE(*store.find_or_create_prompt_set("ko-chat"), *set);
    auto p1 = store.add_prompt(*set, {.messages = user("서울의 인구는?"), .lang = "ko"});
    auto p2 = store.add_prompt(*set, {.messages = user("What is 2+2?"), .lang = "en"});
    EXPECT_OK(p1);
    EXPECT_OK(p2);
    bool created = true;
    QCOMPARE(*store.find_or_add_prompt(*set, {.messages = user("서울의 인구는?")}, &created), *p1);
    QVERIFY(!created);
    const int64_t a = add_reply(store, *p1, "약 940만 명입니다.");
    const int64_t b = add_reply(store, *p1, "About 9.4 million.");
    const int64_t c = add_reply(store, *p1, "모르겠습니다.");
    const int64_t other = add_reply(store, *p2, "4");
    QVERIFY(a && b && c && other);

    Judgement j{.prompt_id = *p1, .kind = JudgementKind::kPairwise, .chosen_id = a, .rejected_id = b,
                .annotator = "alice", .reason = "답이 한국어"};
    auto first = store.record(j);
    EXPECT_OK(first);
    QVERIFY(first->created);
    auto second = store.record(j);
    EXPECT_OK(second);
    QVERIFY(!second->created);
    QCOMPARE(second->id, first->id);
    // Another annotator's identical choice is its own label.
    j.annotator = "bob";
    auto bob = store.record(j);
    EXPECT_OK(bob);
    QVERIFY(bob->created);
    // A tie is the same whichever way round.
    Judgement tie{.prompt_id = *p1, .kind = JudgementKind::kTie, .chosen_id = a, .rejected_id = c, .annotator = "alice"};
    auto t1 = store.record(tie);
    EXPECT_OK(t1);
    std::swap(tie.chosen_id, tie.rejected_id);
    auto t2 = store.record(tie);
    EXPECT_OK(t2);
    QCOMPARE(t2->id, t1->id);
    QVERIFY(!t2->created);

    auto bad = [&](Judgement x, const char* what) {
      auto r = store.record(x);
      QVERIFY2(!r.is_ok(), what);
      QVERIFY2(contains(r.status().message(), what), r.status().message().c_str());
    };
    bad({.prompt_id = *p1, .kind = JudgementKind::kPairwise, .chosen_id = a, .rejected_id = a}, "two different candidates");
    bad({.prompt_id = *p1, .kind = JudgementKind::kPairwise, .chosen_id = a, .rejected_id = other}, "answers prompt");
    bad({.prompt_id = *p1, .kind = JudgementKind::kRanking, .ranking = {a, b, a}}, "names a candidate twice");
    bad({.prompt_id = *p1, .kind = JudgementKind::kRanking, .ranking = {a}}, "at least two");
    bad({.prompt_id = *p1, .kind = JudgementKind::kEdit, .chosen_id = b}, "edited text");
    bad({.prompt_id = *p1, .kind = JudgementKind::kPairwise, .chosen_id = a, .rejected_id = 99999}, "does not exist");

    Judgement rank{.prompt_id = *p1, .kind = JudgementKind::kRanking, .ranking = {c, a, b}, .annotator = "carol"};
    EXPECT_OK(store.record(rank));
    Judgement edit{.prompt_id = *p1, .kind = JudgementKind::kEdit, .chosen_id = b,
                   .edited_text = "서울의 인구는 약 940만 명입니다.", .annotator = "carol", .reason = "translated"};
    EXPECT_OK(store.record(edit));
    auto all = store.list_judgements(*set);
    EXPECT_OK(all);
    QCOMPARE(all->size(), size_t(5));
    QCOMPARE(all->at(3).ranking, (std::vector<int64_t>{c, a, b}));
    QCOMPARE(all->at(4).edited_text, edit.edited_text);
    auto counts = store.counts(*set);
    EXPECT_OK(counts);
    QCOMPARE(counts->by_kind["pairwise"], int64_t(2));
    QCOMPARE(counts->by_annotator["carol"], int64_t(2));
    QCOMPARE(counts->prompts, int64_t(2));
    QCOMPARE(counts->candidates, int64_t(4));
  }

  void undoMovesTheLatestJudgementToTheLog() {
    auto ws = make_ws();
    PrefStore store(*ws);
    const int64_t s1 = *store.find_or_create_prompt_set("one");
    const int64_t s2 = *store.find_or_create_prompt_set("two");
    const int64_t p1 = *store.add_prompt(s1, {.messages = user("p1")});
    const int64_t p2 = *store.add_prompt(s2, {.messages = user("p2")});
    const int64_t a = add_reply(store, p1, "a"), b = add_reply(store, p1, "b");
    const int64_t c = add_reply(store, p2, "c"), d = add_reply(store, p2, "d");
    const int64_t j1 = store.record({.prompt_id = p1, .chosen_id = a, .rejected_id = b, .annotator = "alice"})->id;
    const int64_t j2 = store.record({.prompt_id = p1, .kind = JudgementKind::kTie, .chosen_id = a, .rejected_id = b,
                                     .annotator = "alice", .reason = "both fine"})->id;
    const int64_t j3 = store.record({.prompt_id = p2, .chosen_id = c, .rejected_id = d, .annotator = "alice"})->id;
    const int64_t jb = store.record({.prompt_id = p1, .chosen_id = b, .rejected_id = a, .annotator = "bob"})->id;

    // Scoped to set one: j2 (j3 is later but in set two).
    auto u = store.undo_last("alice", s1);
    EXPECT_OK(u);
    QVERIFY(u->has_value());
    QCOMPARE((*u)->id, j2);
    QCOMPARE((*u)->reason, std::string("both fine"));
    // Anywhere: j3.
    u = store.undo_last("alice");
    EXPECT_OK(u);
    QCOMPARE((*u)->id, j3);
    u = store.undo_last("alice");
    EXPECT_OK(u);
    QCOMPARE((*u)->id, j1);
    u = store.undo_last("alice");
    EXPECT_OK(u);
    QVERIFY(!u->has_value());
    auto left = store.list_judgements();
    EXPECT_OK(left);
    QCOMPARE(left->size(), size_t(1));
    QCOMPARE(left->front().id, jb);
    // Everything undone is in the log with all its columns.
    auto st = ws->db().prepare("SELECT judgement_id, json_extract(row_json, '$.reason'), json_extract(row_json, '$.kind') "
                               "FROM judgement_undo_log ORDER BY id");
    EXPECT_OK(st);
    std::vector<int64_t> logged;
    while (*st->step()) {
      logged.push_back(st->column_int(0));
      if (st->column_int(0) == j2) {
        QCOMPARE(st->column_text(1), std::string("both fine"));
        QCOMPARE(st->column_text(2), std::string("tie"));
      }
    }
    QCOMPARE(logged, (std::vector<int64_t>{j2, j3, j1}));
    auto counts = store.counts();
    EXPECT_OK(counts);
    QCOMPARE(counts->undone, int64_t(3));
    // The label can be given again after an undo.
    auto again = store.record({.prompt_id = p1, .chosen_id = a, .rejected_id = b, .annotator = "alice"});
    EXPECT_OK(again);
    QVERIFY(again->created);
  }

  void branchesContinueAChosenReply() {
    auto ws = make_ws();
    PrefStore store(*ws);
    const int64_t set = *store.find_or_create_prompt_set("chat");
    const int64_t p = *store.add_prompt(set, {.messages = user("김치찌개 만드는 법?"), .lang = "ko"});
    const int64_t a = add_reply(store, p, "김치와 돼지고기를 볶은 뒤 물을 붓고 끓입니다.");
    const int64_t b = add_reply(store, p, "I don't know.");
    EXPECT_OK(store.record({.prompt_id = p, .chosen_id = a, .rejected_id = b, .annotator = "alice"}));
    QVERIFY(!store.continue_branch(a, "").is_ok());
    auto next = store.continue_branch(a, "두부도 넣나요?");
    EXPECT_OK(next);
    auto prompt = store.get_prompt(*next);
    EXPECT_OK(prompt);
    QCOMPARE(prompt->parent_candidate_id.value_or(0), a);
    QCOMPARE(prompt->row.prompt_set_id, set);
    QCOMPARE(prompt->row.lang, std::string("ko"));
    QCOMPARE(prompt->messages.size(), size_t(3));
    QCOMPARE(prompt->messages[1], (Json{{"role", "assistant"}, {"content", "김치와 돼지고기를 볶은 뒤 물을 붓고 끓입니다."}}));
    QCOMPARE(prompt->messages[2], (Json{{"role", "user"}, {"content", "두부도 넣나요?"}}));
    QCOMPARE(prompt->row.text, std::string("두부도 넣나요?"));
    auto edges = ws->lineage_edges({"prompt", *next});
    EXPECT_OK(edges);
    QCOMPARE(edges->size(), size_t(1));
    QCOMPARE(edges->front().relation, std::string("continued"));
    QCOMPARE(edges->front().src, (store::NodeRef{"candidate", a}));
    // The branch is a prompt like any other: candidates and judgements.
    const int64_t x = add_reply(store, *next, "네, 넣어도 좋습니다."), y = add_reply(store, *next, "아니요.");
    EXPECT_OK(store.record({.prompt_id = *next, .chosen_id = x, .rejected_id = y, .annotator = "alice"}));
  }

  void candidatesRecordTheirCheckpointAndLineage() {
    auto ws = make_ws();
    PrefStore store(*ws);
    const fs::path model = ws->root() / "models" / "sft-run" / "checkpoints" / "step-0000120";
    fs::create_directories(model);
    test::write_text(model / "config.json", "{\"hidden_size\": 64}");
    auto ck = store.find_or_add_checkpoint(model);
    EXPECT_OK(ck);
    QCOMPARE(*store.find_or_add_checkpoint(model / "." ), *ck);
    auto record = ws->get_checkpoint(*ck);
    EXPECT_OK(record);
    QCOMPARE(record->name, std::string("sft-run/step-0000120"));
    QCOMPARE(record->step, int64_t(120));
    QVERIFY(!store.find_or_add_checkpoint(ws->root() / "missing").is_ok());
    const int64_t set = *store.find_or_create_prompt_set("s");
    const int64_t p = *store.add_prompt(set, {.messages = user("hi")});
    const int64_t c = add_reply(store, p, "hello", *ck, 1234);
    QVERIFY(c);
    auto got = store.get_candidate(c);
    EXPECT_OK(got);
    QCOMPARE(*got->row.seed, int64_t(1234));
    QCOMPARE(Json::parse(got->row.sampling_json)["top_p"], Json(0.95));
    auto down = ws->lineage_downstream({"checkpoint", *ck});
    EXPECT_OK(down);
    QCOMPARE(down->size(), size_t(1));
    QCOMPARE(down->front().node, (store::NodeRef{"candidate", c}));
  }

  void agreementMatchesAHandComputedKappa() {
    // Two annotators label the 10 pairs of 5 candidates (F: first = lower id better,
    // S: second better, T: tie):
    //   A: F F F F S S S T T F      B: F F F S S S T T F F
    // agree on 7 → p_o = 0.7; A and B each use F 5, S 3, T 2 times →
    // p_e = .5·.5 + .3·.3 + .2·.2 = 0.38; κ = (0.7 − 0.38) / (1 − 0.38) = 0.32 / 0.62 = 0.516129…
    auto ws = make_ws();
    PrefStore store(*ws);
    const int64_t set = *store.find_or_create_prompt_set("kappa");
    const int64_t p = *store.add_prompt(set, {.messages = user("prompt")});
    std::vector<int64_t> c;
    for (int i = 0; i < 5; ++i) c.push_back(add_reply(store, p, "reply " + std::to_string(i)));
    std::vector<std::pair<int64_t, int64_t>> items;
    for (int x = 0; x < 5; ++x)
      for (int y = x + 1; y < 5; ++y) items.push_back({c[x], c[y]});
    auto label = [&](const std::string& who, size_t item, char l) {
      const auto [lo, hi] = items[item];
      Judgement j{.prompt_id = p, .annotator = who};
      j.kind = l == 'T' ? JudgementKind::kTie : JudgementKind::kPairwise;
      j.chosen_id = l == 'S' ? hi : lo;
      j.rejected_id = l == 'S' ? lo : hi;
      auto r = store.record(j);
      QVERIFY2(r.is_ok(), r.status().to_string().c_str());
    };
    // A first labels item 3 the other way and then changes their mind: the latest counts.
    label("A", 3, 'S');
    const std::string a = "FFFFSSSTTF", b = "FFFSSSTTFF";
    for (size_t i = 0; i < 10; ++i) label("A", i, a[i]);
    for (size_t i = 0; i < 10; ++i) label("B", i, b[i]);
    // C labels two items only; an edit gives no pair label; an undone label does not count.
    label("C", 0, 'F');
    label("C", 1, 'S');
    EXPECT_OK(store.record({.prompt_id = p, .kind = JudgementKind::kEdit, .chosen_id = c[0], .edited_text = "better", .annotator = "B"}));
    label("B", 9, 'S');
    EXPECT_OK(store.undo_last("B"));
    EXPECT_OK(store.undo_last("B"));  // the relabel of item 9, then the edit
    auto judgements = store.list_judgements(set);
    EXPECT_OK(judgements);
    const auto labels = item_labels(*judgements);
    const AgreementReport report = agreement(labels);
    QCOMPARE(report.items_labelled, int64_t(10));
    QCOMPARE(report.items_multiply_labelled, int64_t(10));
    QCOMPARE(report.items_disagreed, int64_t(3 + 1));  // items 3, 6, 8, and item 1 where C says S
    QCOMPARE(report.pairs.size(), size_t(3));
    const PairAgreement& ab = report.pairs[0];
    QCOMPARE(ab.annotator_a, std::string("A"));
    QCOMPARE(ab.annotator_b, std::string("B"));
    QCOMPARE(ab.items, int64_t(10));
    QCOMPARE(ab.agreed, int64_t(7));
    QVERIFY(std::fabs(ab.percent_agreement - 0.7) < 1e-12);
    QVERIFY(std::fabs(ab.expected_agreement - 0.38) < 1e-12);
    QVERIFY(std::fabs(ab.kappa - 0.32 / 0.62) < 1e-12);
    const PairAgreement& ac = report.pairs[1];
    QCOMPARE(ac.annotator_b, std::string("C"));
    QCOMPARE(ac.items, int64_t(2));
    QCOMPARE(ac.agreed, int64_t(1));
    // Disagreements name the items and every annotator's label.
    const auto dis = disagreements(labels);
    QCOMPARE(dis.size(), size_t(4));
    QCOMPARE(dis[0].item.a, items[1].first);
    QCOMPARE(dis[0].labels.at("C"), PairLabel::kSecondBetter);
    // Rankings label every pair of what they rank.
    Judgement rank{.prompt_id = p, .kind = JudgementKind::kRanking, .ranking = {c[2], c[0], c[1]}, .annotator = "D"};
    EXPECT_OK(store.record(rank));
    const auto with_rank = item_labels(*store.list_judgements(set));
    int from_d = 0;
    for (const ItemLabel& l : with_rank)
      if (l.annotator == "D") {
        ++from_d;
        if (l.item.a == c[0] && l.item.b == c[2]) QCOMPARE(l.label, PairLabel::kSecondBetter);
        if (l.item.a == c[0] && l.item.b == c[1]) QCOMPARE(l.label, PairLabel::kFirstBetter);
      }
    QCOMPARE(from_d, 3);
  }

  void kappaEdgeCases() {
    using L = PairLabel;
    PairAgreement same = cohen_kappa({L::kFirstBetter, L::kFirstBetter}, {L::kFirstBetter, L::kFirstBetter});
    QCOMPARE(same.percent_agreement, 1.0);
    QVERIFY(std::isnan(same.kappa));  // one category only: p_e = 1
    PairAgreement perfect = cohen_kappa({L::kFirstBetter, L::kSecondBetter, L::kTie}, {L::kFirstBetter, L::kSecondBetter, L::kTie});
    QVERIFY(std::fabs(perfect.kappa - 1.0) < 1e-12);
    // Always opposite on two categories used equally: p_o = 0, p_e = 0.5 → κ = −1.
    PairAgreement opposite = cohen_kappa({L::kFirstBetter, L::kSecondBetter}, {L::kSecondBetter, L::kFirstBetter});
    QVERIFY(std::fabs(opposite.kappa + 1.0) < 1e-12);
    QCOMPARE(cohen_kappa({}, {}).items, int64_t(0));
  }

  void wordDiffMarksChangedWords() {
    auto join = [](const std::vector<DiffSpan>& d, DiffSpan::Op skip) {
      std::string s;
      for (const auto& x : d)
        if (x.op != skip) s += x.text;
      return s;
    };
    const std::string a = "The cat sat on the mat.", b = "The dog sat on a mat!";
    const auto d = word_diff(a, b);
    QCOMPARE(join(d, DiffSpan::Op::kInsert), a);
    QCOMPARE(join(d, DiffSpan::Op::kDelete), b);
    std::vector<std::string> deleted, inserted;
    for (const auto& x : d) {
      if (x.op == DiffSpan::Op::kDelete) deleted.push_back(x.text);
      if (x.op == DiffSpan::Op::kInsert) inserted.push_back(x.text);
    }
    QCOMPARE(deleted, (std::vector<std::string>{"cat", "the", "."}));
    QCOMPARE(inserted, (std::vector<std::string>{"dog", "a", "!"}));

    const auto ko = word_diff("오늘은 날씨가 좋다.", "오늘은 날씨가 흐리다.");
    QCOMPARE(ko.size(), size_t(4));
    QCOMPARE(ko[0].text, std::string("오늘은 날씨가 "));
    QCOMPARE(ko[1].text, std::string("좋다"));
    QCOMPARE(ko[2].text, std::string("흐리다"));
    QCOMPARE(ko[3].text, std::string("."));
    QCOMPARE(split_words("안녕, world!"), (std::vector<std::string>{"안녕", ",", " ", "world", "!"}));
    QCOMPARE(word_similarity(word_diff("same text", "same text")), 1.0);
    // Too big for the table: the middle is one deletion and one insertion.
    const auto coarse = word_diff("a b c d", "a x c y", /*max_cells=*/2);
    QCOMPARE(join(coarse, DiffSpan::Op::kInsert), std::string("a b c d"));
    QCOMPARE(join(coarse, DiffSpan::Op::kDelete), std::string("a x c y"));
    QVERIFY(word_diff("", "").empty());
  }

  void killedWriterLosesNoSavedJudgement() {
    auto ws = make_ws();
    const fs::path root = ws->root();
    {
      PrefStore store(*ws);
      const int64_t set = *store.find_or_create_prompt_set("kill");
      const int64_t p = *store.add_prompt(set, {.messages = user("prompt")});
      for (int i = 0; i < 6; ++i) QVERIFY(add_reply(store, p, "reply " + std::to_string(i)));
    }
    ws.reset();
    QProcess child;
    child.start(QCoreApplication::applicationFilePath(),
                {QStringLiteral("--child-writer"), QString::fromStdString(root.string())});
    QVERIFY(child.waitForStarted());
    std::set<int64_t> saved;
    QByteArray pending;
    QElapsedTimer timer;
    timer.start();
    while (saved.size() < 60 && timer.elapsed() < 60000) {
      child.waitForReadyRead(1000);
      pending += child.readAllStandardOutput();
      int nl;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const QByteArray line = pending.left(nl);
        pending.remove(0, nl + 1);
        if (line.startsWith("saved ")) saved.insert(line.mid(6).toLongLong());
      }
      QVERIFY2(child.state() == QProcess::Running, child.readAllStandardError().constData());
    }
    QVERIFY(saved.size() >= 60);
    child.kill();  // SIGKILL: no destructor, no checkpoint, possibly inside a transaction
    QVERIFY(child.waitForFinished(10000));
    QCOMPARE(child.exitStatus(), QProcess::CrashExit);
    pending += child.readAllStandardOutput();
    for (const QByteArray& line : pending.split('\n'))
      if (line.startsWith("saved ")) saved.insert(line.mid(6).toLongLong());

    auto reopened = store::Workspace::open(root);
    EXPECT_OK(reopened);
    auto check = (*reopened)->db().integrity_check(true);
    EXPECT_OK(check);
    QCOMPARE(*check, std::string("ok"));
    PrefStore store(**reopened);
    auto all = store.list_judgements();
    EXPECT_OK(all);
    std::set<int64_t> present;
    for (const Judgement& j : *all) present.insert(j.id);
    for (int64_t id : saved) QVERIFY2(present.count(id), ("judgement " + std::to_string(id) + " was lost").c_str());
    // At most the one in flight when the kill came was committed without being reported.
    QVERIFY(present.size() >= saved.size() && present.size() <= saved.size() + 1);
    // The store keeps working after the crash.
    auto prompts = store.list_prompts(1);
    EXPECT_OK(prompts);
    auto cands = store.list_candidates(prompts->front().row.id);
    EXPECT_OK(store.record({.prompt_id = prompts->front().row.id, .chosen_id = cands->at(0).row.id,
                            .rejected_id = cands->at(1).row.id, .annotator = "after-crash"}));
  }
};

int main(int argc, char** argv) {
  if (argc >= 3 && std::string(argv[1]) == "--child-writer") return child_writer(argv[2]);
  QCoreApplication app(argc, argv);
  TestPrefsStore test;
  return QTest::qExec(&test, argc, argv);
}

#include "test_prefs_store.moc"
