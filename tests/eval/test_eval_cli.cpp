// `kanana eval` end to end: usage errors (exit 2), bad task files named by file:line:field
// (exit 1) and --skip-bad-items, lm-eval-shaped results with per-item samples, workspace
// records with lineage to the checkpoint, the job contract (--run-dir: events.jsonl states,
// eval_result events, results.json), an eval job launched through RunRegistry (local target)
// whose results the registry records, and the ppl / gen / decontam commands.
#include <QtTest>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "../posttrain/byte_tokenizer.h"
#include "base/files.h"
#include "eval/eval_job.h"
#include "jobs/events.h"
#include "jobs/run_registry.h"
#include "store/workspace.h"
#include "test_support.h"

using namespace kanana;
namespace fs = std::filesystem;
using kanana::test::run_kanana;

namespace {

void write_lines(const fs::path& p, const std::vector<Json>& rows, const std::vector<std::string>& raw = {}) {
  std::ofstream f(p);
  for (const auto& r : rows) f << r.dump() << "\n";
  for (const auto& r : raw) f << r << "\n";
}

QString q(const fs::path& p) { return QString::fromStdString(p.string()); }

}  // namespace

class TestEvalCli : public QObject {
  Q_OBJECT

  QTemporaryDir tmp_;
  fs::path model_, mmlu_, broken_, gsm_;
  fs::path dir() const { return fs::path(tmp_.path().toStdString()); }

 private Q_SLOTS:
  void initTestCase() {
    const fs::path tok = dir() / "tok";
    QVERIFY(test::write_byte_tokenizer(tok));
    model_ = dir() / "models" / "debug-step-0";
    auto r = run_kanana({"model", "init", "--preset", "debug", "--out", q(model_), "--tokenizer", q(tok), "--seed", "3"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    mmlu_ = dir() / "mmlu_tiny.jsonl";
    std::vector<Json> rows;
    for (int i = 0; i < 8; ++i) {
      rows.push_back({{"question", "What is " + std::to_string(i) + " plus one?"},
                      {"choices", {std::to_string(i + 1), std::to_string(i + 2), "zero", "many"}},
                      {"answer", 0},
                      {"subject", i % 2 ? "math" : "counting"}});
    }
    write_lines(mmlu_, rows);
    broken_ = dir() / "broken.jsonl";
    write_lines(broken_, {rows[0], {{"question", "q"}, {"choices", {"a", "b"}}, {"answer", 5}}, rows[1]});
    gsm_ = dir() / "gsm8k_tiny.jsonl";
    write_lines(gsm_, {{{"question", "1+1?"}, {"answer", "1+1=2\n#### 2"}},
                       {{"question", "2+2?"}, {"answer", "2+2=4\n#### 4"}},
                       {{"question", "3+3?"}, {"answer", "3+3=6\n#### 6"}}});
  }

  void usageErrors() {
    auto r = run_kanana({"eval", "mc", "--model", q(model_)});
    QCOMPARE(r.code, 2);  // --task missing
    r = run_kanana({"eval", "mc", "--model", q(model_), "--task", q(mmlu_), "--batch-size", "0"});
    QCOMPARE(r.code, 2);
    r = run_kanana({"eval", "mc", "--model", q(model_), "--task", q(mmlu_), "--layout", "nope"});
    QCOMPARE(r.code, 2);
    QVERIFY(r.err.contains("unknown task layout"));
    r = run_kanana({"eval", "mc", "--model", q(dir() / "missing"), "--task", q(mmlu_)});
    QCOMPARE(r.code, 1);
  }

  void badItemsFailOrAreSkipped() {
    auto r = run_kanana({"eval", "mc", "--model", q(model_), "--task", q(broken_)});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains(q(broken_) + ":2: field 'answer': 5 is out of range 0..1"), qPrintable(r.err));
    const fs::path out = dir() / "skip" / "results.json";
    r = run_kanana({"eval", "mc", "--model", q(model_), "--task", q(broken_), "--skip-bad-items", "-o", q(out)});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY(r.err.contains("skipped 1 bad item"));
    auto j = read_json_file(out);
    QVERIFY(j.is_ok());
    QCOMPARE((*j)["n-samples"]["broken"]["effective"].get<int>(), 2);
    QCOMPARE((*j)["n-samples"]["broken"]["original"].get<int>(), 3);
    QCOMPARE((*j)["skipped"]["broken"][0]["line"].get<int>(), 2);
    QCOMPARE((*j)["skipped"]["broken"][0]["field"].get<std::string>(), std::string("answer"));
  }

  void resultsWorkspaceAndLineage() {
    const fs::path ws_dir = dir() / "ws";
    auto init = run_kanana({"workspace", "init", q(ws_dir)});
    QVERIFY2(init.code == 0, qPrintable(init.err));
    const fs::path out = dir() / "res" / "results.json";
    auto r = run_kanana({"eval", "mc", "--model", q(model_), "--task", q(mmlu_), "--num-fewshot", "2", "--limit", "6",
                         "-o", q(out), "--workspace", q(ws_dir)});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY(r.out.contains("|mmlu_tiny"));
    QVERIFY(r.out.contains("acc_norm"));
    auto j = read_json_file(out);
    QVERIFY(j.is_ok());
    const Json& res = (*j)["results"]["mmlu_tiny"];
    for (const char* k : {"acc,none", "acc_stderr,none", "acc_norm,none", "acc_norm_stderr,none"}) QVERIFY2(res.contains(k), k);
    QCOMPARE((*j)["n-shot"]["mmlu_tiny"].get<int>(), 2);
    QCOMPARE((*j)["n-samples"]["mmlu_tiny"]["effective"].get<int>(), 6);
    QVERIFY((*j)["config"]["model_args"].get<std::string>().find("pretrained=") == 0);
    QVERIFY((*j)["config"]["shared_prefix"].get<bool>());
    QVERIFY((*j)["breakdown"]["mmlu_tiny"]["category"].contains("math"));
    const fs::path samples = out.parent_path() / (*j)["samples"]["mmlu_tiny"].get<std::string>();
    std::ifstream sf(samples);
    std::string line;
    int lines = 0;
    while (std::getline(sf, line)) {
      Json s = Json::parse(line);
      QCOMPARE(s["logprobs"].size(), size_t(4));
      QCOMPARE(s["gold"].get<int>(), 0);
      QVERIFY(s.contains("pred") && s.contains("acc") && s.contains("acc_norm") && s.contains("is_greedy"));
      QCOMPARE(s["fewshot_lines"].size(), size_t(2));
      ++lines;
    }
    QCOMPARE(lines, 6);

    auto ws = store::Workspace::open(ws_dir);
    QVERIFY(ws.is_ok());
    auto results = (*ws)->list_eval_results();
    QVERIFY(results.is_ok());
    QCOMPARE(results->size(), size_t(2));  // acc, acc_norm
    const auto& er = results->at(0);
    QCOMPARE(er.task, std::string("mmlu_tiny"));
    QCOMPARE(er.n, int64_t(6));
    QVERIFY(er.stderr_value.has_value());
    QVERIFY(er.checkpoint_id && er.run_id);
    auto ck = (*ws)->get_checkpoint(*er.checkpoint_id);
    QVERIFY(ck.is_ok());
    QCOMPARE(fs::path(ck->path), fs::weakly_canonical(model_));
    auto run = (*ws)->get_run(*er.run_id);
    QCOMPARE(run->kind, std::string("eval"));
    QCOMPARE(run->state, store::RunState::kFinished);
    auto up = (*ws)->lineage_upstream({"eval_result", er.id});
    QVERIFY(up.is_ok());
    bool from_checkpoint = false, from_dataset = false;
    for (const auto& n : *up) {
      from_checkpoint = from_checkpoint || (n.node.kind == "checkpoint" && n.node.id == *er.checkpoint_id);
      from_dataset = from_dataset || n.node.kind == "dataset";
    }
    QVERIFY(from_checkpoint && from_dataset);
    // A second evaluation of the same folder reuses the checkpoint record.
    r = run_kanana({"eval", "mc", "--model", q(model_), "--task", q(mmlu_), "--limit", "2", "--workspace", q(ws_dir)});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    auto again = (*ws)->list_eval_results(std::nullopt, *er.checkpoint_id);
    QCOMPARE(again->size(), size_t(4));
    QCOMPARE((*ws)->list_checkpoints()->size(), size_t(1));
  }

  void runDirWritesEventsAndResults() {
    const fs::path run = dir() / "job-run";
    auto r = run_kanana({"eval", "mc", "--model", q(model_), "--task", q(mmlu_), "--run-dir", q(run), "--limit", "3"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY(fs::exists(run / "results.json"));
    auto ev = jobs::read_events(run / jobs::kEventsFileName);
    QVERIFY(ev.is_ok());
    std::vector<std::string> states;
    int eval_results = 0;
    for (const auto& e : ev->events) {
      if (e.type == "state") states.push_back(e.json["state"].get<std::string>());
      if (e.type == "eval_result") {
        ++eval_results;
        QCOMPARE(e.json["task"].get<std::string>(), std::string("mmlu_tiny"));
        QCOMPARE(e.json["n"].get<int>(), 3);
      }
    }
    QCOMPARE(states, (std::vector<std::string>{"running", "finished"}));
    QCOMPARE(eval_results, 2);
    // A failing evaluation leaves a failed state with the reason.
    const fs::path bad = dir() / "job-bad";
    r = run_kanana({"eval", "mc", "--model", q(model_), "--task", q(broken_), "--run-dir", q(bad)});
    QCOMPARE(r.code, 1);
    auto st = jobs::last_state_event((bad / jobs::kEventsFileName).string());
    QVERIFY(st.is_ok() && st->has_value());
    QCOMPARE((*st)->first, std::string("failed"));
    QVERIFY((*st)->second.find("field 'answer'") != std::string::npos);
  }

  void evalJobThroughTheRegistry() {
    const fs::path ws_dir = dir() / "ws-jobs";
    auto ws = store::Workspace::create(ws_dir, "eval-jobs");
    QVERIFY(ws.is_ok());
    eval::EvalJobRequest req;
    req.command = "mc";
    req.model = model_.string();
    req.tasks = {mmlu_.string()};
    req.extra_args = {"--limit", "4", "--threads", "1"};
    req.target.kanana_binary = test::bin_path("kanana").toStdString();
    auto spec = eval::make_eval_job_spec(req);
    QVERIFY2(spec.is_ok(), spec.status().message().c_str());
    QCOMPARE(spec->kind, std::string("eval"));
    QCOMPARE(spec->command.back(), std::string("{run_dir}"));
    jobs::RunRegistry registry(**ws);
    auto id = registry.launch(*spec);
    QVERIFY2(id.is_ok(), id.status().message().c_str());
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    jobs::JobState state = jobs::JobState::kQueued;
    while (std::chrono::steady_clock::now() < end) {
      auto r = registry.refresh(*id);
      QVERIFY(r.is_ok());
      state = r->state;
      if (jobs::is_final(state)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    QCOMPARE(int(state), int(jobs::JobState::kFinished));
    auto results = (*ws)->list_eval_results(*id);
    QVERIFY(results.is_ok());
    QCOMPARE(results->size(), size_t(2));
    QVERIFY(results->at(0).checkpoint_id.has_value());
    QCOMPARE(results->at(0).n, int64_t(4));
    // Refreshing again does not record the results twice.
    QVERIFY(registry.refresh(*id).is_ok());
    QCOMPARE((*ws)->list_eval_results(*id)->size(), size_t(2));
    auto run = (*ws)->get_run(*id);
    QVERIFY(fs::exists(fs::path(run->run_dir) / "results.json"));
    auto edges = (*ws)->lineage_edges({"run", *id});
    QVERIFY(edges.is_ok());
    bool dataset_evaluated = false, checkpoint_evaluated = false;
    for (const auto& e : *edges) {
      dataset_evaluated = dataset_evaluated || (e.src.kind == "dataset" && e.relation == "evaluated");
      checkpoint_evaluated = checkpoint_evaluated || (e.src.kind == "checkpoint" && e.relation == "evaluated");
    }
    QVERIFY(dataset_evaluated && checkpoint_evaluated);
  }

  void generationPerplexityAndDecontam() {
    const fs::path out = dir() / "gen" / "results.json";
    auto r = run_kanana({"eval", "gen", "--model", q(model_), "--task", q(gsm_), "--num-fewshot", "1",
                         "--max-new-tokens", "6", "-o", q(out)});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    auto j = read_json_file(out);
    QVERIFY(j.is_ok());
    const Json& res = (*j)["results"]["gsm8k_tiny"];
    QVERIFY(res.contains("exact_match,strict-match"));
    QVERIFY(res.contains("exact_match,flexible-extract"));
    QVERIFY(res.contains("exact_match_stderr,strict-match"));

    const fs::path corpus = dir() / "corpus.jsonl";
    write_lines(corpus, {{{"text", "What is 3 plus one? It is four, as everyone knows very well indeed."}},
                         {{"text", "한국어 문장입니다. 모델이 처음 보는 글입니다."}}});
    const fs::path pout = dir() / "ppl" / "results.json";
    r = run_kanana({"eval", "ppl", "--model", q(model_), q(corpus), "-o", q(pout)});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    auto pj = read_json_file(pout);
    QVERIFY(pj.is_ok());
    QVERIFY((*pj)["results"]["ppl/all"]["bits_per_byte,none"].get<double>() > 0);
    QVERIFY((*pj)["results"].contains("ppl/all/ko"));

    // The 13-word question of item 4 planted in the corpus.
    const fs::path long_eval = dir() / "long_eval.jsonl";
    write_lines(long_eval, {{{"question", "one two three four five six seven eight nine ten eleven twelve thirteen"},
                             {"choices", {"a", "b"}}, {"answer", 0}},
                            {{"question", "nothing to see"}, {"choices", {"a", "b"}}, {"answer", 0}}});
    write_lines(corpus, {{{"text", "count: One, two, three, four, five, six, seven, eight, nine, ten, eleven, twelve, thirteen."}}});
    const fs::path dout = dir() / "decontam.json";
    r = run_kanana({"eval", "decontam", "--eval", q(long_eval), q(corpus), "-o", q(dout)});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(r.out.contains("1 of 2 items"), qPrintable(r.out));
    auto dj = read_json_file(dout);
    QVERIFY(dj.is_ok());
    QCOMPARE((*dj)["decontamination"]["long_eval"]["contaminated_lines"][0].get<int>(), 1);
    QCOMPARE((*dj)["decontamination"]["long_eval"]["too_short"].get<int>(), 1);
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestEvalCli)
#include "test_eval_cli.moc"
