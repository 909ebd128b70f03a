// config.json parsing/writing, presets and parameter counts, including the released
// kanana-nano-2.1b config.json text (reference/kanana-facts.md §1).
#include <torch/torch.h>

#include <QtTest>

#include "model/config.h"
#include "model/llama.h"
#include "model/presets.h"
#include "model/checkpoint.h"

using namespace kanana;
using namespace kanana::model;

namespace {
// kakaocorp/kanana-nano-2.1b-base config.json, with the fields transformers writes.
const char* kKananaNanoConfig = R"({
  "architectures": ["LlamaForCausalLM"],
  "attention_bias": false,
  "attention_dropout": 0.0,
  "bos_token_id": 128000,
  "eos_token_id": 128001,
  "head_dim": 128,
  "hidden_act": "silu",
  "hidden_size": 1792,
  "initializer_range": 0.02,
  "intermediate_size": 8064,
  "max_position_embeddings": 8192,
  "mlp_bias": false,
  "model_type": "llama",
  "num_attention_heads": 24,
  "num_hidden_layers": 32,
  "num_key_value_heads": 8,
  "pretraining_tp": 1,
  "rms_norm_eps": 1e-05,
  "rope_scaling": null,
  "rope_theta": 500000.0,
  "tie_word_embeddings": true,
  "torch_dtype": "bfloat16",
  "transformers_version": "4.45.0",
  "use_cache": true,
  "vocab_size": 128256
})";

std::string error_of(const std::string& text) {
  auto r = parse_llama_config_text(text, "config.json");
  return r.is_ok() ? std::string("<ok>") : r.status().message();
}
}  // namespace

class TestModelConfig : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void kananaNanoConfigParses() {
    auto c = parse_llama_config_text(kKananaNanoConfig);
    QVERIFY2(c.is_ok(), c.status().message().c_str());
    QCOMPARE(c->hidden_size, int64_t(1792));
    QCOMPARE(c->head_dim, int64_t(128));
    QCOMPARE(c->q_width(), int64_t(3072));
    QCOMPARE(c->kv_width(), int64_t(1024));
    QCOMPARE(c->kv_groups(), int64_t(3));
    QVERIFY(c->tie_word_embeddings);
    QVERIFY(!c->rope_scaling.has_value());
    QCOMPARE(c->rope_theta, 500000.0);
    QCOMPARE(c->eos_token_ids, std::vector<int64_t>{128001});
    QCOMPARE(*c->bos_token_id, int64_t(128000));
    QCOMPARE(c->torch_dtype, std::string("bfloat16"));
    QCOMPARE(parameter_count(*c), int64_t(2086979328));
    QCOMPARE(non_embedding_parameter_count(*c), int64_t(1857144576));
    // The preset is the same shape.
    auto p = preset_config("kanana-nano-2.1b");
    QVERIFY(p.is_ok());
    QCOMPARE(llama_config_to_json(*p).dump(), llama_config_to_json(*c).dump());
    // Shapes the loader will demand: q [3072,1792], o [1792,3072], no lm_head.
    auto expected = expected_tensors(*c);
    QCOMPARE(expected[1].first, std::string("model.layers.0.self_attn.q_proj.weight"));
    QCOMPARE(expected[1].second, (std::vector<int64_t>{3072, 1792}));
    QCOMPARE(expected[4].second, (std::vector<int64_t>{1792, 3072}));
    QCOMPARE(expected.back().first, std::string("model.norm.weight"));
    int64_t total = 0;
    for (const auto& [name, shape] : expected) {
      int64_t n = 1;
      for (int64_t d : shape) n *= d;
      total += n;
    }
    QCOMPARE(total, int64_t(2086979328));
  }

  void roundTripKeepsEveryField() {
    LlamaConfig c = *preset_config("debug");
    c.rope_scaling = RopeScaling{};
    c.rope_scaling->rope_type = "llama3";
    c.rope_scaling->factor = 8.0;
    c.rope_scaling->low_freq_factor = 1.0;
    c.rope_scaling->high_freq_factor = 4.0;
    c.rope_scaling->original_max_position_embeddings = 64;
    c.eos_token_ids = {2, 7};
    c.attention_bias = true;
    QTemporaryDir dir;
    const std::string path = dir.path().toStdString() + "/config.json";
    QVERIFY(write_llama_config(path, c).is_ok());
    auto back = read_llama_config(dir.path().toStdString());
    QVERIFY2(back.is_ok(), back.status().message().c_str());
    QCOMPARE(llama_config_to_json(*back).dump(), llama_config_to_json(c).dump());
    QCOMPARE(back->eos_token_ids, (std::vector<int64_t>{2, 7}));
    QCOMPARE(back->rope_scaling->rope_type, std::string("llama3"));
    QCOMPARE(*back->rope_scaling->original_max_position_embeddings, int64_t(64));
  }

  void ropeScalingAcceptsTypeAndRopeTypeKeys() {
    auto j = *parse_json(kKananaNanoConfig, "config.json");
    j["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
    auto a = parse_llama_config(j);
    QVERIFY2(a.is_ok(), a.status().message().c_str());
    QCOMPARE(a->rope_scaling->rope_type, std::string("linear"));
    j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 2048},
                         {"beta_fast", 32}, {"beta_slow", 1}};
    auto b = parse_llama_config(j);
    QVERIFY2(b.is_ok(), b.status().message().c_str());
    QCOMPARE(b->rope_scaling->rope_type, std::string("yarn"));
    j["eos_token_id"] = {128001, 128009};
    auto e = parse_llama_config(j);
    QVERIFY(e.is_ok());
    QCOMPARE(e->eos_token_ids, (std::vector<int64_t>{128001, 128009}));
    j["model_type"] = "kanana2vec";
    auto v = parse_llama_config(j);
    QVERIFY(v.is_ok());
    QVERIFY(v->bidirectional);
  }

  void inconsistentFieldsAreNamed() {
    auto j = *parse_json(kKananaNanoConfig, "config.json");
    auto with = [&](const char* key, Json value) {
      Json k = j;
      k[key] = value;
      return error_of(k.dump());
    };
    std::string m = with("num_key_value_heads", 7);
    QVERIFY2(m.find("config.json") != std::string::npos && m.find("num_attention_heads") != std::string::npos &&
                 m.find("num_key_value_heads") != std::string::npos, m.c_str());
    m = with("hidden_size", 0);
    QVERIFY2(m.find("'hidden_size'") != std::string::npos, m.c_str());
    m = with("hidden_act", "gelu");
    QVERIFY2(m.find("'hidden_act'") != std::string::npos && m.find("gelu") != std::string::npos, m.c_str());
    m = with("rope_scaling", Json{{"rope_type", "longrope"}, {"factor", 2.0}});
    QVERIFY2(m.find("rope_scaling.rope_type") != std::string::npos && m.find("longrope") != std::string::npos, m.c_str());
    m = with("rope_scaling", Json{{"rope_type", "llama3"}, {"factor", 8.0}});
    QVERIFY2(m.find("original_max_position_embeddings") != std::string::npos, m.c_str());
    m = with("vocab_size", "big");
    QVERIFY2(m.find("'vocab_size'") != std::string::npos, m.c_str());
    m = with("eos_token_id", 999999);
    QVERIFY2(m.find("eos_token_id") != std::string::npos, m.c_str());
    Json missing = j;
    missing.erase("hidden_size");
    m = error_of(missing.dump());
    QVERIFY2(m.find("'hidden_size'") != std::string::npos && m.find("missing") != std::string::npos, m.c_str());
  }

  void presetsMatchModuleParameters() {
    for (const auto& preset : model_presets()) {
      if (preset.name == "kanana-nano-2.1b" || preset.name == "small-100m") continue;  // too big to build here
      LlamaForCausalLM m(preset.config);
      int64_t n = 0;
      std::vector<std::string> names;
      for (const auto& p : m->named_parameters()) {
        n += p.value().numel();
        names.push_back(p.key());
      }
      QCOMPARE(n, parameter_count(preset.config));
      std::vector<std::string> expected;
      for (const auto& [name, shape] : expected_tensors(preset.config)) expected.push_back(name);
      std::sort(names.begin(), names.end());
      std::sort(expected.begin(), expected.end());
      QCOMPARE(names, expected);
    }
    auto small = preset_config("small-100m");
    QVERIFY(small.is_ok());
    QVERIFY(parameter_count(*small) > 90'000'000 && parameter_count(*small) < 110'000'000);
    auto tiny = preset_config("tiny");
    QVERIFY(parameter_count(*tiny) > 5'000'000 && parameter_count(*tiny) < 10'000'000);
    QVERIFY(!preset_config("huge").is_ok());
    QVERIFY(preset_config("huge").status().message().find("debug") != std::string::npos);
    // 2 * non-embedding-matmul params + lm_head, plus attention over the context.
    auto k = *preset_config("kanana-nano-2.1b");
    const double f = forward_flops_per_token(k, 0);
    QCOMPARE(f, 2.0 * (non_embedding_parameter_count(k) - 65 * 1792) + 2.0 * 1792 * 128256);
  }

  void namesEqualHuggingFace() {
    LlamaConfig c = *preset_config("debug");
    c.tie_word_embeddings = false;
    LlamaForCausalLM m(c);
    auto params = m->named_parameters();
    QVERIFY(params.contains("model.embed_tokens.weight"));
    QVERIFY(params.contains("model.layers.1.self_attn.q_proj.weight"));
    QVERIFY(params.contains("model.layers.0.mlp.down_proj.weight"));
    QVERIFY(params.contains("model.layers.0.post_attention_layernorm.weight"));
    QVERIFY(params.contains("model.norm.weight"));
    QVERIFY(params.contains("lm_head.weight"));
    QCOMPARE(params["model.layers.0.self_attn.q_proj.weight"].sizes().vec(), (std::vector<int64_t>{4 * 24, 64}));
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestModelConfig)
#include "test_model_config.moc"
