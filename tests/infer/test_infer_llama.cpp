// The Torch-free CPU engine (infer/llama_engine.h) against the LibTorch model (core/model):
// logits of tiny random Llamas (GQA, explicit head_dim, tied and untied, llama3 rope scaling,
// biases) within fp32 tolerance and identical greedy tokens; chunked prefill == one pass ==
// token by token; the error of bf16/int8/q4 logits against f32; the sampler against
// model::Sampler; bad checkpoints refused with the tensor's name; engine checkpoints (save() /
// `kanana model quantize`) reload bit-identically in their format and are refused elsewhere. Then a byte-level model trained
// here for a few seconds on real bilingual text: held-out perplexity of int8 within +1% of f32
// and q4 within +5%, and the share of int8 greedy continuations equal to f32's (printed).
#include <torch/torch.h>

#include <QtTest>

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

#include <cmath>
#include <fstream>
#include <limits>

#include "infer/llama_engine.h"
#include "infer/sampling.h"
#include "infer/text_generation.h"
#include "model/generate.h"
#include "model/checkpoint.h"
#include "model/llama.h"
#include "model/presets.h"
#include "model/sampler.h"
#include "test_support.h"

using namespace kanana;
using namespace kanana::infer;
namespace fs = std::filesystem;

namespace {

model::LlamaConfig tiny_config(bool tied, bool llama3, bool bias) {
  model::LlamaConfig c = *model::preset_config("debug");
  c.hidden_size = 64;
  c.intermediate_size = 100;  // not a multiple of 32: padded rows in every format
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;  // GQA 4/2
  c.head_dim = 24;            // explicit, != hidden / heads
  c.vocab_size = 300;
  c.max_position_embeddings = 128;
  c.rope_theta = 500000.0;
  c.initializer_range = 0.08;
  c.tie_word_embeddings = tied;
  c.attention_bias = bias;
  c.mlp_bias = bias;
  c.eos_token_ids = {2};
  if (llama3) {
    model::RopeScaling s;
    s.rope_type = "llama3";
    s.factor = 8.0;
    s.low_freq_factor = 1.0;
    s.high_freq_factor = 4.0;
    s.original_max_position_embeddings = 16;  // small, so the blended band is exercised
    c.rope_scaling = s;
  }
  return c;
}

// Random model saved as an fp32 checkpoint; biases and norms randomised too (init sets 0 / 1).
model::LlamaForCausalLM save_random(const model::LlamaConfig& c, const fs::path& dir, uint64_t seed) {
  auto m = model::init_model(c, seed);
  if (!m.is_ok()) qFatal("%s", m.status().message().c_str());
  torch::manual_seed(seed);
  torch::NoGradGuard no_grad;
  for (auto& p : (*m)->named_parameters())
    if (p.value().dim() == 1) p.value().add_(torch::randn_like(p.value()) * 0.1);
  auto st = model::save_model(dir, *m);
  if (!st.is_ok()) qFatal("%s", st.message().c_str());
  return *m;
}

// LibTorch logits (seq, vocab) of one sequence.
torch::Tensor torch_logits(model::LlamaForCausalLM& m, const std::vector<int32_t>& ids) {
  torch::NoGradGuard no_grad;
  std::vector<int64_t> v(ids.begin(), ids.end());
  auto input = torch::tensor(v, torch::kInt64).unsqueeze(0);
  return m->forward(input).logits[0].to(torch::kFloat32).contiguous();
}

std::unique_ptr<LlamaEngine> load_engine(const fs::path& dir, WeightFormat f, int threads = 2, int64_t chunk = 32) {
  EngineOptions o;
  o.weights = f;
  o.threads = threads;
  o.prefill_chunk = chunk;
  auto e = LlamaEngine::load(dir, o);
  if (!e.is_ok()) qFatal("%s", e.status().message().c_str());
  return std::move(e).value();
}

std::vector<float> engine_logits(LlamaEngine& e, const std::vector<int32_t>& ids) {
  e.reset();
  std::vector<float> all(ids.size() * size_t(e.config().vocab_size));
  auto r = e.forward(ids, all.data());
  if (!r.is_ok()) qFatal("%s", r.status().message().c_str());
  return all;
}

double max_abs_diff(const std::vector<float>& a, const float* b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(double(a[i]) - b[i]));
  return d;
}

// rms(a - ref) / rms(ref)
double relative_rms(const std::vector<float>& a, const std::vector<float>& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (double(a[i]) - ref[i]) * (double(a[i]) - ref[i]);
    den += double(ref[i]) * ref[i];
  }
  return std::sqrt(num / den);
}

int32_t argmax(std::span<const float> x) { return int32_t(std::max_element(x.begin(), x.end()) - x.begin()); }

std::vector<int32_t> engine_greedy(LlamaEngine& e, std::vector<int32_t> prompt, int n) {
  e.reset();
  auto logits = e.forward(prompt);
  if (!logits.is_ok()) qFatal("%s", logits.status().message().c_str());
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) {
    const int32_t next = argmax(*logits);
    out.push_back(next);
    logits = e.forward(std::span<const int32_t>(&out.back(), 1));
    if (!logits.is_ok()) qFatal("%s", logits.status().message().c_str());
  }
  return out;
}

std::vector<int32_t> prompt_ids(int n, int vocab, int seed) {
  std::vector<int32_t> ids;
  for (int i = 0; i < n; ++i) ids.push_back(int32_t((i * 37 + seed * 11 + 5) % vocab));
  return ids;
}

// Texts of a JSONL corpus from the demo cache (empty if absent).
std::vector<std::string> corpus_texts(const QString& file, size_t max_bytes) {
  std::vector<std::string> out;
  QFile f(test::data_cache() + "/corpora/" + file);
  if (!f.open(QIODevice::ReadOnly)) return out;
  size_t total = 0;
  while (!f.atEnd() && total < max_bytes) {
    const auto doc = QJsonDocument::fromJson(f.readLine());
    const std::string text = doc.object().value("text").toString().toStdString();
    if (text.size() < 40) continue;
    out.push_back(text);
    total += text.size();
  }
  return out;
}

}  // namespace

class TestInferLlama : public QObject {
  Q_OBJECT
 private:
  QTemporaryDir tmp_;

  // Engine f32 vs LibTorch on one config: every position's logits, then 12 greedy tokens.
  void compare_with_torch(const model::LlamaConfig& c, const QString& name) {
    const fs::path dir = (tmp_.path() + "/" + name).toStdString();
    auto m = save_random(c, dir, 11);
    auto engine = load_engine(dir, WeightFormat::kF32);
    const auto ids = prompt_ids(20, int(c.vocab_size), 1);
    const auto ref = torch_logits(m, ids);
    const auto got = engine_logits(*engine, ids);
    const double diff = max_abs_diff(got, ref.data_ptr<float>());
    const double scale = ref.abs().max().item<double>();
    qInfo("%s: max |engine - torch| = %.3g (logits up to %.3g)", qPrintable(name), diff, scale);
    QVERIFY2(diff < 2e-5 * std::max(1.0, scale), qPrintable(QString::number(diff)));

    // Greedy: the engine's KV-cache decode vs LibTorch re-running the whole sequence.
    std::vector<int32_t> seq = prompt_ids(6, int(c.vocab_size), 2);
    const auto mine = engine_greedy(*engine, seq, 12);
    for (int i = 0; i < 12; ++i) {
      const auto l = torch_logits(m, seq);
      seq.push_back(int32_t(l[l.size(0) - 1].argmax().item<int64_t>()));
    }
    QCOMPARE(mine, std::vector<int32_t>(seq.end() - 12, seq.end()));
  }

 private Q_SLOTS:
  void initTestCase() {
    torch::set_num_threads(2);
    QVERIFY(tmp_.isValid());
  }

  void logitsEqualTorchTiedLlama3() { compare_with_torch(tiny_config(true, true, false), "tied-llama3"); }
  void logitsEqualTorchUntiedBias() { compare_with_torch(tiny_config(false, false, true), "untied-bias"); }

  // Chunked prefill, one pass and token by token give the same logits (the kernels make matmul
  // rows equal to matvecs; attention is per row), and 1 thread equals 2.
  void prefillChunksAndThreads() {
    const auto c = tiny_config(true, true, false);
    const fs::path dir = (tmp_.path() + "/chunks").toStdString();
    save_random(c, dir, 5);
    const auto ids = prompt_ids(23, int(c.vocab_size), 3);
    for (WeightFormat f : {WeightFormat::kF32, WeightFormat::kQ4}) {
      auto whole = load_engine(dir, f, 2, 64);
      auto chunked = load_engine(dir, f, 1, 5);
      const auto a = engine_logits(*whole, ids);
      const auto b = engine_logits(*chunked, ids);
      QCOMPARE(max_abs_diff(a, b.data()), 0.0);
      chunked->reset();
      std::vector<float> last;
      for (int32_t id : ids) {
        auto r = chunked->forward(std::span<const int32_t>(&id, 1));
        QVERIFY(r.is_ok());
        last.assign(r->begin(), r->end());
      }
      QCOMPARE(max_abs_diff(last, a.data() + (ids.size() - 1) * size_t(c.vocab_size)), 0.0);
    }
  }

  // Low-bit formats against the f32 engine on the same weights. Measured relative rms error of
  // the logits on this random model: bf16 0.005, int8 0.019, q4 0.24 (random 64-wide rows are
  // q4's worst case: no structure, every block's scale set by noise); the bounds leave ~2x.
  void formatErrorBounds() {
    const auto c = tiny_config(true, false, false);
    const fs::path dir = (tmp_.path() + "/formats").toStdString();
    save_random(c, dir, 9);
    const auto ids = prompt_ids(16, int(c.vocab_size), 4);
    auto f32 = load_engine(dir, WeightFormat::kF32);
    const auto ref = engine_logits(*f32, ids);
    const struct {
      WeightFormat format;
      double bound;
    } cases[] = {{WeightFormat::kBF16, 0.01}, {WeightFormat::kInt8, 0.04}, {WeightFormat::kQ4, 0.5}};
    double previous = 0;
    for (const auto& k : cases) {
      auto e = load_engine(dir, k.format);
      const double err = relative_rms(engine_logits(*e, ids), ref);
      qInfo("%s: relative rms error of logits vs f32 = %.4f", weight_format_name(k.format), err);
      QVERIFY2(err > 0 && err < k.bound, weight_format_name(k.format));
      QVERIFY(err > previous);  // fewer bits, more error
      previous = err;
      QVERIFY(e->load_stats().weight_bytes < f32->load_stats().weight_bytes);
    }
  }

  // The Torch-free sampler makes model::Sampler's choices: same masks, same draws per seed.
  void samplerMatchesTorchSampler() {
    torch::manual_seed(3);
    const int64_t vocab = 500;
    const std::vector<model::SamplingOptions> settings = {
        {.greedy = true, .repetition_penalty = 1.3},
        {.temperature = 0.7},
        {.temperature = 0.9, .top_k = 20},
        {.temperature = 1.1, .top_p = 0.8},
        {.temperature = 1.0, .min_p = 0.05, .repetition_penalty = 1.2},
        {.temperature = 0.8, .top_k = 50, .top_p = 0.9, .min_p = 0.02, .repetition_penalty = 1.1},
    };
    const std::vector<int32_t> seen = {1, 7, 7, 42, 499, 3};
    for (size_t s = 0; s < settings.size(); ++s) {
      const auto& o = settings[s];
      model::Sampler reference(o, 1234);
      TokenSampler mine(o, 1234, vocab);
      int same = 0;
      for (int draw = 0; draw < 200; ++draw) {
        auto logits = (torch::randn({vocab}) * 3).contiguous();
        const std::span<const float> l(logits.data_ptr<float>(), size_t(vocab));
        const int32_t a = mine.sample(l, seen);
        const int32_t b = reference.sample(logits, seen);
        same += a == b;
        // The kept set equals process_logits' kept set.
        const auto processed = model::process_logits(logits, o, seen);
        for (int64_t i = 0; i < vocab; ++i)
          QCOMPARE(std::isfinite(mine.processed()[size_t(i)]), std::isfinite(processed[i].item<float>()));
      }
      // Draws may part where a cumulative sum lands within float rounding of a boundary.
      QVERIFY2(same >= 198, qPrintable(QString("setting %1: %2 of 200 equal").arg(s).arg(same)));
    }
  }

  void badCheckpointsNameTheTensor() {
    const auto c = tiny_config(true, false, false);
    const fs::path dir = (tmp_.path() + "/bad").toStdString();
    save_random(c, dir, 2);
    // config.json says more layers than the file has.
    auto c3 = c;
    c3.num_hidden_layers = 3;
    QVERIFY(model::write_llama_config(dir / "config.json", c3).is_ok());
    EngineOptions o;
    o.weights = WeightFormat::kInt8;
    auto r = LlamaEngine::load(dir, o);
    QVERIFY(!r.is_ok());
    QVERIFY2(r.status().message().find("model.layers.2.self_attn.q_proj.weight") != std::string::npos,
             r.status().message().c_str());
    // A wider hidden size: the shape mismatch names the tensor and both shapes.
    auto cw = c;
    cw.intermediate_size = 101;
    QVERIFY(model::write_llama_config(dir / "config.json", cw).is_ok());
    r = LlamaEngine::load(dir, o);
    QVERIFY(!r.is_ok());
    QVERIFY2(r.status().message().find("mlp.gate_proj.weight' has shape [100, 64]") != std::string::npos,
             r.status().message().c_str());
    // A truncated file.
    QVERIFY(model::write_llama_config(dir / "config.json", c).is_ok());
    fs::resize_file(dir / "model.safetensors", fs::file_size(dir / "model.safetensors") - 100);
    r = LlamaEngine::load(dir, o);
    QVERIFY(!r.is_ok());
    QVERIFY2(r.status().message().find("truncated") != std::string::npos, r.status().message().c_str());
    // Context overflow and bad ids are errors, not crashes.
    const fs::path good = (tmp_.path() + "/good").toStdString();
    save_random(c, good, 2);
    o.context = 8;
    auto e = LlamaEngine::load(good, o);
    QVERIFY(e.is_ok());
    const std::vector<int32_t> nine(9, 1), bad_id = {int32_t(c.vocab_size)};
    QVERIFY(!(*e)->forward(nine).is_ok());
    QVERIFY(!(*e)->forward(bad_id).is_ok());
    QCOMPARE((*e)->position(), int64_t(0));
  }

  // A model whose activations overflow (the final norm scaled to 3e38: finite weights, so the
  // loaders take it) gives NaN/+Inf logits: generation stops with an error saying so, on
  // LibTorch and on the engine, instead of sampling tokens from garbage.
  void overflowingLogitsAreAnError() {
    const auto c = tiny_config(true, false, false);
    auto m = model::init_model(c, 5);
    QVERIFY(m.is_ok());
    {
      torch::NoGradGuard no_grad;
      bool found = false;
      for (auto& p : (*m)->named_parameters())
        if (p.key() == "model.norm.weight") {
          p.value().fill_(3e38f);
          found = true;
        }
      QVERIFY(found);
    }
    const std::vector<int32_t> prompt = prompt_ids(6, int(c.vocab_size), 3);
    model::GenerationOptions go;
    go.max_new_tokens = 4;
    go.temperature = 0;
    auto r = model::generate(*m, {prompt}, go);
    QVERIFY(!r.is_ok());
    QVERIFY2(r.status().message().find("logits are not finite") != std::string::npos, r.status().message().c_str());

    const fs::path dir = (tmp_.path() + "/overflow").toStdString();
    QVERIFY(model::save_model(dir, *m).is_ok());
    auto engine = load_engine(dir, WeightFormat::kF32);
    auto logits = engine->forward(prompt);
    QVERIFY(logits.is_ok());
    TokenStream stream(go.sampling(), {}, nullptr, c.vocab_size, nullptr, prompt, 4);
    auto t = stream.next(*logits);
    QVERIFY(!t.is_ok());
    QCOMPARE(t.status().code(), StatusCode::kDataLoss);
    QVERIFY2(t.status().message().find("at generated token 1") != std::string::npos, t.status().message().c_str());
    // -Inf is a masked-out token, not an overflow: sampling goes on (decoding needs a tokenizer).
    const QString llama3 = test::data_cache() + "/tokenizers/llama3";
    if (!QFile::exists(llama3 + "/tokenizer.json")) QSKIP("Llama 3 tokenizer missing (scripts/fetch-demo-data.sh)");
    auto tokenizer = tok::load_tokenizer(llama3.toStdString());
    QVERIFY(tokenizer.is_ok());
    TokenStream masked(go.sampling(), {}, nullptr, c.vocab_size, std::move(*tokenizer), prompt, 4);
    std::vector<float> fine(size_t(c.vocab_size), 0.0f);
    fine[0] = -std::numeric_limits<float>::infinity();
    fine[7] = 5.0f;
    auto ok = masked.next(fine);
    QVERIFY2(ok.is_ok(), ok.status().message().c_str());
    QCOMPARE(ok->id, 7);
  }

  // LlamaEngine::save in every format: the reloaded engine gives bit-identical logits, the
  // folder says its format, other formats and LibTorch refuse it by name, an existing folder is
  // kept unless overwrite, and a damaged file names the tensor.
  void savedCheckpointsReloadBitIdentical() {
    const auto c = tiny_config(false, true, true);  // untied head and biases: every slot kind
    const fs::path src = (tmp_.path() + "/save-src").toStdString();
    save_random(c, src, 5);
    std::ofstream(src / "tokenizer_config.json") << "{}";
    const auto ids = prompt_ids(10, int(c.vocab_size), 4);
    for (WeightFormat f : {WeightFormat::kF32, WeightFormat::kBF16, WeightFormat::kInt8, WeightFormat::kQ4}) {
      const std::string name = weight_format_name(f);
      auto engine = load_engine(src, f);
      const auto before = engine_logits(*engine, ids);
      const fs::path out = (tmp_.path() + "/saved-").toStdString() + name;
      QVERIFY2(engine->save(out).is_ok(), name.c_str());
      QVERIFY(fs::exists(out / "config.json") && fs::exists(out / "tokenizer_config.json"));
      auto stored = stored_weight_format(out);
      QVERIFY(stored.is_ok() && stored->has_value() && **stored == f);
      auto reloaded = load_engine(out, f);
      QVERIFY2(engine_logits(*reloaded, ids) == before, name.c_str());
      QCOMPARE(reloaded->load_stats().weight_bytes, engine->load_stats().weight_bytes);

      const WeightFormat other = f == WeightFormat::kQ4 ? WeightFormat::kInt8 : WeightFormat::kQ4;
      EngineOptions o;
      o.weights = other;
      auto wrong = LlamaEngine::load(out, o);
      QVERIFY(!wrong.is_ok());
      QVERIFY2(wrong.status().message().find("load it as " + name) != std::string::npos,
               wrong.status().message().c_str());
      auto torch_load = model::load_model(out);
      QVERIFY(!torch_load.is_ok());
      QVERIFY2(torch_load.status().message().find("--weights " + name) != std::string::npos,
               torch_load.status().message().c_str());
    }
    QVERIFY(!stored_weight_format(src)->has_value());

    // An existing folder is kept unless overwrite; with it, replaced whole.
    auto q4 = load_engine(src, WeightFormat::kQ4);
    const fs::path out = (tmp_.path() + "/saved-int8").toStdString();
    auto again = q4->save(out);
    QVERIFY(!again.is_ok());
    QVERIFY2(again.message().find("--overwrite") != std::string::npos, again.message().c_str());
    QCOMPARE(**stored_weight_format(out), WeightFormat::kInt8);
    QVERIFY(q4->save(out, /*overwrite=*/true).is_ok());
    QCOMPARE(**stored_weight_format(out), WeightFormat::kQ4);
    for (const auto& entry : fs::directory_iterator(tmp_.path().toStdString())) {  // no temp or old folder left
      const std::string name = entry.path().filename().string();
      QVERIFY2(name.find(".tmp-") == std::string::npos && name.find(".old-") == std::string::npos, name.c_str());
    }

    // A truncated engine file is refused (the reader checks every offset), naming the file.
    fs::resize_file(out / "model.safetensors", fs::file_size(out / "model.safetensors") - 64);
    EngineOptions o;
    o.weights = WeightFormat::kQ4;
    auto truncated = LlamaEngine::load(out, o);
    QVERIFY(!truncated.is_ok());
    QVERIFY2(truncated.status().message().find("model.safetensors") != std::string::npos,
             truncated.status().message().c_str());
  }

  // `kanana generate --weights`: a debug-preset model with the real Llama 3 tokenizer; greedy
  // text of the f32 engine equals LibTorch's, q4 runs, the numbers users read are on stderr,
  // and a bad format is a usage error naming the flag.
  void generateCommandWeights() {
    const QString tokenizer = test::data_cache() + "/tokenizers/llama3";
    if (!QFile::exists(tokenizer + "/tokenizer.json")) QSKIP("Llama 3 tokenizer missing (scripts/fetch-demo-data.sh)");
    const QString dir = tmp_.path() + "/cli-model";
    auto init = test::run_kanana({"model", "init", "--preset", "debug", "--seed", "3", "--tokenizer", tokenizer, "--out", dir});
    QVERIFY2(init.code == 0, qPrintable(init.err));
    const QStringList common = {"generate", "--model", dir, "--prompt", "Hello, 안녕하세요", "--greedy",
                                "--max-new-tokens", "12", "--threads", "2"};
    auto torch_run = test::run_kanana(common);
    QVERIFY2(torch_run.code == 0, qPrintable(torch_run.err));
    auto f32 = test::run_kanana(common + QStringList{"--weights", "f32"});
    QVERIFY2(f32.code == 0, qPrintable(f32.err));
    QVERIFY(!f32.out.trimmed().isEmpty());
    QCOMPARE(f32.out, torch_run.out);
    QVERIFY2(f32.err.contains("engine f32, 2 threads") && f32.err.contains("tok/s") && f32.err.contains("resident"),
             qPrintable(f32.err));
    auto q4 = test::run_kanana(common + QStringList{"--weights", "q4", "--stop", "x"});
    QVERIFY2(q4.code == 0, qPrintable(q4.err));
    QVERIFY(!q4.out.contains("x"));
    // `kanana model quantize`: the saved q4 folder generates the same text without --weights.
    const QString q4_dir = tmp_.path() + "/cli-model-q4";
    auto quant = test::run_kanana({"model", "quantize", dir, "--weights", "q4", "--out", q4_dir});
    QVERIFY2(quant.code == 0, qPrintable(quant.err));
    QVERIFY2(quant.out.contains("q4 weights"), qPrintable(quant.out));
    auto info = test::run_kanana({"model", "info", q4_dir});
    QVERIFY2(info.code == 0 && info.out.contains("engine:       q4"), qPrintable(info.out + info.err));
    auto q4_greedy = test::run_kanana(common + QStringList{"--weights", "q4"});
    QVERIFY2(q4_greedy.code == 0, qPrintable(q4_greedy.err));
    QStringList saved_args = common;
    saved_args[2] = q4_dir;
    auto saved = test::run_kanana(saved_args);
    QVERIFY2(saved.code == 0, qPrintable(saved.err));
    QCOMPARE(saved.out, q4_greedy.out);
    QVERIFY2(saved.err.contains("engine q4"), qPrintable(saved.err));
    auto exists = test::run_kanana({"model", "quantize", dir, "--weights", "int8", "--out", q4_dir});
    QVERIFY(exists.code != 0);
    QVERIFY2(exists.err.contains("--overwrite"), qPrintable(exists.err));
    auto bad = test::run_kanana(common + QStringList{"--weights", "q3"});
    QCOMPARE(bad.code, 2);
    QVERIFY2(bad.err.contains("--weights") && bad.err.contains("q3"), qPrintable(bad.err));
  }

  // A byte-level Llama trained here on real Korean/English text; held-out perplexity per format.
  void trainedModelPerplexity() {
    auto texts = corpus_texts("ko_en_libreoffice_aligned.jsonl", 400000);
    if (texts.size() < 50) QSKIP("demo corpora missing (scripts/fetch-demo-data.sh)");
    std::string train, held;
    for (size_t i = 0; i < texts.size(); ++i) (i % 10 == 9 ? held : train) += texts[i] + "\n";
    model::LlamaConfig c = *model::preset_config("debug");
    c.vocab_size = 256;
    c.hidden_size = 128;
    c.intermediate_size = 344;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 4;
    c.num_key_value_heads = 2;
    c.head_dim = 32;
    c.max_position_embeddings = 128;
    c.tie_word_embeddings = true;
    c.eos_token_ids = {0};
    auto m = model::init_model(c, 1);
    QVERIFY(m.is_ok());
    auto model = *m;
    torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(1e-2).weight_decay(0.01));
    const int64_t seq = 64, batch = 8;
    std::mt19937_64 rng(1);
    QElapsedTimer timer;
    timer.start();
    double loss_value = 0;
    int step = 0;
    // The byte unigram entropy of the training text (3.6 nats): a loss below it means the
    // model predicts from context, not just byte frequencies.
    double unigram = 0;
    {
      std::vector<double> counts(256, 0);
      for (unsigned char ch : train) counts[ch] += 1;
      for (double n : counts)
        if (n > 0) unigram -= n / double(train.size()) * std::log(n / double(train.size()));
    }
    // Until the loss is well below it, at most 50 s (on an idle 2-core machine ~300 steps reach
    // ~2.3 nats; a machine shared with builds may manage only a few dozen).
    for (; step < 600 && timer.elapsed() < 50000 && !(step > 50 && loss_value < 2.3); ++step) {
      auto x = torch::empty({batch, seq + 1}, torch::kInt64);
      auto* px = x.data_ptr<int64_t>();
      for (int64_t b = 0; b < batch; ++b) {
        const size_t at = rng() % (train.size() - seq - 1);
        for (int64_t t = 0; t <= seq; ++t) px[b * (seq + 1) + t] = uint8_t(train[at + t]);
      }
      auto logits = model->forward(x.narrow(1, 0, seq)).logits;
      auto loss = torch::nn::functional::cross_entropy(logits.reshape({-1, c.vocab_size}),
                                                       x.narrow(1, 1, seq).reshape({-1}));
      opt.zero_grad();
      loss.backward();
      opt.step();
      loss_value = loss.item<double>();
    }
    qInfo("trained %d steps in %.1f s, last loss %.3f nats/byte (unigram entropy %.3f)", step,
          timer.elapsed() / 1000.0, loss_value, unigram);
    QVERIFY(loss_value < unigram);
    const fs::path dir = (tmp_.path() + "/trained").toStdString();
    QVERIFY(model::save_model(dir, model).is_ok());

    // Held-out perplexity: windows of 64 bytes, each predicting its last 63.
    auto perplexity = [&](LlamaEngine& e) {
      double nll = 0;
      int64_t count = 0;
      std::vector<float> all(size_t(seq) * 256);
      for (size_t at = 0; at + seq <= held.size() && count < 12000; at += seq) {
        std::vector<int32_t> ids(static_cast<size_t>(seq));
        for (int64_t t = 0; t < seq; ++t) ids[size_t(t)] = uint8_t(held[at + t]);
        e.reset();
        if (!e.forward(ids, all.data()).is_ok()) return -1.0;
        for (int64_t t = 0; t + 1 < seq; ++t) {
          const float* l = all.data() + t * 256;
          const float mx = *std::max_element(l, l + 256);
          double z = 0;
          for (int i = 0; i < 256; ++i) z += std::exp(double(l[i]) - mx);
          nll -= double(l[ids[size_t(t + 1)]]) - mx - std::log(z);
          ++count;
        }
      }
      return std::exp(nll / double(count));
    };
    auto f32 = load_engine(dir, WeightFormat::kF32);
    auto bf16 = load_engine(dir, WeightFormat::kBF16);
    auto int8 = load_engine(dir, WeightFormat::kInt8);
    auto q4 = load_engine(dir, WeightFormat::kQ4);
    const double p32 = perplexity(*f32), pbf = perplexity(*bf16), p8 = perplexity(*int8), p4 = perplexity(*q4);
    qInfo("held-out perplexity per byte: f32 %.4f, bf16 %.4f (%+.2f%%), int8 %.4f (%+.2f%%), q4 %.4f (%+.2f%%)",
          p32, pbf, 100 * (pbf / p32 - 1), p8, 100 * (p8 / p32 - 1), p4, 100 * (p4 / p32 - 1));
    QVERIFY(std::log(p32) < unigram);  // held out too, it predicts better than byte frequencies
    QVERIFY2(p8 <= p32 * 1.01, "int8 perplexity more than 1% above f32");
    QVERIFY2(p4 <= p32 * 1.05, "q4 perplexity more than 5% above f32");

    // Greedy continuations of held-out prompts: int8 and q4 vs f32, 32 bytes each.
    int same8 = 0, same4 = 0, prompts = 0;
    for (size_t at = 0; at + 48 <= held.size() && prompts < 20; at += held.size() / 21, ++prompts) {
      std::vector<int32_t> p(48);
      for (int t = 0; t < 48; ++t) p[size_t(t)] = uint8_t(held[at + t]);
      const auto ref = engine_greedy(*f32, p, 32);
      same8 += engine_greedy(*int8, p, 32) == ref;
      same4 += engine_greedy(*q4, p, 32) == ref;
    }
    qInfo("greedy continuations (32 bytes) identical to f32: int8 %d/%d, q4 %d/%d", same8, prompts, same4, prompts);
    QVERIFY(same8 * 2 >= prompts);
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestInferLlama)
#include "test_infer_llama.moc"
