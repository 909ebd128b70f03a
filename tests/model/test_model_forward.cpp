// The forward pass against an independent PyTorch reference (reference_llama.py), padded vs
// unpadded rows, cached vs uncached decoding, bf16 vs fp32, and load errors that name the tensor.
#include <torch/torch.h>

#include <QProcess>
#include <QtTest>

#include <filesystem>
#include <fstream>

#include "base/json.h"
#include "model/checkpoint.h"
#include "model/generate.h"
#include "model/llama.h"
#include "model/presets.h"
#include "safetensors/safetensors.h"
#include "test_support.h"

using namespace kanana;
using namespace kanana::model;
namespace fs = std::filesystem;

namespace {

// GQA (4 q / 2 kv), head_dim 24 != 64 / 4, tied embeddings, llama3 rope scaling; weights
// larger than the default init so logits are far from uniform.
LlamaConfig reference_config() {
  LlamaConfig c = *preset_config("debug");
  c.rope_theta = 500000.0;
  c.rope_scaling = RopeScaling{};
  c.rope_scaling->rope_type = "llama3";
  c.rope_scaling->factor = 8.0;
  c.rope_scaling->low_freq_factor = 1.0;
  c.rope_scaling->high_freq_factor = 4.0;
  c.rope_scaling->original_max_position_embeddings = 64;
  c.initializer_range = 0.08;
  return c;
}

std::vector<std::vector<int64_t>> kRows = {{5, 17, 300, 42, 7, 99, 511, 3, 250}, {0, 0, 0, 0, 11, 12, 13, 14, 400}};
std::vector<std::vector<int64_t>> kMask = {{1, 1, 1, 1, 1, 1, 1, 1, 1}, {0, 0, 0, 0, 1, 1, 1, 1, 1}};

torch::Tensor to_tensor(const std::vector<std::vector<int64_t>>& rows) {
  std::vector<int64_t> flat;
  for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
  return torch::tensor(flat, torch::kInt64).view({static_cast<int64_t>(rows.size()), -1});
}

}  // namespace

class TestModelForward : public QObject {
  Q_OBJECT
 private:
  QTemporaryDir tmp_;
  std::string dir_;

 private Q_SLOTS:
  void initTestCase() {
    torch::set_num_threads(2);
    dir_ = tmp_.path().toStdString() + "/ref";
    auto m = init_model(reference_config(), /*seed=*/1234);
    QVERIFY2(m.is_ok(), m.status().message().c_str());
    auto st = save_model(dir_, *m);
    QVERIFY2(st.is_ok(), st.message().c_str());
  }

  void savedLayoutIsHuggingFace() {
    QVERIFY(fs::exists(dir_ + "/config.json"));
    QVERIFY(fs::exists(dir_ + "/generation_config.json"));
    auto reader = st::CheckpointReader::open(dir_);
    QVERIFY2(reader.is_ok(), reader.status().message().c_str());
    QVERIFY((*reader)->has("model.embed_tokens.weight"));
    QVERIFY(!(*reader)->has("lm_head.weight"));  // tied
    QCOMPARE((*reader)->names().size(), expected_tensors(reference_config()).size());
  }

  // The same weights under each rope_scaling kind Kanana configs use (llama3 for Kanana 1,
  // yarn for Kanana 1.5 long context) and dynamic NTK, against the Python reference.
  void logitsMatchPythonReference_data() {
    QTest::addColumn<QString>("rope");
    QTest::newRow("llama3") << "llama3";
    QTest::newRow("yarn") << "yarn";
    QTest::newRow("yarn-original-max") << "yarn-original-max";
    QTest::newRow("dynamic") << "dynamic";
  }
  void logitsMatchPythonReference() {
    QFETCH(QString, rope);
    const QString python = "/usr/bin/python3";
    QProcess probe;
    probe.start(python, {"-c", "import torch"});
    if (!probe.waitForFinished(60000) || probe.exitCode() != 0) {
      QSKIP("/usr/bin/python3 with torch (Debian python3-torch) is not installed");
    }
    LlamaConfig config = reference_config();
    if (rope != "llama3") {
      config.rope_theta = 10000.0;
      config.rope_scaling = RopeScaling{};
    }
    if (rope == "yarn") {
      config.rope_scaling->rope_type = "yarn";
      config.rope_scaling->factor = 4.0;  // attention scale 0.1·ln 4 + 1
      config.max_position_embeddings = 8;
    } else if (rope == "yarn-original-max") {
      config.rope_scaling->rope_type = "yarn";
      config.rope_scaling->factor = 2.0;  // ignored: HF uses max_position / original
      config.rope_scaling->original_max_position_embeddings = 4;
      config.rope_scaling->beta_fast = 8.0;
      config.max_position_embeddings = 32;
    } else if (rope == "dynamic") {
      config.rope_scaling->rope_type = "dynamic";
      config.rope_scaling->factor = 2.0;
      config.max_position_embeddings = 4;  // the 9-token rows exceed it: the base grows
    }
    const std::string dir = tmp_.path().toStdString() + "/ref-" + rope.toStdString();
    if (rope != "llama3") {
      auto m = init_model(config, /*seed=*/1234);
      QVERIFY2(m.is_ok(), m.status().message().c_str());
      QVERIFY(save_model(dir, *m).is_ok());
    }
    const std::string model_dir = rope == "llama3" ? dir_ : dir;
    Json spec;
    spec["input_ids"] = kRows;
    spec["attention_mask"] = kMask;
    const std::string ids_path = tmp_.path().toStdString() + "/ids.json";
    const std::string out_path = tmp_.path().toStdString() + "/ref_logits-" + rope.toStdString() + ".bin";
    QVERIFY(write_json_file(ids_path, spec).is_ok());
    QProcess p;
    p.start(python, {kanana::test::source_dir() + "/tests/model/reference_llama.py", QString::fromStdString(model_dir),
                     QString::fromStdString(ids_path), QString::fromStdString(out_path)});
    QVERIFY(p.waitForFinished(120000));
    QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());

    auto loaded = load_model(model_dir, LoadOptions{torch::kFloat32});
    QVERIFY2(loaded.is_ok(), loaded.status().message().c_str());
    QCOMPARE(QString::fromStdString(loaded->model->config().rope_scaling->rope_type), rope.section('-', 0, 0));
    auto& model = loaded->model;
    torch::NoGradGuard ng;
    ForwardOptions fo;
    fo.attention_mask = to_tensor(kMask);
    auto logits = model->forward(to_tensor(kRows), fo).logits;  // (2, 9, 512)

    std::ifstream in(out_path, std::ios::binary);
    std::vector<float> ref(logits.numel());
    in.read(reinterpret_cast<char*>(ref.data()), static_cast<std::streamsize>(ref.size() * sizeof(float)));
    QVERIFY(in.good());
    auto expected = torch::from_blob(ref.data(), logits.sizes(), torch::kFloat32).clone();
    auto real = to_tensor(kMask).to(torch::kBool);  // compare real positions only
    auto diff = (logits - expected).abs().amax(-1).masked_select(real);
    const double max_diff = diff.max().item<double>();
    const double spread = expected.std().item<double>();
    qInfo("%s: max |logit - reference| = %.3g (logit std %.3g)", qPrintable(rope), max_diff, spread);
    QVERIFY2(spread > 0.3, "random weights give near-constant logits; the comparison would be weak");
    QVERIFY(max_diff < 1e-4);
  }

  void leftPaddingEqualsUnpadded() {
    auto loaded = load_model(dir_, LoadOptions{torch::kFloat32});
    QVERIFY(loaded.is_ok());
    torch::NoGradGuard ng;
    ForwardOptions fo;
    fo.attention_mask = to_tensor(kMask);
    auto batched = loaded->model->forward(to_tensor(kRows), fo).logits;
    auto alone = loaded->model->forward(to_tensor({{11, 12, 13, 14, 400}})).logits;  // (1, 5, vocab)
    const double d = (batched[1].narrow(0, 4, 5) - alone[0]).abs().max().item<double>();
    QVERIFY2(d < 1e-5, std::to_string(d).c_str());
    const double first = (batched[0] - loaded->model->forward(to_tensor({kRows[0]})).logits[0]).abs().max().item<double>();
    QVERIFY(first < 1e-5);
  }

  void cachedDecodingEqualsUncached() {
    auto loaded = load_model(dir_, LoadOptions{torch::kFloat32});
    QVERIFY(loaded.is_ok());
    auto& model = loaded->model;
    GenerationOptions go;
    go.greedy = true;
    go.max_new_tokens = 24;
    go.stop_at_eos = false;
    std::vector<std::vector<int32_t>> prompts = {{5, 17, 300, 42}, {9, 8, 7, 6, 5, 4, 3}};
    auto cached = generate(model, prompts, go);
    go.use_cache = false;
    auto uncached = generate(model, prompts, go);
    QVERIFY2(cached.is_ok(), cached.status().message().c_str());
    QVERIFY2(uncached.is_ok(), uncached.status().message().c_str());
    QCOMPARE(cached->sequences.size(), size_t(2));
    for (size_t i = 0; i < 2; ++i) {
      QCOMPARE(cached->sequences[i].tokens.size(), size_t(24));
      QCOMPARE(cached->sequences[i].tokens, uncached->sequences[i].tokens);
    }
    // Batched generation equals each prompt alone (left padding does not change the result).
    go.use_cache = true;
    auto alone = generate(model, {prompts[0]}, go);
    QVERIFY(alone.is_ok());
    QCOMPARE(alone->sequences[0].tokens, cached->sequences[0].tokens);
    // Step-by-step logits with the cache equal the full forward.
    torch::NoGradGuard ng;
    std::vector<int64_t> all(prompts[1].begin(), prompts[1].end());
    for (int32_t t : cached->sequences[1].tokens) all.push_back(t);
    auto full = model->forward(torch::tensor(all).view({1, -1})).logits;  // (1, n, vocab)
    KVCache cache(model->config(), 1, 64, torch::kFloat32, torch::kCPU);
    ForwardOptions fo;
    fo.cache = &cache;
    auto pre = model->forward(torch::tensor(all).view({1, -1}).narrow(1, 0, 7), fo).logits;
    double d = (pre[0] - full[0].narrow(0, 0, 7)).abs().max().item<double>();
    for (size_t i = 7; i < all.size(); ++i) {
      auto step = model->forward(torch::tensor({all[i]}).view({1, 1}), fo).logits;
      d = std::max(d, (step[0][0] - full[0][i]).abs().max().item<double>());
    }
    QVERIFY2(d < 1e-4, std::to_string(d).c_str());
  }

  void bf16IsCloseToFp32() {
    auto f32 = load_model(dir_, LoadOptions{torch::kFloat32});
    auto bf16 = load_model(dir_, LoadOptions{torch::kBFloat16});
    QVERIFY(f32.is_ok() && bf16.is_ok());
    QCOMPARE(bf16->model->dtype(), torch::kBFloat16);
    torch::NoGradGuard ng;
    ForwardOptions fo;
    fo.attention_mask = to_tensor(kMask);
    auto a = f32->model->forward(to_tensor(kRows), fo).logits;
    auto b = bf16->model->forward(to_tensor(kRows), fo).logits.to(torch::kFloat32);
    QCOMPARE(b.sizes(), a.sizes());
    auto real = to_tensor(kMask).to(torch::kBool).unsqueeze(-1).expand_as(a);
    const double err = (a - b).abs().masked_select(real).max().item<double>();
    const double scale = a.abs().max().item<double>();
    qInfo("bf16 max abs error %.3g, max |logit| %.3g", err, scale);
    QVERIFY(err < 0.05 * scale);
    // Same top token at most positions.
    auto agree = (a.argmax(-1) == b.argmax(-1)).masked_select(to_tensor(kMask).to(torch::kBool));
    QVERIFY(agree.to(torch::kFloat32).mean().item<double>() >= 0.8);
  }

  void loadErrorsNameTensorAndField() {
    const std::string base = tmp_.path().toStdString();
    // Missing tensor.
    {
      auto reader = st::CheckpointReader::open(dir_).value();
      std::vector<std::pair<std::string, at::Tensor>> tensors;
      for (const auto& n : reader->names()) {
        if (n != "model.layers.1.mlp.up_proj.weight") tensors.push_back({n, *reader->tensor(n)});
      }
      const std::string d = base + "/missing";
      QVERIFY(st::save_checkpoint(d, tensors).is_ok());
      fs::copy_file(dir_ + "/config.json", d + "/config.json");
      auto r = load_model(d);
      QVERIFY(!r.is_ok());
      QVERIFY2(r.status().message().find("'model.layers.1.mlp.up_proj.weight' is missing") != std::string::npos,
               r.status().message().c_str());
    }
    // Wrong shape: config.json says a different intermediate size.
    {
      const std::string d = base + "/shape";
      fs::create_directories(d);
      fs::copy_file(dir_ + "/model.safetensors", d + "/model.safetensors");
      auto j = *read_json_file(dir_ + "/config.json");
      j["intermediate_size"] = 128;
      QVERIFY(write_json_file(d + "/config.json", j).is_ok());
      auto r = load_model(d);
      QVERIFY(!r.is_ok());
      const std::string& m = r.status().message();
      QVERIFY2(m.find("'model.layers.0.mlp.gate_proj.weight'") != std::string::npos &&
                   m.find("[160, 64]") != std::string::npos && m.find("[128, 64]") != std::string::npos,
               m.c_str());
    }
    // Untied config without lm_head in the file.
    {
      const std::string d = base + "/untied";
      fs::create_directories(d);
      fs::copy_file(dir_ + "/model.safetensors", d + "/model.safetensors");
      auto j = *read_json_file(dir_ + "/config.json");
      j["tie_word_embeddings"] = false;
      QVERIFY(write_json_file(d + "/config.json", j).is_ok());
      auto r = load_model(d);
      QVERIFY(!r.is_ok());
      QVERIFY2(r.status().message().find("'lm_head.weight' is missing") != std::string::npos,
               r.status().message().c_str());
    }
    // Bad config field.
    {
      const std::string d = base + "/badfield";
      fs::create_directories(d);
      fs::copy_file(dir_ + "/model.safetensors", d + "/model.safetensors");
      auto j = *read_json_file(dir_ + "/config.json");
      j["num_key_value_heads"] = 3;
      QVERIFY(write_json_file(d + "/config.json", j).is_ok());
      auto r = load_model(d);
      QVERIFY(!r.is_ok());
      QVERIFY2(r.status().message().find("config.json") != std::string::npos &&
                   r.status().message().find("num_key_value_heads") != std::string::npos,
               r.status().message().c_str());
    }
    // Unexpected tensor: error by default, warning when allowed; inv_freq buffers are ignored.
    {
      auto reader = st::CheckpointReader::open(dir_).value();
      std::vector<std::pair<std::string, at::Tensor>> tensors;
      for (const auto& n : reader->names()) tensors.push_back({n, *reader->tensor(n)});
      tensors.push_back({"model.layers.0.self_attn.rotary_emb.inv_freq", torch::ones({12})});
      tensors.push_back({"model.extra.weight", torch::ones({3})});
      const std::string d = base + "/extra";
      QVERIFY(st::save_checkpoint(d, tensors).is_ok());
      fs::copy_file(dir_ + "/config.json", d + "/config.json");
      auto r = load_model(d);
      QVERIFY(!r.is_ok());
      QVERIFY2(r.status().message().find("'model.extra.weight'") != std::string::npos, r.status().message().c_str());
      LoadOptions lo;
      lo.allow_unexpected = true;
      auto ok = load_model(d, lo);
      QVERIFY2(ok.is_ok(), ok.status().message().c_str());
      QCOMPARE(ok->warnings.size(), size_t(1));
    }
  }

  void savedBf16ReloadsAndSharded() {
    auto m = load_model(dir_, LoadOptions{torch::kFloat32});
    QVERIFY(m.is_ok());
    const std::string d = tmp_.path().toStdString() + "/bf16_sharded";
    SaveModelOptions so;
    so.dtype = torch::kBFloat16;
    so.max_shard_bytes = 40000;
    QVERIFY(save_model(d, m->model, so).is_ok());
    QVERIFY(fs::exists(d + "/model.safetensors.index.json"));
    auto cfg = read_llama_config(d);
    QCOMPARE(cfg->torch_dtype, std::string("bfloat16"));
    auto back = load_model(d);  // dtype from config.json
    QVERIFY2(back.is_ok(), back.status().message().c_str());
    QCOMPARE(back->model->dtype(), torch::kBFloat16);
    auto a = m->model->model->embed_tokens->weight.to(torch::kBFloat16);
    QVERIFY(torch::equal(a, back->model->model->embed_tokens->weight));
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestModelForward)
#include "test_model_forward.moc"
