// `kanana data pack`, `data fertility` and `mixture plan` through the real executable:
// usage errors exit 2 naming the flag, a recipe error names its field, and a full run
// writes a pack that the library reads.
#include <QtTest>

#include <QProcess>
#include <QTemporaryDir>
#include <filesystem>
#include <fstream>
#include <random>

#include "shard_test_util.h"
#include "test_support.h"
#include "shards/shard.h"
#include "tokenizer/sentencepiece.h"

using namespace kanana;
using namespace kanana::shards;
namespace fs = std::filesystem;

namespace {

using Run = kanana::test::CliRun;
using kanana::test::run_kanana;

}  // namespace

class TestShardsCli : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  fs::path root_;

 private Q_SLOTS:
  void initTestCase() {
    root_ = tmp_.path().toStdString();
    if (!QFile::exists(kanana::test::bin_path("kanana"))) QSKIP("the kanana executable is not built");
  }

  void usageErrors() {
    Run r = run_kanana({"data", "pack", "x.jsonl", "--out", QString::fromStdString((root_ / "o").string())});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("--tokenizer"), qPrintable(r.err));
    r = run_kanana({"data", "pack", "--tokenizer", "t.model", "--out", "o"});   // no INPUT
    QCOMPARE(r.code, 2);
    r = run_kanana({"data", "pack", "in.jsonl", "--tokenizer", "t.model", "--out", "o", "--val-fraction", "2"});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("--val-fraction"), qPrintable(r.err));
    r = run_kanana({"data", "pack", "in.jsonl", "--tokenizer", "t.model", "--out", "o", "--shard-tokens", "0"});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("--shard-tokens"), qPrintable(r.err));
    r = run_kanana({"mixture", "plan"});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("--recipe"), qPrintable(r.err));
    r = run_kanana({"data", "fertility", "in.jsonl"});
    QCOMPARE(r.code, 2);
  }

  void recipeErrorNamesField() {
    const fs::path recipe = root_ / "bad_recipe.json";
    std::ofstream(recipe) << R"({"stages": [{"name": "s1", "token_budget": 100,
        "sources": [{"name": "a", "path": "a", "weight": 0}]}]})";
    Run r = run_kanana({"mixture", "plan", "--recipe", QString::fromStdString(recipe.string())});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("field 'stages[0].sources[0].weight' must be > 0"), qPrintable(r.err));
  }

  void packFertilityAndPlan() {
    std::mt19937 rng(5);
    const fs::path corpus = root_ / "c.jsonl";
    {
      std::ofstream out(corpus), txt(root_ / "t.txt");
      for (int i = 0; i < 200; ++i) {
        const std::string s = kanana::shards::test::ko_en_sentence(rng, i % 3 == 0, 6 + int(rng() % 8));
        out << Json{{"body", s}}.dump() << "\n";
        txt << s << "\n";
      }
    }
    tok::SentencePieceTrainOptions opts;
    opts.input = {root_ / "t.txt"};
    opts.output = root_ / "t.model";
    opts.vocab_size = 500;
    opts.byte_fallback = true;
    opts.hard_vocab_limit = false;
    opts.num_threads = 1;
    auto trained = tok::train_sentencepiece(opts);
    QVERIFY2(trained.is_ok(), trained.status().to_string().c_str());

    const QString model = QString::fromStdString(opts.output.string());
    const QString out_dir = QString::fromStdString((root_ / "packs" / "mixed").string());
    Run r = run_kanana({"data", "pack", QString::fromStdString(corpus.string()), "--tokenizer", model, "--out", out_dir,
                        "--text-field", "body", "--val-fraction", "0.05", "--threads", "2", "--seq-len", "64"});
    QVERIFY2(r.code == 0, qPrintable(r.err + r.out));
    QVERIFY2(r.out.contains("train:") && r.out.contains("tokens/s"), qPrintable(r.out));
    auto set = ShardSet::open(out_dir.toStdString(), Split::kTrain, {.verify_checksums = true});
    QVERIFY2(set.is_ok(), set.status().to_string().c_str());
    QCOMPARE((*set)->manifest().source_name, std::string("mixed"));
    QCOMPARE((*set)->manifest().seq_len_hint, uint64_t(64));
    // Packing into the same folder again is refused without --overwrite.
    r = run_kanana({"data", "pack", QString::fromStdString(corpus.string()), "--tokenizer", model, "--out", out_dir,
                    "--text-field", "body"});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("--overwrite"), qPrintable(r.err));

    const QString fert_json = QString::fromStdString((root_ / "fert.json").string());
    r = run_kanana({"data", "fertility", QString::fromStdString(corpus.string()), "--tokenizer", model,
                    "--text-field", "body", "--json", fert_json});
    QVERIFY2(r.code == 0, qPrintable(r.err + r.out));
    QVERIFY2(r.out.contains("ko") && r.out.contains("en") && r.out.contains("tok/char"), qPrintable(r.out));
    auto fj = read_json_file(fert_json.toStdString());
    QVERIFY(fj.is_ok());
    QVERIFY((*fj)["languages"]["ko"]["tokens_per_char"].get<double>() > 0);

    const fs::path recipe = root_ / "recipe.json";
    const uint64_t avail = (*set)->num_tokens();
    std::ofstream(recipe) << Json{{"stages", {{{"name", "s1"}, {"token_budget", avail * 3},
                                               {"sources", {{{"name", "mixed"}, {"path", "packs/mixed"}, {"weight", 1}}}}}}}}.dump();
    r = run_kanana({"mixture", "plan", "--recipe", QString::fromStdString(recipe.string())});
    QVERIFY2(r.code == 0, qPrintable(r.err + r.out));
    QVERIFY2(r.out.contains("mixed") && r.out.contains("3.00"), qPrintable(r.out));
    QVERIFY2(r.err.contains("more than once"), qPrintable(r.err));
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestShardsCli)
#include "test_shards_cli.moc"
