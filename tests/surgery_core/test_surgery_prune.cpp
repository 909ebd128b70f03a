// Model surgery core: pruning to the original shape is exact; parts made exactly zero on
// purpose (neurons, heads, channels, a whole layer) are found by the importance scores and
// removing them changes no logit; depth up-scaling with the identity layer map reproduces the
// model; importance aggregation equals a direct computation and is padding-invariant; bad
// targets and importance files of another model are refused before any work.
#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

#include "model/activation_capture.h"
#include "model/checkpoint.h"
#include "model/presets.h"
#include "surgery/importance_estimation.h"
#include "surgery/prune.h"
#include "surgery/upscale.h"
#include "tokenizer/tokenizer.h"

using namespace kanana;
using namespace kanana::surgery;
namespace fs = std::filesystem;

namespace {

// debug preset (hidden 64, ffn 160, 4q/2kv heads, head_dim 24 != 64/4, vocab 512) with 4 layers
// and weights large enough that removing a live part moves the logits visibly.
model::LlamaConfig test_config(bool tied = false) {
  auto c = *model::preset_config("debug");
  c.num_hidden_layers = 4;
  c.tie_word_embeddings = tied;
  c.initializer_range = 0.1;
  return c;
}

model::LlamaForCausalLM make_model(const model::LlamaConfig& c, uint64_t seed) {
  auto m = model::init_model(c, seed);
  if (!m) qFatal("%s", m.status().message().c_str());
  (*m)->eval();
  return *m;
}

torch::Tensor tokens(int64_t rows, int64_t len, int64_t vocab, uint64_t seed) {
  auto g = at::detail::createCPUGenerator(seed);
  return torch::randint(1, vocab, {rows, len}, g, torch::kInt64);
}

torch::Tensor logits(model::LlamaForCausalLM& m, const torch::Tensor& ids) {
  torch::NoGradGuard ng;
  return m->forward(ids).logits;
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

ImportanceScores score(model::LlamaForCausalLM& m, ImportanceOptions o = {}, int64_t rows = 8) {
  auto src = tensor_calibration(tokens(rows, 17, m->config().vocab_size, 99), "random tokens");
  o.batch_size = 3;  // several batches, the last one short: the sums must stream
  auto s = estimate_importance(m, *src, o);
  if (!s) qFatal("%s", s.status().message().c_str());
  return *s;
}

Result<PruneResult> prune_with(model::LlamaForCausalLM& m, const TargetShape& t, PruneOptions o = {}) {
  auto src = tensor_calibration(tokens(8, 17, m->config().vocab_size, 99), "random tokens");
  return prune_model(m, t, src.get(), o);
}

// A byte tokenizer (id = byte + 3, BOS 1): enough to drive the text calibration path.
class ByteTokenizer final : public tok::Tokenizer {
 public:
  std::vector<int32_t> encode(std::string_view text, const tok::EncodeOptions& o) const override {
    std::vector<int32_t> ids;
    if (o.add_bos) ids.push_back(1);
    for (unsigned char c : text) ids.push_back(int32_t(c % 200) + 3);
    return ids;
  }
  std::string decode(const std::vector<int32_t>&, bool) const override { return {}; }
  int32_t vocab_size() const override { return 512; }
  std::string id_to_piece(int32_t) const override { return {}; }
  std::optional<int32_t> piece_to_id(std::string_view) const override { return std::nullopt; }
  bool is_special(int32_t id) const override { return id < 3; }
  std::optional<int32_t> bos_id() const override { return 1; }
  std::optional<int32_t> eos_id() const override { return 2; }
  std::optional<int32_t> pad_id() const override { return 0; }
  std::string kind() const override { return "test-bytes"; }
  std::string fingerprint() const override { return "bytes"; }
};

// Records every MLP intermediate and head output of a forward pass (for the direct computation).
struct Recorder : model::ActivationObserver {
  std::map<int64_t, torch::Tensor> heads, neurons;
  void attention(int64_t layer, const torch::Tensor&, const torch::Tensor& h) override { heads[layer] = h.clone(); }
  void mlp(int64_t layer, const torch::Tensor&, const torch::Tensor& i) override { neurons[layer] = i.clone(); }
};

}  // namespace

class TestSurgeryPrune : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;

 private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(1); }

  void pruningToTheOriginalShapeIsExact() {
    for (bool tied : {false, true}) {
      auto c = test_config(tied);
      c.attention_bias = !tied;  // the bias paths too
      c.mlp_bias = !tied;
      auto m = make_model(c, 3);
      auto ids = tokens(2, 11, c.vocab_size, 5);
      auto before = logits(m, ids);
      // Every dimension named with the source's value: nothing to score, one identity step.
      TargetShape t;
      t.num_hidden_layers = c.num_hidden_layers;
      t.hidden_size = c.hidden_size;
      t.intermediate_size = c.intermediate_size;
      t.num_attention_heads = c.num_attention_heads;
      auto r = prune_model(m, t, nullptr, {});
      QVERIFY2(r.is_ok(), r.status().message().c_str());
      QVERIFY(torch::equal(logits(r->model, ids), before));
      auto copy = apply_plan(m, identity_plan(c));
      QVERIFY(copy.is_ok());
      QVERIFY(torch::equal(logits(*copy, ids), before));
    }
  }

  void zeroedNeuronsAreFoundAndRemovedWithoutChange() {
    auto c = test_config();
    auto m = make_model(c, 4);
    const std::vector<int64_t> dead = {3, 17, 40, 41, 99, 150};
    {
      torch::NoGradGuard ng;
      for (auto& layer : *m->model->layers) {
        // act(gate)·up is exactly 0 for these neurons.
        layer->as<model::LlamaDecoderLayer>()->mlp->up_proj->weight.index_fill_(0, torch::tensor(dead), 0.0);
      }
    }
    auto ids = tokens(2, 13, c.vocab_size, 6);
    auto before = logits(m, ids);
    auto s = score(m);
    for (const auto& layer : s.neurons)
      for (int64_t n : dead) QCOMPARE(layer[size_t(n)], 0.0);
    TargetShape t;
    t.intermediate_size = c.intermediate_size - int64_t(dead.size());
    auto r = prune_with(m, t);
    QVERIFY2(r.is_ok(), r.status().message().c_str());
    for (const auto& kept : r->plans[0].neurons)
      for (int64_t n : dead) QVERIFY(std::find(kept.begin(), kept.end(), n) == kept.end());
    QCOMPARE(r->steps[0].removed.neurons, 0.0);
    const double diff = max_diff(logits(r->model, ids), before);
    QVERIFY2(diff < 1e-5, std::to_string(diff).c_str());
    // Control: removing live neurons instead does move the logits.
    auto plan = identity_plan(c);
    plan.target.intermediate_size = t.intermediate_size.value();
    for (auto& n : plan.neurons) n.resize(size_t(*t.intermediate_size));
    auto live = apply_plan(m, plan);
    QVERIFY(live.is_ok());
    QVERIFY(max_diff(logits(*live, ids), before) > 1e-3);
  }

  void zeroedHeadsAreRemovedWithoutChangeAndPlansStayGqaAligned() {
    auto c = test_config();  // 4 q heads, 2 kv groups of 2
    auto m = make_model(c, 5);
    const int64_t hd = c.head_dim;
    // Head 1 (group 0) and head 2 (group 1) of every layer contribute nothing.
    {
      torch::NoGradGuard ng;
      for (auto& layer : *m->model->layers) {
        auto& o = layer->as<model::LlamaDecoderLayer>()->self_attn->o_proj->weight;  // (hidden, heads·head_dim)
        o.narrow(1, 1 * hd, hd).zero_();
        o.narrow(1, 2 * hd, hd).zero_();
      }
    }
    auto ids = tokens(2, 13, c.vocab_size, 7);
    auto before = logits(m, ids);
    auto plan = identity_plan(c);
    plan.target.num_attention_heads = 2;
    for (auto& h : plan.heads) h = {0, 3};
    QVERIFY2(plan.validate().is_ok(), plan.validate().message().c_str());
    auto r = apply_plan(m, plan);
    QVERIFY(r.is_ok());
    QCOMPARE((*r)->config().num_attention_heads, int64_t(2));
    QCOMPARE((*r)->config().num_key_value_heads, int64_t(2));
    const double diff = max_diff(logits(*r, ids), before);
    QVERIFY2(diff < 1e-5, std::to_string(diff).c_str());
    // Both kept heads from group 0 leaves group 1 without its query head: refused.
    for (auto& h : plan.heads) h = {0, 1};
    QVERIFY(!plan.validate().is_ok());
    QVERIFY(plan.validate().message().find("kv group") != std::string::npos);
    // From importance: one head per group is kept in every layer, every kv head stays.
    TargetShape t;
    t.heads_per_group = 1;
    auto pruned = prune_with(m, t);
    QVERIFY2(pruned.is_ok(), pruned.status().message().c_str());
    for (const auto& kept : pruned->plans[0].heads) {
      QCOMPARE(int(kept.size()), 2);
      QVERIFY(kept[0] < 2 && kept[1] >= 2);
    }
    QCOMPARE(pruned->model->model->layers[0]->as<model::LlamaDecoderLayer>()->self_attn->k_proj->weight.size(0),
             c.kv_width());
  }

  void zeroedChannelsAreFoundAndRemovedConsistently() {
    auto c = test_config(/*tied=*/true);
    c.rms_norm_eps = 1e-12;  // the norm statistic is then exactly a mean over channels
    auto m = make_model(c, 6);
    const std::vector<int64_t> dead = {5, 33};
    {
      torch::NoGradGuard ng;
      auto idx = torch::tensor(dead);
      m->model->embed_tokens->weight.index_fill_(1, idx, 0.0);  // the tied head too
      for (auto& layer : *m->model->layers) {
        auto* l = layer->as<model::LlamaDecoderLayer>();
        l->self_attn->o_proj->weight.index_fill_(0, idx, 0.0);  // nothing writes these residual channels
        l->mlp->down_proj->weight.index_fill_(0, idx, 0.0);
      }
    }
    auto ids = tokens(2, 13, c.vocab_size, 8);
    auto before = logits(m, ids);
    auto s = score(m);
    for (int64_t ch : dead) QCOMPARE(s.channels[size_t(ch)], 0.0);
    TargetShape t;
    t.hidden_size = c.hidden_size - 2;
    PruneOptions o;
    o.plan.rescale_norms = true;
    auto r = prune_with(m, t, o);
    QVERIFY2(r.is_ok(), r.status().message().c_str());
    QCOMPARE(r->plans[0].channels.size(), size_t(62));
    QCOMPARE(r->model->model->embed_tokens->weight.size(1), int64_t(62));
    QCOMPARE(r->model->model->layers[1]->as<model::LlamaDecoderLayer>()->mlp->down_proj->weight.size(0), int64_t(62));
    const double diff = max_diff(logits(r->model, ids), before);
    QVERIFY2(diff < 1e-4, std::to_string(diff).c_str());
    // Without rescaling, the RMS statistic is over 62 instead of 64 channels: visibly off.
    o.plan.rescale_norms = false;
    auto plain = prune_with(m, t, o);
    QVERIFY(plain.is_ok());
    QVERIFY(max_diff(logits(plain->model, ids), before) > 10 * diff);
  }

  void anIdentityLayerIsTheOneDepthPruningDrops() {
    auto c = test_config();
    auto m = make_model(c, 7);
    {
      torch::NoGradGuard ng;
      auto* l = m->model->layers[2]->as<model::LlamaDecoderLayer>();
      l->self_attn->o_proj->weight.zero_();
      l->mlp->down_proj->weight.zero_();
    }
    auto ids = tokens(2, 13, c.vocab_size, 9);
    auto before = logits(m, ids);
    auto s = score(m);
    QVERIFY(s.block_importance[2] < 1e-6);
    for (int l : {0, 1, 3}) QVERIFY(s.block_importance[size_t(l)] > 1e-3);
    QCOMPARE(s.layer_loss[2], s.base_loss);  // skipping an identity layer changes nothing at all
    TargetShape t;
    t.num_hidden_layers = 3;
    PruneOptions o;
    o.plan.depth_by_loss = false;
    auto r = prune_with(m, t, o);
    QVERIFY2(r.is_ok(), r.status().message().c_str());
    QCOMPARE(r->plans[0].layers, (std::vector<int64_t>{0, 1, 3}));
    QVERIFY(torch::equal(logits(r->model, ids), before));
  }

  void tyingAveragesTheEmbeddings() {
    auto c = test_config(/*tied=*/false);
    auto m = make_model(c, 8);
    TargetShape t;
    t.tie_word_embeddings = true;
    auto r = prune_model(m, t, nullptr, {});
    QVERIFY2(r.is_ok(), r.status().message().c_str());
    QVERIFY(r->model->config().tie_word_embeddings);
    QVERIFY(!r->model->lm_head);
    auto want = (m->model->embed_tokens->weight + m->lm_head->weight) * 0.5;
    QVERIFY(torch::allclose(r->model->model->embed_tokens->weight, want));
    const fs::path dir = fs::path(tmp_.path().toStdString()) / "tied";
    QVERIFY(model::save_model(dir, r->model).is_ok());
    auto loaded = model::load_model(dir);
    QVERIFY2(loaded.is_ok(), loaded.status().message().c_str());
    QVERIFY(loaded->config.tie_word_embeddings);
  }

  void iterativeScheduleRecomputesImportance() {
    auto c = test_config();
    auto m = make_model(c, 9);
    TargetShape t;
    t.num_hidden_layers = 2;
    t.hidden_size = 48;
    t.intermediate_size = 96;
    t.heads_per_group = 1;
    PruneOptions o;
    o.steps = 2;
    std::vector<std::string> lines;
    auto src = tensor_calibration(tokens(6, 17, c.vocab_size, 99), "random tokens");
    auto r = prune_model(m, t, src.get(), o, [&](const std::string& l) { lines.push_back(l); });
    QVERIFY2(r.is_ok(), r.status().message().c_str());
    QCOMPARE(int(r->steps.size()), 2);
    // Halfway: 3 layers, hidden 56, ffn 128; heads 2 -> 1.5 rounds to 2 per group.
    QCOMPARE(r->steps[0].config.num_hidden_layers, int64_t(3));
    QCOMPARE(r->steps[0].config.hidden_size, int64_t(56));
    QCOMPARE(r->steps[0].config.intermediate_size, int64_t(128));
    QCOMPARE(r->steps[1].scores.config.hidden_size, int64_t(56));  // step 2 scored the step-1 model
    QVERIFY(r->steps[1].scored);
    const auto& f = r->model->config();
    QCOMPARE(f.num_hidden_layers, int64_t(2));
    QCOMPARE(f.hidden_size, int64_t(48));
    QCOMPARE(f.intermediate_size, int64_t(96));
    QCOMPARE(f.num_attention_heads, int64_t(2));
    QCOMPARE(f.num_key_value_heads, int64_t(2));
    // The result is a valid Hugging Face checkpoint with a matching config.
    const fs::path dir = fs::path(tmp_.path().toStdString()) / "iterative";
    QVERIFY(model::save_model(dir, r->model).is_ok());
    auto loaded = model::load_model(dir);
    QVERIFY2(loaded.is_ok(), loaded.status().message().c_str());
    auto ids = tokens(1, 9, c.vocab_size, 10);
    QVERIFY(torch::equal(logits(loaded->model, ids), logits(r->model, ids)));
    QVERIFY(lines.size() >= 4);
  }

  void badTargetsAreRefusedBeforeAnyWork() {
    auto c = test_config();
    auto m = make_model(c, 10);
    auto expect = [&](TargetShape t, const char* words) {
      // No calibration data at all: an error must come from the target check, not later.
      auto r = prune_model(m, t, nullptr, {});
      QVERIFY(!r.is_ok());
      QCOMPARE(r.status().code(), StatusCode::kInvalidArgument);
      QVERIFY2(r.status().message().find(words) != std::string::npos, r.status().message().c_str());
    };
    TargetShape t;
    t.num_attention_heads = 3;  // 2 kv groups
    expect(t, "does not divide evenly");
    t = {};
    t.hidden_size = 65;
    expect(t, "more than the source's 64");
    t = {};
    t.heads_per_group = 3;
    expect(t, "more than the source's 2");
    t = {};
    t.intermediate_size = 0;
    expect(t, "removes every MLP neuron");
    t = {};
    t.num_hidden_layers = 0;
    expect(t, "removes every layer");
    t = {};
    t.num_attention_heads = 0;
    expect(t, "removes every query head");
    t = {};
    t.num_key_value_heads = 1;
    expect(t, "keeps every kv head");
    t = {};
    t.hidden_size = 32;  // valid, but needs scores
    expect(t, "calibration");
    auto tied = make_model(test_config(true), 1);
    TargetShape untie;
    untie.tie_word_embeddings = false;
    auto r = prune_model(tied, untie, nullptr, {});
    QVERIFY(!r.is_ok() && r.status().message().find("not untie") != std::string::npos);
    // JSON targets: unknown keys and duplicate names are errors naming the field.
    auto j = parse_target_shape(Json{{"hiden", 3}}, "t.json");
    QVERIFY(!j.is_ok() && j.status().message().find("hiden") != std::string::npos);
    j = parse_target_shape(Json{{"hidden", 3}, {"hidden_size", 4}}, "t.json");
    QVERIFY(!j.is_ok());
    j = parse_target_shape(Json{{"layers", 3}, {"heads_per_group", 1}}, "t.json");
    QVERIFY(j.is_ok() && *j->num_hidden_layers == 3 && *j->heads_per_group == 1);
  }

  void importanceFilesOfAnotherModelAreRefused() {
    auto c = test_config();
    auto a = make_model(c, 11);
    auto s = score(a);
    const fs::path file = fs::path(tmp_.path().toStdString()) / "a-importance.json";
    QVERIFY(write_importance(file, s).is_ok());
    auto back = read_importance(file);
    QVERIFY2(back.is_ok(), back.status().message().c_str());
    QCOMPARE(back->model, s.model);
    QCOMPARE(back->neurons[1][7], s.neurons[1][7]);
    QCOMPARE(back->layer_loss, s.layer_loss);
    QVERIFY(check_importance_matches(*back, model_fingerprint(a), c, "f").is_ok());

    // Same shape, other weights.
    auto b = make_model(c, 12);
    auto st = check_importance_matches(*back, model_fingerprint(b), c, "f");
    QVERIFY(!st.is_ok() && st.message().find("different weights") != std::string::npos);
    TargetShape t;
    t.intermediate_size = 100;
    PruneOptions o;
    o.initial_scores = &*back;
    auto r = prune_model(b, t, nullptr, o);
    QVERIFY(!r.is_ok() && r.status().message().find("different weights") != std::string::npos);
    // Another shape.
    auto c2 = c;
    c2.intermediate_size = 128;
    auto d = make_model(c2, 11);
    st = check_importance_matches(*back, model_fingerprint(d), c2, "f");
    QVERIFY(!st.is_ok() && st.message().find("another model") != std::string::npos);
    // The same weights in another dtype are the same model.
    auto bf = make_model(c, 11);
    bf->to(torch::kBFloat16);
    auto round = make_model(c, 11);
    {
      torch::NoGradGuard ng;
      for (auto& p : round->parameters()) p.copy_(p.to(torch::kBFloat16).to(torch::kFloat32));
    }
    QCOMPARE(model_fingerprint(bf), model_fingerprint(round));
    // Truncated or corrupt files name the field.
    Json j = importance_to_json(s);
    j["neurons"][2].erase(0);
    auto bad = importance_from_json(j, "x.json");
    QVERIFY(!bad.is_ok() && bad.status().message().find("neurons[2]") != std::string::npos);
    j = importance_to_json(s);
    j["format"] = "something";
    QVERIFY(!importance_from_json(j, "x.json").is_ok());
  }

  void aggregationEqualsADirectComputation() {
    auto c = test_config();
    auto m = make_model(c, 13);
    auto ids = tokens(7, 12, c.vocab_size, 14);  // 7 rows, batches of 3: 3 + 3 + 1
    Recorder rec;
    {
      torch::NoGradGuard ng;
      model::ActivationCapture cap(&rec);
      m->forward(ids.narrow(1, 0, 11));
    }
    struct Case {
      Aggregation batch, seq;
    };
    for (Case k : {Case{Aggregation::kL2, Aggregation::kMean}, Case{Aggregation::kMean, Aggregation::kL2},
                   Case{Aggregation::kMax, Aggregation::kSum}}) {
      ImportanceOptions o;
      o.batch = k.batch;
      o.sequence = k.seq;
      o.batch_size = 3;
      o.layer_loss = false;
      auto src = tensor_calibration(ids, "t");
      auto s = estimate_importance(m, *src, o);
      QVERIFY2(s.is_ok(), s.status().message().c_str());
      auto reduce = [&](const torch::Tensor& v /* (rows, seq, width) */) {
        auto d = v.to(torch::kFloat64);
        torch::Tensor per = k.seq == Aggregation::kMean ? d.mean(1) : k.seq == Aggregation::kSum ? d.sum(1)
                                                                                              : d.square().sum(1).sqrt();
        if (k.batch == Aggregation::kL2) return per.square().sum(0).sqrt();
        if (k.batch == Aggregation::kMean) return per.abs().mean(0);
        return per.abs().amax(0);
      };
      for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
        auto want_n = reduce(rec.neurons[l]);
        auto want_h = reduce(rec.heads[l].norm(2, -1));
        for (int64_t i : {0, 5, 77, 159}) {
          const double w = want_n[i].item<double>(), got = s->neurons[size_t(l)][size_t(i)];
          QVERIFY2(std::abs(got - w) <= 1e-5 * std::max(1.0, std::abs(w)), (std::to_string(got) + " vs " + std::to_string(w)).c_str());
        }
        for (int64_t h = 0; h < c.num_attention_heads; ++h) {
          const double w = want_h[h].item<double>(), got = s->heads[size_t(l)][size_t(h)];
          QVERIFY(std::abs(got - w) <= 1e-5 * std::max(1.0, std::abs(w)));
        }
      }
      QVERIFY(s->layer_loss.empty());
      QCOMPARE(s->samples, int64_t(7));
      QCOMPARE(s->tokens, int64_t(7 * 11));
    }
  }

  void textCalibrationIsPaddingInvariant() {
    auto c = test_config();
    auto m = make_model(c, 15);
    const fs::path file = fs::path(tmp_.path().toStdString()) / "cal.jsonl";
    {
      std::ofstream out(file);
      const char* docs[] = {"short", "a somewhat longer calibration document", "중간 길이의 한국어 문장입니다",
                            "x", "another line of text that will be truncated at the sequence length limit"};
      for (const char* d : docs) out << Json{{"text", d}}.dump() << "\n";
    }
    auto tok = std::make_shared<ByteTokenizer>();
    ImportanceOptions o;
    std::vector<ImportanceScores> runs;
    for (int64_t batch : {1, 4}) {
      auto src = open_text_calibration({file}, tok, /*samples=*/10, /*seq_len=*/40);
      QVERIFY2(src.is_ok(), src.status().message().c_str());
      o.batch_size = batch;
      auto s = estimate_importance(m, **src, o);
      QVERIFY2(s.is_ok(), s.status().message().c_str());
      runs.push_back(*s);
    }
    // "x" is one token after BOS... BOS + 1 byte = 2 tokens: kept; every document counts.
    QCOMPARE(runs[0].samples, int64_t(5));
    QCOMPARE(runs[0].tokens, runs[1].tokens);
    QVERIFY(std::abs(runs[0].base_loss - runs[1].base_loss) < 1e-5);
    for (size_t l = 0; l < 4; ++l) {
      for (size_t i = 0; i < 160; i += 13)
        QVERIFY(std::abs(runs[0].neurons[l][i] - runs[1].neurons[l][i]) < 1e-4 * std::max(1.0, runs[0].neurons[l][i]));
      QVERIFY(std::abs(runs[0].layer_loss[l] - runs[1].layer_loss[l]) < 1e-4);
      QVERIFY(std::abs(runs[0].block_importance[l] - runs[1].block_importance[l]) < 1e-5);
    }
    for (size_t i = 0; i < 64; ++i) QVERIFY(std::abs(runs[0].channels[i] - runs[1].channels[i]) < 1e-4 * std::max(1.0, runs[0].channels[i]));
    // A bad JSONL line is reported with file and line.
    {
      std::ofstream out(file, std::ios::app);
      out << "{\"txt\": 1}\n";
    }
    auto src = open_text_calibration({file}, tok, 10, 40);
    QVERIFY(src.is_ok());
    auto s = estimate_importance(m, **src, o);
    QVERIFY(!s.is_ok());
    QVERIFY2(s.status().message().find("cal.jsonl:6") != std::string::npos, s.status().message().c_str());
  }

  void upscalingWithTheIdentityMapReproducesTheModel() {
    const fs::path base = tmp_.path().toStdString();
    auto c = test_config(/*tied=*/false);
    auto m = make_model(c, 16);
    QVERIFY(model::save_model(base / "src", m).is_ok());
    { std::ofstream(base / "src" / "tokenizer.json") << "{}"; }
    auto ids = tokens(2, 10, c.vocab_size, 17);
    auto before = logits(m, ids);

    auto id = upscale_checkpoint(base / "src", base / "same", {0, 1, 2, 3});
    QVERIFY2(id.is_ok(), id.status().message().c_str());
    auto same = model::load_model(base / "same");
    QVERIFY2(same.is_ok(), same.status().message().c_str());
    QVERIFY(torch::equal(logits(same->model, ids), before));
    QVERIFY(fs::exists(base / "same" / "tokenizer.json"));

    auto map = solar_layer_map(4, 1);
    QVERIFY(map.is_ok());
    QCOMPARE(*map, (std::vector<int64_t>{0, 1, 2, 1, 2, 3}));
    auto up = upscale_checkpoint(base / "src", base / "deep", *map);
    QVERIFY2(up.is_ok(), up.status().message().c_str());
    auto deep = model::load_model(base / "deep");
    QVERIFY2(deep.is_ok(), deep.status().message().c_str());
    QCOMPARE(deep->config.num_hidden_layers, int64_t(6));
    for (size_t j = 0; j < map->size(); ++j) {
      auto* d = deep->model->model->layers[j]->as<model::LlamaDecoderLayer>();
      auto* s = m->model->layers[size_t((*map)[j])]->as<model::LlamaDecoderLayer>();
      QVERIFY(torch::equal(d->self_attn->q_proj->weight, s->self_attn->q_proj->weight));
      QVERIFY(torch::equal(d->mlp->down_proj->weight, s->mlp->down_proj->weight));
      QVERIFY(torch::equal(d->post_attention_layernorm->weight, s->post_attention_layernorm->weight));
    }
    QVERIFY(torch::equal(deep->model->lm_head->weight, m->lm_head->weight));

    // Layer maps: ranges, lists, errors.
    QCOMPARE(*parse_layer_map("0-2, 1-3", 4), (std::vector<int64_t>{0, 1, 2, 1, 2, 3}));
    QCOMPARE(format_layer_map({0, 1, 2, 1, 2, 3}), std::string("0-2,1-3"));
    QVERIFY(!parse_layer_map("0-4", 4).is_ok());
    QVERIFY(!parse_layer_map("3-1", 4).is_ok());
    QVERIFY(!parse_layer_map("a", 4).is_ok());
    QVERIFY(!parse_layer_map("", 4).is_ok());
    QVERIFY(!solar_layer_map(4, 4).is_ok());
    QVERIFY(!upscale_checkpoint(base / "src", base / "src", {0}).is_ok());
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestSurgeryPrune)
#include "test_surgery_prune.moc"
