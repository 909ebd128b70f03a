// `kanana prefs import|export|stats|undo|generate` on a real workspace, and candidate sampling
// (prefs/candidate_generation.h) on debug-preset models with a byte-level tokenizer: each
// candidate streamed as it finishes with its own reproducible seed, cancellation between
// candidates, refilling a set draws only what is missing.
#include <QTemporaryDir>
#include <QtTest>

#include <set>

#include "../posttrain/byte_tokenizer.h"
#include "base/json.h"
#include "prefs/candidate_generation.h"
#include "prefs/pref_store.h"
#include "prefs_test_support.h"
#include "store/workspace.h"
#include "test_support.h"

using namespace kanana;
using namespace kanana::prefs;
using kanana::test::msg;
namespace fs = std::filesystem;

namespace {


}  // namespace

class TestPrefsCli : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  fs::path root_;
  QString s(const fs::path& p) const { return QString::fromStdString(p.string()); }

  void make_model(const fs::path& dir, const char* seed) {
    auto init = test::run_kanana({"model", "init", "--preset", "debug", "--out", s(dir), "--seed", seed});
    QVERIFY2(init.code == 0, qPrintable(init.err));
    QVERIFY(test::write_byte_tokenizer(dir));
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    root_ = tmp_.path().toStdString();
    auto init = test::run_kanana({"workspace", "init", s(root_ / "ws")});
    QVERIFY2(init.code == 0, qPrintable(init.err));
    make_model(root_ / "m1", "3");
    make_model(root_ / "m2", "4");
  }

  void importStatsExportUndo() {
    // The hand-computed kappa example of test_prefs_store as a file: annotators A and B over
    // the 10 pairs of five replies (F first better, S second better, T tie), then bad lines.
    const std::string a = "FFFFSSSTTF", b = "FFFSSSTTFF";
    std::string text;
    for (const auto& [who, labels] : {std::pair{std::string("A"), a}, {std::string("B"), b}}) {
      int item = 0;
      for (int x = 0; x < 5; ++x)
        for (int y = x + 1; y < 5; ++y, ++item) {
          const char l = labels[size_t(item)];
          const std::string rx = "reply " + std::to_string(x), ry = "reply " + std::to_string(y);
          Json line = {{"prompt", "Which reply is better?"}, {"chosen", l == 'S' ? ry : rx}, {"rejected", l == 'S' ? rx : ry},
                       {"kanana", {{"annotator", who}}}};
          if (l == 'T') line["kanana"]["kind"] = "tie";
          text += line.dump() + "\n";
        }
    }
    text += "not json\n";                                                  // line 21
    text += Json{{"prompt", "p"}, {"chosen", "c"}}.dump() + "\n";          // line 22
    test::write_text(root_ / "kappa.jsonl", text);
    const QString ws = s(root_ / "ws");
    auto imp = test::run_kanana({"prefs", "import", s(root_ / "kappa.jsonl"), "-w", ws, "--set", "kappa"});
    QVERIFY2(imp.code == 0, qPrintable(imp.err));
    QVERIFY2(imp.out.contains("added: 20 judgements (1 prompts, 5 candidates)"), qPrintable(imp.out));
    QVERIFY2(imp.out.contains("skipped: 2"), qPrintable(imp.out));
    QVERIFY2(imp.err.contains("kappa.jsonl:21: not valid JSON"), qPrintable(imp.err));
    QVERIFY2(imp.err.contains("kappa.jsonl:22: field 'rejected' is required"), qPrintable(imp.err));
    auto again = test::run_kanana({"prefs", "import", s(root_ / "kappa.jsonl"), "-w", ws, "--set", "kappa"});
    QVERIFY2(again.out.contains("added: 0 judgements") && again.out.contains("duplicates: 20"), qPrintable(again.out));
    auto strict = test::run_kanana({"prefs", "import", s(root_ / "kappa.jsonl"), "-w", ws, "--set", "kappa", "--strict"});
    QCOMPARE(strict.code, 1);
    QVERIFY2(strict.err.contains("kappa.jsonl:21"), qPrintable(strict.err));

    auto stats = test::run_kanana({"prefs", "stats", "-w", ws, "--set", "kappa", "--json", s(root_ / "stats.json")});
    QVERIFY2(stats.code == 0, qPrintable(stats.err));
    QVERIFY2(stats.out.contains("judgements: 20 (pairwise 16, tie 4)"), qPrintable(stats.out));
    QVERIFY2(stats.out.contains("A vs B: 10 pairs, 70.0% agreement, Cohen's kappa 0.516"), qPrintable(stats.out));
    QVERIFY2(stats.out.contains("with disagreement: 3"), qPrintable(stats.out));
    auto j = read_json_file(root_ / "stats.json");
    EXPECT_OK(j);
    QVERIFY(std::fabs((*j)["agreement"][0]["kappa"].get<double>() - 0.32 / 0.62) < 1e-9);

    auto exp = test::run_kanana({"prefs", "export", "-w", ws, "--set", "kappa", "-o", s(root_ / "out.jsonl")});
    QVERIFY2(exp.code == 0, qPrintable(exp.err));
    QVERIFY2(exp.out.contains("wrote 16 pairs") && exp.out.contains("left out 4 ties"), qPrintable(exp.out));
    QCOMPARE(test::read_lines(root_ / "out.jsonl").size(), size_t(16));

    auto undo = test::run_kanana({"prefs", "undo", "-w", ws, "--annotator", "B"});
    QVERIFY2(undo.code == 0, qPrintable(undo.err));
    QVERIFY2(undo.out.contains("undid judgement 20"), qPrintable(undo.out));
    auto after = test::run_kanana({"prefs", "stats", "-w", ws, "--set", "kappa"});
    QVERIFY2(after.out.contains("undone: 1") && after.out.contains("A vs B: 9 pairs"), qPrintable(after.out));
    QCOMPARE(test::run_kanana({"prefs", "undo", "-w", ws, "--annotator", "nobody"}).code, 1);

    // Usage errors exit 2; a folder that is not a workspace exits 1.
    QCOMPARE(test::run_kanana({"prefs", "export", "-w", ws}).code, 2);
    QCOMPARE(test::run_kanana({"prefs", "generate", "-w", ws, "--model", s(root_ / "m1")}).code, 2);
    auto nows = test::run_kanana({"prefs", "stats", "-w", s(root_ / "m1")});
    QCOMPARE(nows.code, 1);
    QVERIFY(nows.err.contains("is not a workspace"));
  }

  void generateFillsPromptSets() {
    std::string prompts;
    prompts += Json{{"prompt", "Hello!"}, {"lang", "en"}}.dump() + "\n";
    prompts += Json{{"prompt", "안녕하세요"}, {"system", "Answer in Korean."}}.dump() + "\n";
    prompts += Json{{"messages", Json::array({msg("user", "hi"), msg("assistant", "hello"), msg("user", "more?")})}}.dump() + "\n";
    prompts += "{broken\n";
    test::write_text(root_ / "prompts.jsonl", prompts);
    const QString ws = s(root_ / "ws");
    const QStringList common = {"-w", ws, "--prompts", s(root_ / "prompts.jsonl"), "--set", "gen", "--max-new-tokens", "6", "--threads", "1"};
    auto gen = test::run_kanana(QStringList{"prefs", "generate", "--model", s(root_ / "m1"), "-n", "2"} + common);
    QVERIFY2(gen.code == 0, qPrintable(gen.err));
    QVERIFY2(gen.out.contains("3 prompts added") && gen.out.contains("stored 6 candidates"), qPrintable(gen.out));
    QVERIFY2(gen.err.contains("prompts.jsonl:4"), qPrintable(gen.err));
    // Filled already: nothing new. A second model adds its own candidates.
    auto again = test::run_kanana(QStringList{"prefs", "generate", "--model", s(root_ / "m1"), "-n", "2"} + common);
    QVERIFY2(again.out.contains("0 prompts added, 3 already there") && again.out.contains("stored 0 candidates"), qPrintable(again.out));
    auto two = test::run_kanana(QStringList{"prefs", "generate", "--model", s(root_ / "m1"), "--model", s(root_ / "m2"), "-n", "3"} + common);
    QVERIFY2(two.code == 0, qPrintable(two.err));
    QVERIFY2(two.out.contains("stored 12 candidates"), qPrintable(two.out));  // 1 more from m1 + 3 from m2, per prompt

    auto w = store::Workspace::open(root_ / "ws");
    EXPECT_OK(w);
    PrefStore store(**w);
    auto set = store.find_prompt_set("gen");
    EXPECT_OK(set);
    auto cands = store.list_candidates_of_set(set->id);
    EXPECT_OK(cands);
    QCOMPARE(cands->size(), size_t(18));
    std::set<int64_t> seeds;
    std::set<std::optional<int64_t>> checkpoints;
    for (const Candidate& c : *cands) {
      QVERIFY(c.row.seed.has_value());
      seeds.insert(*c.row.seed);
      checkpoints.insert(c.row.checkpoint_id);
      const Json sampling = Json::parse(c.row.sampling_json);
      QCOMPARE(sampling["max_new_tokens"], Json(6));
      QCOMPARE(sampling["chat_template"], Json("chatml"));
      QVERIFY(c.meta.contains("stop_reason") && c.meta.contains("tokens"));
      QVERIFY(c.meta["tokens"].get<int64_t>() <= 6);
      auto up = (*w)->lineage_upstream({"candidate", c.row.id});
      EXPECT_OK(up);
      QCOMPARE(up->size(), size_t(1));
      QCOMPARE(up->front().node.kind, std::string("checkpoint"));
    }
    QCOMPARE(seeds.size(), size_t(18));
    QCOMPARE(checkpoints.size(), size_t(2));
  }

  void samplingStreamsEachCandidateWithItsSeed() {
    const Json conversation = Json::array({msg("user", "Tell me a story.")});
    std::vector<SampleRequest> requests = {{.prompt_id = 1, .messages = conversation, .count = 3},
                                           {.prompt_id = 2, .messages = Json::array({msg("user", "Short.")}), .first_sample = 5, .count = 2}};
    CandidateSampling o;
    o.max_new_tokens = 8;
    o.threads = 1;
    o.seed = 42;
    std::vector<SampledCandidate> got;
    auto summary = sample_candidates({root_ / "m1"}, requests, o, [&](const SampledCandidate& c) {
      got.push_back(c);
      return Status::ok();
    });
    EXPECT_OK(summary);
    QCOMPARE(summary->candidates, int64_t(5));
    QVERIFY(!summary->cancelled);
    QCOMPARE(got.size(), size_t(5));
    QCOMPARE(got[0].sample, int64_t(0));
    QCOMPARE(got[3].prompt_id, int64_t(2));
    QCOMPARE(got[3].sample, int64_t(5));
    QCOMPARE(got[3].seed, candidate_seed(42, 2, 0, 5));
    QVERIFY(got[0].seed != got[1].seed);
    QCOMPARE(got[0].sampling["temperature"], Json(0.8));

    // The recorded seed reproduces a candidate on its own.
    std::vector<SampledCandidate> again;
    auto one = sample_candidates({root_ / "m1"}, {{.prompt_id = 1, .messages = conversation, .first_sample = 1, .count = 1}}, o,
                                 [&](const SampledCandidate& c) {
                                   again.push_back(c);
                                   return Status::ok();
                                 });
    EXPECT_OK(one);
    QCOMPARE(again.size(), size_t(1));
    QCOMPARE(again[0].seed, got[1].seed);
    QCOMPARE(again[0].text, got[1].text);
    QCOMPARE(again[0].tokens, got[1].tokens);

    // Cancelled after the second candidate: nothing more is delivered.
    CancelToken cancel;
    std::vector<SampledCandidate> partial;
    auto cut = sample_candidates({root_ / "m1"}, requests, o, [&](const SampledCandidate& c) {
      partial.push_back(c);
      if (partial.size() == 2) cancel.cancel();
      return Status::ok();
    }, &cancel);
    EXPECT_OK(cut);
    QVERIFY(cut->cancelled);
    QCOMPARE(partial.size(), size_t(2));
    // A sink error stops the run and comes back.
    auto stopped = sample_candidates({root_ / "m1"}, requests, o, [](const SampledCandidate&) { return data_loss("disk full"); });
    QVERIFY(!stopped.is_ok());
    QVERIFY(test::contains(stopped.status().message(), "disk full"));
    // A folder that is not a model is an error naming it.
    auto missing = sample_candidates({root_ / "nope"}, requests, o, {});
    QVERIFY(!missing.is_ok());
    QVERIFY(test::contains(missing.status().message(), "nope"));
  }

  // Candidates from the CPU engine: greedy f32 candidates equal LibTorch's, a sampled one is
  // reproduced by its seed, and the format is recorded with the sampling settings.
  void candidatesOnTheCpuEngine() {
    const std::vector<SampleRequest> requests = {
        {.prompt_id = 1, .messages = Json::array({msg("user", "Tell me a story.")}), .count = 1},
        {.prompt_id = 2, .messages = Json::array({msg("user", "짧게 답해 주세요.")}), .count = 1}};
    auto collect = [&](const CandidateSampling& o) {
      std::vector<SampledCandidate> out;
      auto summary = sample_candidates({root_ / "m1"}, requests, o, [&](const SampledCandidate& c) {
        out.push_back(c);
        return Status::ok();
      });
      if (!summary.is_ok()) qWarning("%s", summary.status().message().c_str());
      return out;
    };
    CandidateSampling greedy;
    greedy.max_new_tokens = 8;
    greedy.threads = 1;
    greedy.greedy = true;
    const auto torch_candidates = collect(greedy);
    greedy.weights = "f32";
    const auto engine_candidates = collect(greedy);
    QCOMPARE(engine_candidates.size(), size_t(2));
    QCOMPARE(torch_candidates.size(), size_t(2));
    for (size_t i = 0; i < 2; ++i) {
      QCOMPARE(engine_candidates[i].text, torch_candidates[i].text);
      QCOMPARE(engine_candidates[i].tokens, torch_candidates[i].tokens);
    }
    QCOMPARE(engine_candidates[0].sampling["weights"], Json("f32"));
    QVERIFY(!torch_candidates[0].sampling.contains("weights"));
    CandidateSampling sampled;
    sampled.max_new_tokens = 8;
    sampled.threads = 1;
    sampled.weights = "q4";
    const auto a = collect(sampled), b = collect(sampled);
    QCOMPARE(a.size(), size_t(2));
    QCOMPARE(a[1].text, b[1].text);
    QCOMPARE(a[1].seed, b[1].seed);
    sampled.weights = "q3";
    auto bad = sample_candidates({root_ / "m1"}, requests, sampled, {});
    QVERIFY(!bad.is_ok());
    QVERIFY2(test::contains(bad.status().message(), "q3"), bad.status().message().c_str());
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestPrefsCli)
#include "test_prefs_cli.moc"
