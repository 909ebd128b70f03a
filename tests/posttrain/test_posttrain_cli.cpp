// The kanana executable with the post-training types: `kanana train --recipe` runs "dpo" via
// the registry (no CLI change), `posttrain eval-prefs` measures a model against its reference,
// `posttrain score` refuses a model without a reward head, usage errors exit 2.
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

#include "base/json.h"
#include "byte_tokenizer.h"
#include "test_support.h"

using namespace kanana;
namespace fs = std::filesystem;

class TestPosttrainCli : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  fs::path root_;
  QString s(const fs::path& p) const { return QString::fromStdString(p.string()); }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(tmp_.isValid());
    root_ = tmp_.path().toStdString();
    QVERIFY(test::write_byte_tokenizer(root_ / "tok"));
    auto init = test::run_kanana({"model", "init", "--preset", "debug", "--out", s(root_ / "m"), "--seed", "3"});
    QVERIFY2(init.code == 0, qPrintable(init.err));
    for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) fs::copy_file(root_ / "tok" / f, root_ / "m" / f);
    std::ofstream prefs(root_ / "prefs.jsonl");
    for (int i = 0; i < 12; ++i)
      prefs << Json{{"prompt", "q" + std::to_string(i)}, {"chosen", "yes"}, {"rejected", "no " + std::to_string(i)}}.dump() << "\n";
    prefs << "{\"prompt\": \"broken\"}\n";
  }

  void trainRunsThePosttrainTypes() {
    Json r = {{"type", "dpo"}, {"model", {{"init_from", "m"}}}, {"seq_len", 32}, {"micro_batch_size", 2},
              {"schedule", {{"kind", "constant"}, {"peak_lr", 1e-3}}}, {"dpo", {{"train", "prefs.jsonl"}, {"max_steps", 3}}},
              {"runtime", {{"peak_tflops", 1.0}}}};
    QVERIFY(write_json_file(root_ / "dpo.json", r).is_ok());
    auto run = test::run_kanana({"train", "--recipe", s(root_ / "dpo.json"), "--run-dir", s(root_ / "run"), "--threads", "1"});
    QVERIFY2(run.code == 0, qPrintable(run.err));
    QVERIFY(run.err.contains("prefs.jsonl:13"));  // the malformed line is reported
    QVERIFY(fs::is_regular_file(root_ / "run" / "reference_logps.json"));
    QVERIFY(fs::is_regular_file(root_ / "run" / "tokenizer" / "tokenizer.json"));
    r["dpo"]["beta"] = -1;
    QVERIFY(write_json_file(root_ / "bad.json", r).is_ok());
    auto bad = test::run_kanana({"train", "--recipe", s(root_ / "bad.json"), "--run-dir", s(root_ / "run-bad")});
    QVERIFY(bad.code != 0);
    QVERIFY2(bad.err.contains("dpo.beta"), qPrintable(bad.err));
  }

  void evalPrefsAgainstTheReference() {
    const fs::path trained = root_ / "run" / "checkpoints" / "step-0000003";
    auto ev = test::run_kanana({"posttrain", "eval-prefs", "--model", s(trained), "--reference", s(root_ / "m"),
                                "--data", s(root_ / "prefs.jsonl"), "--json", s(root_ / "ev.json"), "--threads", "1"});
    QVERIFY2(ev.code == 0, qPrintable(ev.err));
    QVERIFY(ev.out.contains("implicit reward accuracy"));
    auto j = read_json_file(root_ / "ev.json");
    QVERIFY(j.is_ok());
    QCOMPARE((*j)["pairs"].get<int>(), 12);
    QCOMPARE((*j)["skipped"].get<int>(), 1);
    // Three DPO steps on these pairs already favour "yes" over "no ...".
    QVERIFY2((*j)["reward_accuracy"].get<double>() > 0.5, j->dump().c_str());
    // Against itself every implicit reward is 0: no pair counts as preferred.
    auto self = test::run_kanana({"posttrain", "eval-prefs", "--model", s(root_ / "m"), "--reference", s(root_ / "m"),
                                  "--data", s(root_ / "prefs.jsonl"), "--json", s(root_ / "self.json"), "--threads", "1"});
    QVERIFY2(self.code == 0, qPrintable(self.err));
    auto js = read_json_file(root_ / "self.json");
    QCOMPARE((*js)["reward_accuracy"].get<double>(), 0.0);
    QCOMPARE((*js)["reward_margin"].get<double>(), 0.0);
  }

  void usageAndModelErrors() {
    auto missing = test::run_kanana({"posttrain", "eval-prefs", "--model", s(root_ / "m")});
    QCOMPARE(missing.code, 2);
    auto beta = test::run_kanana({"posttrain", "eval-prefs", "--model", s(root_ / "m"), "--data", s(root_ / "prefs.jsonl"),
                                  "--beta", "0"});
    QCOMPARE(beta.code, 2);
    QVERIFY2(beta.err.contains("--beta must be > 0"), qPrintable(beta.err));
    // The flags and their --help defaults come from the options' field table.
    auto help = test::run_kanana({"posttrain", "eval-prefs", "--help"});
    QCOMPARE(help.code, 0);
    QVERIFY2(help.out.contains("--beta") && help.out.contains("0.1") && help.out.contains("--max-prompt-length"),
             qPrintable(help.out));
    auto score = test::run_kanana({"posttrain", "score", "--reward-model", s(root_ / "m"), "--prompt", "q", "--candidate", "a"});
    QCOMPARE(score.code, 1);
    QVERIFY2(score.err.contains("not a reward model"), qPrintable(score.err));
    auto neither = test::run_kanana({"posttrain", "score", "--reward-model", s(root_ / "m")});
    QCOMPARE(neither.code, 2);
    auto no_candidates = test::run_kanana({"posttrain", "score", "--reward-model", s(root_ / "m"), "--prompt", "q"});
    QCOMPARE(no_candidates.code, 2);
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestPosttrainCli)
#include "test_posttrain_cli.moc"
