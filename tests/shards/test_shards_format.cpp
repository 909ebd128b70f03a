// Shard format, reader validation, the sequence sampler (determinism, resume, rank split)
// and stage mixtures (proportions, budgets, resume, recipe errors), on synthetic packs.
#include <QtTest>

#include <QTemporaryDir>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "base/files.h"
#include "shard_test_util.h"
#include "shards/mixture.h"
#include "shards/sampler.h"
#include "shards/shard.h"

using namespace kanana;
using namespace kanana::shards;
namespace fs = std::filesystem;

namespace {

void flip_byte(const fs::path& p, uint64_t offset) {
  std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(std::streamoff(offset));
  char c;
  f.read(&c, 1);
  c = char(c ^ 0x5a);
  f.seekp(std::streamoff(offset));
  f.write(&c, 1);
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

class TestShardsFormat : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  fs::path root() const { return fs::path(tmp_.path().toStdString()); }

 private Q_SLOTS:
  void roundTripAcrossShardsAndSplits() {
    const auto docs = shards::test::synthetic_docs(300, 1);
    const fs::path dir = root() / "rt";
    auto m = shards::test::write_synthetic_pack(dir, docs, "rt", /*shard_tokens=*/500, /*val_every=*/10);
    QVERIFY2(m.is_ok(), m.status().to_string().c_str());
    QVERIFY(m->train_shards.size() > 3);           // rotation happened
    QVERIFY(!m->val_shards.empty());
    QVERIFY(fs::exists(dir / "val" / "shard-00000.bin"));
    QCOMPARE(m->train_docs + m->val_docs, uint64_t(300));
    QCOMPARE(m->val_docs, uint64_t(30));
    QCOMPARE(m->dtype_bytes, 2u);
    // No temporary files remain.
    for (const auto& e : fs::recursive_directory_iterator(dir))
      QVERIFY2(!contains(e.path().string(), ".tmp-"), e.path().c_str());

    for (bool val : {false, true}) {
      auto set = ShardSet::open(dir, val ? Split::kValidation : Split::kTrain, {.verify_checksums = true});
      QVERIFY2(set.is_ok(), set.status().to_string().c_str());
      const auto stream = shards::test::stream_of(docs, 10, val);
      QCOMPARE((*set)->num_tokens(), uint64_t(stream.size()));
      std::vector<int32_t> got(stream.size());
      QVERIFY((*set)->copy_tokens(0, got.size(), got.data()).is_ok());
      QVERIFY(got == stream);
      // A range that spans a shard boundary.
      const uint64_t b = (*set)->shard(0).num_tokens() - 3;
      std::vector<int32_t> part(10);
      if ((*set)->num_shards() > 1) {
        QVERIFY((*set)->copy_tokens(b, 10, part.data()).is_ok());
        QVERIFY(std::equal(part.begin(), part.end(), stream.begin() + b));
      }
      QCOMPARE((*set)->copy_tokens(stream.size() - 2, 5, part.data()).code(), StatusCode::kOutOfRange);
      // Documents in order.
      size_t k = 0;
      for (size_t i = 0; i < docs.size(); ++i) {
        if ((i % 10 == 9) != val) continue;
        auto d = (*set)->document(k++);
        QVERIFY(d.is_ok());
        QVERIFY(*d == docs[i]);
      }
      QCOMPARE(k, size_t((*set)->num_docs()));
    }
  }

  void manifestFields() {
    const fs::path dir = root() / "mf";
    QVERIFY(shards::test::write_synthetic_pack(dir, shards::test::synthetic_docs(20, 2), "mf-src").is_ok());
    auto json = read_json_file(dir / "manifest.json");
    QVERIFY(json.is_ok());
    QCOMPARE((*json)["format"].get<std::string>(), std::string("kanana-token-shards"));
    QCOMPARE((*json)["source_name"].get<std::string>(), std::string("mf-src"));
    QCOMPARE((*json)["tokenizer"]["fingerprint"].get<std::string>(), std::string("fp-test"));
    QCOMPARE((*json)["dtype"].get<std::string>(), std::string("uint16"));
    const auto& shard = (*json)["train_shards"][0];
    QVERIFY(contains(shard["checksum"].get<std::string>(), "fnv1a64:"));
    QCOMPARE(shard["bytes"].get<uint64_t>(), uint64_t(fs::file_size(dir / "shard-00000.bin")));
    QVERIFY(!(*json)["created"].get<std::string>().empty());
    auto m = read_manifest(dir);
    QVERIFY(m.is_ok());
    QCOMPARE(m->train_docs, uint64_t(20));
    // A manifest whose totals disagree with its shard list is rejected.
    (*json)["train_tokens"] = 1;
    auto bad = Manifest::from_json(*json, "x/manifest.json");
    QVERIFY(!bad.is_ok());
    QVERIFY2(contains(bad.status().message(), "x/manifest.json"), bad.status().message().c_str());
  }

  void wideVocabUsesUint32() {
    const fs::path dir = root() / "wide";
    std::vector<std::vector<int32_t>> docs = {{70000, 100000, 5, 0}, {128255, 0}};
    auto m = shards::test::write_synthetic_pack(dir, docs, "wide", 1 << 20, 0, "fp", 128256);
    QVERIFY2(m.is_ok(), m.status().to_string().c_str());
    QCOMPARE(m->dtype_bytes, 4u);
    auto set = ShardSet::open(dir);
    QVERIFY(set.is_ok());
    QVERIFY(*(*set)->document(0) == docs[0]);
    QVERIFY(*(*set)->document(1) == docs[1]);
    // A uint16 pack refuses ids that do not fit; empty documents are refused.
    auto w = ShardSetWriter::create(root() / "narrow", {.dtype_bytes = 2});
    QVERIFY(w.is_ok());
    std::vector<int32_t> big = {70000};
    QCOMPARE((*w)->add_document(big).code(), StatusCode::kInvalidArgument);
    QCOMPARE((*w)->add_document({}).code(), StatusCode::kInvalidArgument);
  }

  void existingPackIsNotOverwritten() {
    const fs::path dir = root() / "exists";
    QVERIFY(shards::test::write_synthetic_pack(dir, shards::test::synthetic_docs(5, 3), "e").is_ok());
    auto w = ShardSetWriter::create(dir, {});
    QCOMPARE(w.status().code(), StatusCode::kAlreadyExists);
    std::ofstream(dir / "notes.txt") << "keep me";
    auto w2 = ShardSetWriter::create(dir, {.overwrite = true});
    QVERIFY(w2.is_ok());
    QVERIFY(!fs::exists(dir / "manifest.json"));   // incomplete while being rewritten
    QVERIFY(!fs::exists(dir / "shard-00000.bin"));
    QVERIFY(fs::exists(dir / "notes.txt"));
  }

  void corruptAndTruncatedShardsNameTheFile() {
    const fs::path dir = root() / "corrupt";
    const auto docs = shards::test::synthetic_docs(50, 4);
    auto make = [&] { QVERIFY(shards::test::write_synthetic_pack(dir, docs, "c").is_ok()); };
    const fs::path bin = dir / "shard-00000.bin";
    const fs::path idx = dir / "shard-00000.idx";

    make();
    fs::resize_file(bin, fs::file_size(bin) - 7);
    auto r = ShardSet::open(dir);
    QCOMPARE(r.status().code(), StatusCode::kDataLoss);
    QVERIFY2(contains(r.status().message(), bin.string()) && contains(r.status().message(), "truncated"),
             r.status().message().c_str());

    make();
    fs::resize_file(bin, 10);
    r = ShardSet::open(dir);
    QVERIFY2(contains(r.status().message(), "shorter than the 64-byte shard header"), r.status().message().c_str());

    make();
    flip_byte(bin, 0);
    r = ShardSet::open(dir);
    QVERIFY2(contains(r.status().message(), "magic"), r.status().message().c_str());

    make();
    fs::resize_file(idx, fs::file_size(idx) - 8);
    r = ShardSet::open(dir);
    QVERIFY2(r.status().code() == StatusCode::kDataLoss && contains(r.status().message(), idx.string()),
             r.status().message().c_str());

    make();
    flip_byte(bin, 100);  // a token byte: structure intact, only the checksum sees it
    QVERIFY(ShardSet::open(dir).is_ok());
    r = ShardSet::open(dir, Split::kTrain, {.verify_checksums = true});
    QVERIFY2(contains(r.status().message(), "checksum mismatch") && contains(r.status().message(), bin.string()),
             r.status().message().c_str());

    make();
    fs::remove(dir / "manifest.json");
    r = ShardSet::open(dir);
    QCOMPARE(r.status().code(), StatusCode::kNotFound);
    QVERIFY2(contains(r.status().message(), "not a finished pack"), r.status().message().c_str());
  }

  void windowOrderIsAPermutationPerEpoch() {
    for (uint64_t n : {1ull, 2ull, 7ull, 100ull, 1001ull}) {
      WindowOrder order(n, 42, true);
      std::set<uint64_t> e0, e1;
      bool differs = false;
      for (uint64_t p = 0; p < n; ++p) {
        e0.insert(order.at(p));
        e1.insert(order.at(n + p));
        differs |= order.at(p) != order.at(n + p);
      }
      QCOMPARE(e0.size(), size_t(n));
      QCOMPARE(e1.size(), size_t(n));
      QCOMPARE(*e0.rbegin(), n - 1);
      if (n >= 100) QVERIFY(differs);   // a fresh order each epoch
    }
    WindowOrder plain(10, 1, false);
    QCOMPARE(plain.at(13), uint64_t(3));
  }

  void samplerWindowsDeterminismAndResume() {
    const fs::path dir = root() / "sampler";
    const auto docs = shards::test::synthetic_docs(200, 5);
    QVERIFY(shards::test::write_synthetic_pack(dir, docs, "s", 700).is_ok());
    const auto stream = shards::test::stream_of(docs, 0, false);
    auto set = ShardSet::open(dir);
    QVERIFY(set.is_ok());
    SamplerOptions opts{.seq_len = 16, .batch_size = 4, .seed = 7};
    auto a = SequenceSampler::create(*set, opts);
    auto b = SequenceSampler::create(*set, opts);
    QVERIFY2(a.is_ok(), a.status().to_string().c_str());
    QCOMPARE((*a)->num_windows(), uint64_t((stream.size() - 1) / 16));
    // Window w is stream[w*16, w*16 + 17).
    std::vector<int32_t> w(17);
    QVERIFY((*a)->window(3, w.data()).is_ok());
    QVERIFY(std::equal(w.begin(), w.end(), stream.begin() + 48));

    std::vector<int32_t> x, y;
    for (int step = 0; step < 10; ++step) {
      QVERIFY((*a)->next_batch(&x).is_ok());
      QVERIFY((*b)->next_batch(&y).is_ok());
      QVERIFY(x == y);
    }
    // Resume from a cursor (through its JSON text) gives the identical next batches.
    const std::string saved = (*a)->cursor().dump();
    std::vector<std::vector<int32_t>> expected(80);
    for (auto& e : expected) QVERIFY((*a)->next_batch(&e).is_ok());   // crosses an epoch boundary
    auto c = SequenceSampler::create(*set, opts);
    QVERIFY((*c)->restore(Json::parse(saved)).is_ok());
    for (const auto& e : expected) {
      QVERIFY((*c)->next_batch(&x).is_ok());
      QVERIFY(x == e);
    }
    QVERIFY((*c)->epoch() >= 1);
    // int64 output carries the same values.
    std::vector<int64_t> wide(4 * 17);
    auto d = SequenceSampler::create(*set, opts);
    QVERIFY((*d)->next_batch(wide.data()).is_ok());
    auto e = SequenceSampler::create(*set, opts);
    QVERIFY((*e)->next_batch(&x).is_ok());
    for (size_t i = 0; i < x.size(); ++i) QCOMPARE(wide[i], int64_t(x[i]));
    // A cursor from another configuration is refused, naming the field.
    auto other = SequenceSampler::create(*set, {.seq_len = 32, .batch_size = 4, .seed = 7});
    Status s = (*other)->restore(Json::parse(saved));
    QVERIFY2(!s.is_ok() && contains(s.message(), "'seq_len'"), s.message().c_str());
    // Too little data for one window is an error naming the folder.
    auto tiny = SequenceSampler::create(*set, {.seq_len = int64_t(stream.size())});
    QVERIFY(!tiny.is_ok() && contains(tiny.status().message(), dir.string()));
  }

  void twoRanksSplitTheGlobalBatch() {
    const fs::path dir = root() / "ranks";
    QVERIFY(shards::test::write_synthetic_pack(dir, shards::test::synthetic_docs(150, 6), "r").is_ok());
    auto set = ShardSet::open(dir);
    auto one = SequenceSampler::create(*set, {.seq_len = 8, .batch_size = 6, .seed = 3});
    auto r0 = SequenceSampler::create(*set, {.seq_len = 8, .batch_size = 3, .seed = 3, .rank = 0, .world_size = 2});
    auto r1 = SequenceSampler::create(*set, {.seq_len = 8, .batch_size = 3, .seed = 3, .rank = 1, .world_size = 2});
    QVERIFY(one.is_ok() && r0.is_ok() && r1.is_ok());
    const uint64_t steps = (*one)->num_windows() / 6;   // within one epoch
    std::set<std::vector<int32_t>> seen0, seen1;
    std::vector<int32_t> g, a, b;
    for (uint64_t s = 0; s < steps; ++s) {
      QVERIFY((*one)->next_batch(&g).is_ok());
      QVERIFY((*r0)->next_batch(&a).is_ok());
      QVERIFY((*r1)->next_batch(&b).is_ok());
      std::vector<int32_t> both = a;
      both.insert(both.end(), b.begin(), b.end());
      QVERIFY(both == g);   // same global order as one rank with batch 6
      for (int i = 0; i < 3; ++i) {
        seen0.insert(std::vector<int32_t>(a.begin() + i * 9, a.begin() + (i + 1) * 9));
        seen1.insert(std::vector<int32_t>(b.begin() + i * 9, b.begin() + (i + 1) * 9));
      }
    }
    for (const auto& w : seen0) QVERIFY(!seen1.count(w));   // disjoint
    QCOMPARE((*r0)->position(), (*one)->position());
  }

  void mixtureProportionsBudgetsAndResume() {
    const fs::path a = root() / "mix-a", b = root() / "mix-b";
    QVERIFY(shards::test::write_synthetic_pack(a, shards::test::synthetic_docs(300, 7, 500), "a").is_ok());
    // Source b uses ids >= 600 so rows reveal their source.
    auto docs_b = shards::test::synthetic_docs(300, 8, 400);
    for (auto& d : docs_b) for (auto& t : d) t = t == 0 ? 0 : t + 600;
    QVERIFY(shards::test::write_synthetic_pack(b, docs_b, "b").is_ok());
    std::vector<StageSpec> stages = {
        {"s1", 16 * 8 * 200, {{"a", a, 3.0}, {"b", b, 1.0}}},
        {"s2", 16 * 8 * 50, {{"b", b, 1.0}}},
    };
    MixtureOptions opts{.seq_len = 16, .batch_size = 8, .seed = 11};
    auto mix = MixtureSampler::open(stages, opts);
    QVERIFY2(mix.is_ok(), mix.status().to_string().c_str());
    QCOMPARE((*mix)->stage_steps(0), uint64_t(200));
    QCOMPARE((*mix)->total_steps(), uint64_t(250));
    std::vector<int32_t> buf(8 * 17);
    std::map<int32_t, int> rows;
    Json cursor_at_150;
    std::vector<std::vector<int32_t>> after_150;
    for (uint64_t step = 0; step < 250; ++step) {
      if (step == 150) cursor_at_150 = (*mix)->cursor();
      auto info = (*mix)->next_batch(buf.data());
      QVERIFY2(info.is_ok(), info.status().to_string().c_str());
      QCOMPARE(info->stage, size_t(step < 200 ? 0 : 1));
      QCOMPARE(info->stage_started, step == 0 || step == 200);
      if (step >= 150) after_150.push_back(buf);
      for (int r = 0; r < 8; ++r) {
        const int32_t src = info->source_of_row[r];
        bool from_b = false;
        for (int i = 0; i < 17; ++i) from_b |= buf[r * 17 + i] > 600;
        bool from_a = false;
        for (int i = 0; i < 17; ++i) from_a |= buf[r * 17 + i] > 0 && buf[r * 17 + i] < 600;
        QCOMPARE(from_b, (*mix)->source_names()[src] == "b");
        QCOMPARE(from_a, (*mix)->source_names()[src] == "a");
        if (step < 200) rows[src]++;
        else QCOMPARE((*mix)->source_names()[src], std::string("b"));
      }
    }
    // 1600 rows drawn 3:1: expect 1200 a (binomial sd ~17); allow 4 sd.
    QVERIFY2(std::abs(rows[0] - 1200) < 70, std::to_string(rows[0]).c_str());
    QVERIFY((*mix)->finished());
    QCOMPARE((*mix)->next_batch(buf.data()).status().code(), StatusCode::kOutOfRange);
    QCOMPARE((*mix)->source_tokens_consumed()[0] + (*mix)->source_tokens_consumed()[1], uint64_t(250 * 8 * 16));

    // Resume at step 150 reproduces the rest, including the stage switch.
    auto resumed = MixtureSampler::open(stages, opts);
    QVERIFY((*resumed)->restore(Json::parse(cursor_at_150.dump())).is_ok());
    QCOMPARE((*resumed)->global_step(), uint64_t(150));
    for (const auto& want : after_150) {
      QVERIFY((*resumed)->next_batch(buf.data()).is_ok());
      QVERIFY(buf == want);
    }
    // Two ranks together see the one-rank batches.
    auto one = MixtureSampler::open(stages, opts);
    auto r0 = MixtureSampler::open(stages, {.seq_len = 16, .batch_size = 4, .seed = 11, .rank = 0, .world_size = 2});
    auto r1 = MixtureSampler::open(stages, {.seq_len = 16, .batch_size = 4, .seed = 11, .rank = 1, .world_size = 2});
    std::vector<int32_t> h0(4 * 17), h1(4 * 17);
    for (int step = 0; step < 5; ++step) {
      QVERIFY((*one)->next_batch(buf.data()).is_ok());
      QVERIFY((*r0)->next_batch(h0.data()).is_ok());
      QVERIFY((*r1)->next_batch(h1.data()).is_ok());
      QVERIFY(std::equal(h0.begin(), h0.end(), buf.begin()));
      QVERIFY(std::equal(h1.begin(), h1.end(), buf.begin() + 4 * 17));
    }
    // A cursor taken with another global batch is refused.
    auto other = MixtureSampler::open(stages, {.seq_len = 16, .batch_size = 2, .seed = 11});
    Status s = (*other)->restore(cursor_at_150);
    QVERIFY2(!s.is_ok() && contains(s.message(), "'global_batch'"), s.message().c_str());
  }

  void mixtureRefusesMismatchedTokenizers() {
    const fs::path a = root() / "tok-a", b = root() / "tok-b";
    QVERIFY(shards::test::write_synthetic_pack(a, shards::test::synthetic_docs(50, 9), "a", 1 << 20, 0, "fp-one").is_ok());
    QVERIFY(shards::test::write_synthetic_pack(b, shards::test::synthetic_docs(50, 9), "b", 1 << 20, 0, "fp-two").is_ok());
    std::vector<StageSpec> stages = {{"s", 1000, {{"a", a, 1.0}, {"b", b, 1.0}}}};
    auto mix = MixtureSampler::open(stages, {.seq_len = 8, .batch_size = 2});
    QVERIFY(!mix.is_ok());
    const std::string& msg = mix.status().message();
    QVERIFY2(contains(msg, "fp-one") && contains(msg, "fp-two") && contains(msg, "'a'") && contains(msg, "'b'"),
             msg.c_str());
    auto plan = plan_mixture(stages);
    QVERIFY(!plan.is_ok() && contains(plan.status().message(), "fp-two"));
    // A missing folder names the stage and source.
    stages = {{"s", 1000, {{"gone", root() / "nope", 1.0}}}};
    mix = MixtureSampler::open(stages, {.seq_len = 8, .batch_size = 2});
    QVERIFY2(!mix.is_ok() && contains(mix.status().message(), "gone"), mix.status().message().c_str());
  }

  void recipeErrorsNameTheField() {
    auto parse = [](const char* text) {
      return parse_stages(Json::parse(text)["stages"], "recipe.json", {.base_dir = "/data"});
    };
    auto ok = parse(R"({"stages": [{"name": "s1", "token_budget": "2.5M", "sources": [{"name": "ko", "path": "packs/ko", "weight": 0.3}]},
                                   {"name": "s2", "token_budget": 1000, "sources": [{"name": "ko", "path": "/abs/ko", "weight": 2}]}]})");
    QVERIFY2(ok.is_ok(), ok.status().to_string().c_str());
    QCOMPARE((*ok)[0].token_budget, uint64_t(2500000));
    QCOMPARE((*ok)[0].sources[0].path.string(), std::string("/data/packs/ko"));
    QCOMPARE((*ok)[1].sources[0].path.string(), std::string("/abs/ko"));

    auto bad = parse(R"({"stages": [{"name": "s1", "token_budget": 10, "sources": [{"name": "a", "path": "a", "weight": 1}]},
                                    {"name": "s2", "token_budget": 10, "sources": [{"name": "b", "path": "b", "weight": -1}]}]})");
    QCOMPARE(bad.status().message(), std::string("recipe.json: field 'stages[1].sources[0].weight' must be > 0, got -1"));
    bad = parse(R"({"stages": [{"name": "s1", "sources": [{"name": "a", "path": "a", "weight": 1}]}]})");
    QVERIFY2(contains(bad.status().message(), "'stages[0].token_budget' is missing"), bad.status().message().c_str());
    bad = parse(R"({"stages": [{"name": "s1", "token_budget": "lots", "sources": [{"name": "a", "path": "a", "weight": 1}]}]})");
    QVERIFY2(contains(bad.status().message(), "'stages[0].token_budget'"), bad.status().message().c_str());
    bad = parse(R"({"stages": [{"name": "s1", "token_budget": 5, "sources": [{"name": "a", "path": "a", "wieght": 1}]}]})");
    QVERIFY2(contains(bad.status().message(), "'stages[0].sources[0].wieght' is not a known field"), bad.status().message().c_str());
    bad = parse(R"({"stages": [{"name": "s1", "token_budget": 5, "sources": []}]})");
    QVERIFY2(contains(bad.status().message(), "'stages[0].sources'"), bad.status().message().c_str());
    bad = parse(R"({"stages": []})");
    QVERIFY2(contains(bad.status().message(), "'stages'"), bad.status().message().c_str());
    QCOMPARE(*parse_token_count("10B"), uint64_t(10000000000ull));
    QVERIFY(!parse_token_count("-5").is_ok());
  }

  void planCountsEpochs() {
    const fs::path a = root() / "plan-a";
    auto m = shards::test::write_synthetic_pack(a, shards::test::synthetic_docs(100, 10), "a");
    QVERIFY(m.is_ok());
    const uint64_t avail = m->train_tokens;
    std::vector<StageSpec> stages = {{"s1", avail * 2, {{"a", a, 1.0}}}, {"s2", avail / 2, {{"a", a, 1.0}}}};
    auto plan = plan_mixture(stages);
    QVERIFY2(plan.is_ok(), plan.status().to_string().c_str());
    QCOMPARE((*plan)[0].sources[0].available_tokens, avail);
    QVERIFY(std::abs((*plan)[0].sources[0].epochs - 2.0) < 1e-9);
    QVERIFY(std::abs((*plan)[1].sources[0].cumulative_epochs - 2.5) < 0.01);
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestShardsFormat)
#include "test_shards_format.moc"
