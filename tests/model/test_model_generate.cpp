// Sampling (penalty, temperature, top-k/p, min-p) on fixed logits, seed determinism, stop
// tokens, N samples per prompt and streaming/cancellation of generate() with ids only.
#include <torch/torch.h>

#include <QtTest>

#include <cmath>

#include "model/generate.h"
#include "model/llama.h"
#include "model/presets.h"
#include "model/sampler.h"

using namespace kanana;
using namespace kanana::model;

namespace {
// Probabilities after softmax: roughly 0.643, 0.237, 0.087, 0.032, 0.0005 ...
torch::Tensor fixed_logits() { return torch::tensor({4.0f, 3.0f, 2.0f, 1.0f, -3.0f, -2.0f}); }
std::vector<int64_t> kept(const torch::Tensor& processed) {
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < processed.size(0); ++i) {
    if (std::isfinite(processed[i].item<float>())) ids.push_back(i);
  }
  return ids;
}
}  // namespace

class TestModelGenerate : public QObject {
  Q_OBJECT
 private:
  LlamaForCausalLM model_{nullptr};

 private Q_SLOTS:
  void initTestCase() {
    torch::set_num_threads(2);
    LlamaConfig c = *preset_config("debug");
    c.initializer_range = 0.1;
    c.eos_token_ids = {2};
    auto m = init_model(c, 7);
    QVERIFY(m.is_ok());
    model_ = *m;
  }

  void topKTopPMinP() {
    SamplingOptions o;
    o.top_k = 2;
    QCOMPARE(kept(process_logits(fixed_logits(), o, {})), (std::vector<int64_t>{0, 1}));
    o = {};
    o.top_p = 0.8;  // 0.643 < 0.8, 0.643 + 0.237 >= 0.8 -> two tokens
    QCOMPARE(kept(process_logits(fixed_logits(), o, {})), (std::vector<int64_t>{0, 1}));
    o.top_p = 0.5;  // the top token alone reaches it
    QCOMPARE(kept(process_logits(fixed_logits(), o, {})), (std::vector<int64_t>{0}));
    o.top_p = 0.97;  // 0.642 + 0.236 + 0.087 = 0.965 < 0.97: the fourth token is still needed
    QCOMPARE(kept(process_logits(fixed_logits(), o, {})), (std::vector<int64_t>{0, 1, 2, 3}));
    o = {};
    o.min_p = 0.1;  // keep p >= 0.0643: tokens 0, 1, 2
    QCOMPARE(kept(process_logits(fixed_logits(), o, {})), (std::vector<int64_t>{0, 1, 2}));
    o = {};
    o.temperature = 0.5;
    auto t = process_logits(fixed_logits(), o, {});
    QCOMPARE(t[1].item<float>(), 6.0f);
    // Combined: top-k first, then nucleus on what is left.
    o = {};
    o.top_k = 3;
    o.top_p = 0.99;
    QCOMPARE(kept(process_logits(fixed_logits(), o, {})), (std::vector<int64_t>{0, 1, 2}));
  }

  void repetitionPenaltyLikeHuggingFace() {
    SamplingOptions o;
    o.repetition_penalty = 2.0;
    auto p = process_logits(fixed_logits(), o, {1, 4, 1});
    QCOMPARE(p[0].item<float>(), 4.0f);   // not seen
    QCOMPARE(p[1].item<float>(), 1.5f);   // positive: divided
    QCOMPARE(p[4].item<float>(), -6.0f);  // negative: multiplied
    o.greedy = true;
    Sampler s(o, 0);
    QCOMPARE(s.sample(fixed_logits(), {0}), 1);  // 4/2 = 2 < 3
  }

  void samplingIsSeededAndFollowsTheDistribution() {
    SamplingOptions o;
    Sampler a(o, 42), b(o, 42), c(o, 43);
    std::vector<int32_t> sa, sb, sc;
    std::vector<int> counts(6, 0);
    for (int i = 0; i < 2000; ++i) {
      sa.push_back(a.sample(fixed_logits(), {}));
      sb.push_back(b.sample(fixed_logits(), {}));
      sc.push_back(c.sample(fixed_logits(), {}));
      counts[sa.back()]++;
    }
    QCOMPARE(sa, sb);
    QVERIFY(sa != sc);
    QVERIFY(std::abs(counts[0] / 2000.0 - 0.643) < 0.05);
    QVERIFY(std::abs(counts[1] / 2000.0 - 0.237) < 0.05);
    o.top_k = 1;
    Sampler k(o, 1);
    for (int i = 0; i < 20; ++i) QCOMPARE(k.sample(fixed_logits(), {}), 0);
  }

  void stopTokensEndRows() {
    GenerationOptions go;
    go.greedy = true;
    go.max_new_tokens = 12;
    go.stop_at_eos = false;
    auto free_run = generate(model_, {{10, 20, 30}}, go);
    QVERIFY(free_run.is_ok());
    const auto& toks = free_run->sequences[0].tokens;
    QCOMPARE(toks.size(), size_t(12));
    QCOMPARE(free_run->sequences[0].stop_reason, std::string("length"));
    // Stop on the token generated at step 4: output is what came before its first occurrence.
    const int32_t stop = toks[4];
    const size_t first = std::find(toks.begin(), toks.end(), stop) - toks.begin();
    go.stop_token_ids = {stop};
    auto stopped = generate(model_, {{10, 20, 30}}, go);
    QVERIFY(stopped.is_ok());
    QCOMPARE(stopped->sequences[0].stop_reason, std::string("stop_token"));
    QCOMPARE(stopped->sequences[0].tokens, std::vector<int32_t>(toks.begin(), toks.begin() + first));
  }

  void samplesPerPromptAreSeededAndIndependent() {
    GenerationOptions go;
    go.temperature = 1.0;
    go.top_k = 50;
    go.max_new_tokens = 10;
    go.num_samples = 3;
    go.seed = 99;
    go.stop_at_eos = false;
    std::vector<std::vector<int32_t>> prompts = {{1, 2, 3}, {4, 5}};
    auto a = generate(model_, prompts, go);
    auto b = generate(model_, prompts, go);
    QVERIFY(a.is_ok() && b.is_ok());
    QCOMPARE(a->sequences.size(), size_t(6));
    for (size_t i = 0; i < 6; ++i) {
      QCOMPARE(a->sequences[i].prompt_index, int64_t(i / 3));
      QCOMPARE(a->sequences[i].sample_index, int64_t(i % 3));
      QCOMPARE(a->sequences[i].tokens, b->sequences[i].tokens);
    }
    QVERIFY(a->sequences[0].tokens != a->sequences[1].tokens || a->sequences[1].tokens != a->sequences[2].tokens);
    go.seed = 100;
    auto c = generate(model_, prompts, go);
    QVERIFY(c->sequences[0].tokens != a->sequences[0].tokens || c->sequences[1].tokens != a->sequences[1].tokens);
  }

  void streamingCallbackAndCancel() {
    GenerationOptions go;
    go.greedy = true;
    go.max_new_tokens = 10;
    go.stop_at_eos = false;
    std::vector<int32_t> streamed;
    auto r = generate(model_, {{3, 4}}, go, nullptr, [&](const GeneratedToken& t) {
      streamed.push_back(t.id);
      return streamed.size() < 4;  // stop after four tokens
    });
    QVERIFY(r.is_ok());
    QCOMPARE(streamed.size(), size_t(4));
    QCOMPARE(r->sequences[0].tokens, streamed);
    QCOMPARE(r->sequences[0].stop_reason, std::string("callback"));
    CancelToken cancel;
    cancel.cancel();
    auto c = generate(model_, {{3, 4}}, go, nullptr, {}, &cancel);
    QVERIFY(c.is_ok());
    QCOMPARE(c->sequences[0].stop_reason, std::string("cancelled"));
    QVERIFY(c->sequences[0].tokens.empty());
  }

  void badInputsAreErrors() {
    GenerationOptions go;
    QVERIFY(!generate(model_, {{}}, go).is_ok());
    QVERIFY(!generate(model_, {{1, 100000}}, go).is_ok());
    go.stop_strings = {"\n"};
    QVERIFY(!generate(model_, {{1}}, go).is_ok());  // stop strings without a tokenizer
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestModelGenerate)
#include "test_model_generate.moc"
