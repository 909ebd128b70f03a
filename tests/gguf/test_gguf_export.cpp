// `kanana model export-gguf` on tiny Llama checkpoints made by the project, with the real
// Llama 3 tokenizer (and a real SentencePiece model): the file read back by our reader, by
// @huggingface/gguf, and run by llama.cpp (node-llama-cpp), whose greedy tokens must equal the
// workbench's on the same weights. Bad exports are refused and leave no file.
#include <torch/torch.h>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>

#include <filesystem>
#include <functional>
#include <fstream>

#include "base/files.h"
#include "base/json.h"
#include "gguf/gguf.h"
#include "gguf/llama_gguf.h"
#include "gguf/llama_vocab.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "model/llama.h"
#include "model/presets.h"
#include "safetensors/safetensors.h"
#include "test_support.h"
#include "tokenizer/tokenizer.h"

using namespace kanana;
namespace fs = std::filesystem;

namespace {

constexpr int kNewTokens = 16;

QString node_modules() { return kanana::test::data_cache() + "/node/node_modules"; }

// Why the llama.cpp / @huggingface/gguf checks cannot run here, or empty when they can.
QString node_missing() {
  if (QStandardPaths::findExecutable("node").isEmpty()) return "node is not installed";
  for (const char* p : {"node-llama-cpp", "@huggingface/gguf"}) {
    if (!QDir(node_modules() + "/" + p).exists()) {
      return QString("%1 is not installed in %2 (scripts/setup.sh installs it)").arg(p, node_modules());
    }
  }
  return {};
}

// Runs tests/gguf/gguf_reference.mjs; the parsed JSON of its stdout.
QJsonObject node_reference(const QStringList& args, QString* error) {
  QProcess p;
  QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
  env.insert("NODE_PATH", node_modules());
  p.setProcessEnvironment(env);
  p.start("node", QStringList{kanana::test::source_dir() + "/tests/gguf/gguf_reference.mjs"} + args);
  if (!p.waitForFinished(240000) || p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0) {
    *error = "node " + args.join(' ').left(200) + " failed: " + QString::fromUtf8(p.readAllStandardError()).right(2000);
    return {};
  }
  QJsonParseError pe;
  auto doc = QJsonDocument::fromJson(p.readAllStandardOutput(), &pe);
  if (!doc.isObject()) *error = "node printed no JSON: " + pe.errorString();
  return doc.object();
}

QString ids_json(const std::vector<int32_t>& ids) {
  QJsonArray a;
  for (int32_t i : ids) a.append(i);
  return QString::fromUtf8(QJsonDocument(a).toJson(QJsonDocument::Compact));
}

std::vector<int32_t> to_ids(const QJsonValue& v) {
  std::vector<int32_t> out;
  for (const auto& x : v.toArray()) out.push_back(x.toInt());
  return out;
}

// llama.cpp's ids for each text (no BOS, specials as plain text); the texts travel in a JSON
// file `list` beside the model.
std::vector<std::vector<int32_t>> llama_cpp_tokenize(const fs::path& gguf_file, const QStringList& texts,
                                                     const fs::path& list, QString* error) {
  QFile f(QString::fromStdString(list.string()));
  if (!f.open(QIODevice::WriteOnly)) {
    *error = "cannot write " + f.fileName();
    return {};
  }
  f.write(QJsonDocument(QJsonArray::fromStringList(texts)).toJson());
  f.close();
  const QJsonObject ref = node_reference({"tokenize", QString::fromStdString(gguf_file.string()),
                                          QString::fromStdString(list.string())}, error);
  std::vector<std::vector<int32_t>> out;
  for (const auto& ids : ref["ids"].toArray()) out.push_back(to_ids(ids));
  return out;
}

// Greedy decoding by full forward passes (no cache, fp32): the tokens and, at each step, the
// margin between the best and second-best logit.
struct Greedy {
  std::vector<int32_t> tokens;
  std::vector<float> margins;
};
Greedy workbench_greedy(model::LlamaForCausalLM& m, std::vector<int32_t> ids, int n) {
  torch::NoGradGuard no_grad;
  Greedy g;
  for (int step = 0; step < n; ++step) {
    auto input = torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()), torch::kInt64).unsqueeze(0);
    model::ForwardOptions fo;
    fo.logits_to_keep = 1;
    auto logits = m->forward(input, fo).logits[0][-1].to(torch::kFloat32);  // (vocab)
    auto top = logits.topk(2);
    const int32_t next = static_cast<int32_t>(std::get<1>(top)[0].item<int64_t>());
    g.margins.push_back((std::get<0>(top)[0] - std::get<0>(top)[1]).item<float>());
    g.tokens.push_back(next);
    ids.push_back(next);
  }
  return g;
}

// A randomly initialised Llama in `dir` with the tokenizer at `tokenizer` copied in. The
// weights are drawn wider than a fresh model's (std 0.5) so that greedy choices have clear
// margins and a comparison with another runtime is decisive.
struct ModelTweaks {
  std::function<void(model::LlamaConfig&)> config;
  std::function<void(model::LlamaForCausalLM&)> weights;  // after initialisation
  uint64_t max_shard_bytes = 0;                            // > 0: a sharded checkpoint
};
void make_model(const fs::path& dir, const fs::path& tokenizer_file, int64_t intermediate,
                const ModelTweaks& tweak = {}) {
  auto tok = tok::load_tokenizer(tokenizer_file);
  QVERIFY2(tok.is_ok(), tok.status().to_string().c_str());
  auto config = model::preset_config("debug");
  QVERIFY(config.is_ok());
  config->vocab_size = (*tok)->vocab_size();
  config->intermediate_size = intermediate;
  config->initializer_range = 0.5;
  config->bos_token_id = (*tok)->bos_id();
  config->eos_token_ids.clear();
  if (auto e = (*tok)->eos_id()) config->eos_token_ids = {*e};
  if (tweak.config) tweak.config(*config);
  auto m = model::init_model(*config, /*seed=*/3);
  QVERIFY2(m.is_ok(), m.status().to_string().c_str());
  if (tweak.weights) tweak.weights(*m);
  model::SaveModelOptions so;
  so.max_shard_bytes = tweak.max_shard_bytes;
  QVERIFY(model::save_model(dir, *m, so).is_ok());
  const fs::path from = tokenizer_file.parent_path();
  for (const char* f : {"tokenizer_config.json"}) {
    if (fs::exists(from / f)) fs::copy_file(from / f, dir / f, fs::copy_options::overwrite_existing);
  }
  fs::copy_file(tokenizer_file, dir / (tokenizer_file.extension() == ".model" ? "tokenizer.model" : "tokenizer.json"),
                fs::copy_options::overwrite_existing);
}

bool dir_has_leftovers(const fs::path& dir, const std::string& stem) {
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().find(stem) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

class TestGgufExport : public QObject {
  Q_OBJECT

  QTemporaryDir tmp_;
  fs::path llama3_;  // tokenizer.json of the real Llama 3 tokenizer
  fs::path model_;   // tiny model with that tokenizer (intermediate 192: q8_0/q4_0-able)
  fs::path f32_;     // its F32 export

  fs::path root() const { return tmp_.path().toStdString(); }

  void need_model() {
    if (llama3_.empty()) QSKIP("the Llama 3 tokenizer.json is not in the data cache (scripts/setup.sh fetches it)");
    if (!fs::exists(f32_)) QFAIL("the F32 export of the tiny model was not made (see exportsTinyLlamaAtF32)");
  }

 private Q_SLOTS:
  void initTestCase() {
    torch::set_num_threads(2);
    const fs::path tj = kanana::test::data_cache().toStdString() + "/tokenizers/llama3/tokenizer.json";
    if (fs::exists(tj)) llama3_ = tj;
  }

  void exportsTinyLlamaAtF32() {
    if (llama3_.empty()) QSKIP("the Llama 3 tokenizer.json is not in the data cache (scripts/setup.sh fetches it)");
    model_ = root() / "tiny";
    make_model(model_, llama3_, 192);
    f32_ = root() / "tiny-f32.gguf";
    auto r = kanana::test::run_kanana({"model", "export-gguf", QString::fromStdString(model_.string()), "--out",
                                       QString::fromStdString(f32_.string()), "--type", "f32"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY(r.out.contains("gpt2/llama-bpe"));

    auto file = gguf::GgufFile::open(f32_);
    QVERIFY2(file.is_ok(), file.status().to_string().c_str());
    const gguf::GgufFile& g = **file;
    auto cfg = model::read_llama_config(model_);
    QVERIFY(cfg.is_ok());
    auto u = [&](const char* key) { return g.find(key) ? g.find(key)->as_uint().value_or(~0ull) : ~0ull; };
    QCOMPARE(g.find("general.architecture")->s, std::string("llama"));
    QCOMPARE(u("general.alignment"), 32ull);
    QCOMPARE(u("general.file_type"), 0ull);
    QCOMPARE(u("llama.block_count"), uint64_t(cfg->num_hidden_layers));
    QCOMPARE(u("llama.embedding_length"), uint64_t(cfg->hidden_size));
    QCOMPARE(u("llama.feed_forward_length"), 192ull);
    QCOMPARE(u("llama.attention.head_count"), uint64_t(cfg->num_attention_heads));
    QCOMPARE(u("llama.attention.head_count_kv"), uint64_t(cfg->num_key_value_heads));
    QCOMPARE(u("llama.rope.dimension_count"), uint64_t(cfg->head_dim));
    QCOMPARE(u("llama.vocab_size"), 128256ull);
    QCOMPARE(g.find("llama.rope.freq_base")->f, double(float(cfg->rope_theta)));
    QCOMPARE(g.find("tokenizer.ggml.model")->s, std::string("gpt2"));
    QCOMPARE(g.find("tokenizer.ggml.pre")->s, std::string("llama-bpe"));
    const auto& tokens = g.find("tokenizer.ggml.tokens")->strings;
    QCOMPARE(tokens.size(), size_t(128256));
    QCOMPARE(tokens[128000], std::string("<|begin_of_text|>"));
    QCOMPARE(tokens[12], std::string("-"));
    QCOMPARE(g.find("tokenizer.ggml.token_type")->ints[128009], int64_t(gguf::kTokenControl));
    QCOMPARE(g.find("tokenizer.ggml.token_type")->ints[1000], int64_t(gguf::kTokenNormal));
    QVERIFY(g.find("tokenizer.ggml.merges")->strings.size() > 280000);
    QCOMPARE(g.find("tokenizer.ggml.merges")->strings[0], std::string("Ġ Ġ"));
    QCOMPARE(u("tokenizer.ggml.bos_token_id"), 128000ull);
    QVERIFY(g.find("tokenizer.ggml.add_bos_token") && g.find("tokenizer.ggml.add_bos_token")->i == 1);
    QVERIFY(g.find("tokenizer.chat_template") && g.find("tokenizer.chat_template")->s.find("start_header_id") != std::string::npos);

    // Tensors: llama.cpp's names, GGUF dimension order, tied head (no output.weight).
    QCOMPARE(g.tensors().size(), size_t(1 + 9 * cfg->num_hidden_layers + 1));
    QVERIFY(g.find_tensor("output.weight") == nullptr);
    QCOMPARE(g.find_tensor("token_embd.weight")->ne, (std::vector<uint64_t>{64, 128256}));
    QCOMPARE(g.find_tensor("blk.1.ffn_down.weight")->ne, (std::vector<uint64_t>{192, 64}));
    auto reader = st::CheckpointReader::open(model_);
    QVERIFY(reader.is_ok());
    auto embd = (*reader)->tensor("model.embed_tokens.weight", torch::kFloat32);
    auto embd_gguf = g.tensor_as_f32("token_embd.weight");
    QVERIFY(embd_gguf.is_ok());
    QVERIFY(std::equal(embd_gguf->begin(), embd_gguf->end(), embd->contiguous().data_ptr<float>()));
    // q and k rows in llama.cpp's rotary order; v unchanged.
    for (const auto& [hf, gg, heads] : {std::tuple{"model.layers.1.self_attn.q_proj.weight", "blk.1.attn_q.weight", cfg->num_attention_heads},
                                        std::tuple{"model.layers.1.self_attn.k_proj.weight", "blk.1.attn_k.weight", cfg->num_key_value_heads},
                                        std::tuple{"model.layers.1.self_attn.v_proj.weight", "blk.1.attn_v.weight", int64_t(0)}}) {
      auto src = (*reader)->tensor(hf, torch::kFloat32)->contiguous();
      auto dst = g.tensor_as_f32(gg);
      QVERIFY(dst.is_ok());
      const int64_t rows = src.size(0), cols = src.size(1);
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t s = heads ? gguf::rope_permuted_source_row(r, rows, heads) : r;
        QVERIFY2(std::equal(dst->begin() + r * cols, dst->begin() + (r + 1) * cols, src[s].data_ptr<float>()),
                 qPrintable(QString("%1 row %2").arg(gg).arg(r)));
      }
    }
    QVERIFY(!dir_has_leftovers(root(), ".tmp"));
  }

  // @huggingface/gguf reads what we wrote: every key, the tensor names, shapes and types.
  void huggingfaceGgufReadsTheMetadata() {
    need_model();
    if (const QString why = node_missing(); !why.isEmpty()) QSKIP(qPrintable(why));
    QString err;
    const QJsonObject ref = node_reference({"meta", QString::fromStdString(f32_.string())}, &err);
    QVERIFY2(err.isEmpty(), qPrintable(err));
    auto g = gguf::GgufFile::open(f32_);
    QVERIFY(g.is_ok());
    const QJsonObject meta = ref["metadata"].toObject();
    for (const auto& kv : (*g)->metadata()) {
      const QString key = QString::fromStdString(kv.key);
      QVERIFY2(meta.contains(key), qPrintable("@huggingface/gguf lacks " + key));
      const QJsonValue v = meta[key];
      if (kv.value.type == gguf::ValueType::kString) QCOMPARE(v.toString().toStdString(), kv.value.s);
      if (kv.value.type == gguf::ValueType::kUint32) QCOMPARE(uint64_t(v.toDouble()), kv.value.u);
      if (kv.value.type == gguf::ValueType::kArray && kv.value.array_size() > 8) {
        QCOMPARE(size_t(v.toObject()["length"].toInt()), kv.value.array_size());
      }
    }
    QCOMPARE(meta["tokenizer.ggml.tokens"].toObject()["last"].toString(), QString("<|reserved_special_token_250|>"));
    const QJsonArray tensors = ref["tensors"].toArray();
    QCOMPARE(size_t(tensors.size()), (*g)->tensors().size());
    for (int i = 0; i < tensors.size(); ++i) {
      const auto& t = (*g)->tensors()[size_t(i)];
      const QJsonObject r = tensors[i].toObject();
      QCOMPARE(r["name"].toString().toStdString(), t.name);
      QCOMPARE(uint32_t(r["dtype"].toInt()), uint32_t(t.type));
      std::vector<uint64_t> shape;
      for (const auto& d : r["shape"].toArray()) shape.push_back(uint64_t(d.toDouble()));
      QCOMPARE(shape, t.ne);
    }
  }

  // llama.cpp runs the F32 export and picks the same greedy tokens as the workbench; its
  // tokenizer splits the prompt into the same ids. Then q8_0 and q4_0: where they differ.
  void llamaCppGreedyEqualsWorkbench() {
    need_model();
    if (const QString why = node_missing(); !why.isEmpty()) QSKIP(qPrintable(why));
    auto tok = tok::load_tokenizer(model_);
    QVERIFY(tok.is_ok());
    const std::string prompt = "The capital of Korea is Seoul. 한국의 수도는";
    tok::EncodeOptions eo;
    eo.add_bos = true;
    eo.parse_special = false;
    const std::vector<int32_t> ids = (*tok)->encode(prompt, eo);
    QCOMPARE(ids.front(), 128000);

    model::LoadOptions lo;
    lo.dtype = torch::kFloat32;
    auto loaded = model::load_model(model_, lo);
    QVERIFY2(loaded.is_ok(), loaded.status().to_string().c_str());
    const Greedy ours = workbench_greedy(loaded->model, ids, kNewTokens);
    const float min_margin = *std::min_element(ours.margins.begin(), ours.margins.end());
    qInfo("workbench greedy: %s (smallest top-1/top-2 logit margin %.4f)", qPrintable(ids_json(ours.tokens)), min_margin);

    QString err;
    const QJsonObject ref = node_reference({"greedy", QString::fromStdString(f32_.string()),
                                            QString::number(kNewTokens), ids_json(ids)}, &err);
    QVERIFY2(err.isEmpty(), qPrintable(err));
    const std::vector<int32_t> theirs = to_ids(ref["tokens"]);
    qInfo("llama.cpp F32 greedy: %s", qPrintable(ids_json(theirs)));
    QCOMPARE(theirs, ours.tokens);

    // F16 and quantized exports: report the first step where llama.cpp's choice leaves the F32
    // path and the workbench's fp32 margin there (a small margin = a near tie that rounding flips).
    for (const char* type : {"f16", "q8_0", "q4_0"}) {
      const fs::path out = root() / (std::string("tiny-") + type + ".gguf");
      auto r = kanana::test::run_kanana({"model", "export-gguf", QString::fromStdString(model_.string()), "--out",
                                         QString::fromStdString(out.string()), "--type", type});
      QVERIFY2(r.code == 0, qPrintable(r.err));
      auto g = gguf::GgufFile::open(out);
      QVERIFY2(g.is_ok(), g.status().to_string().c_str());
      QCOMPARE(g.value()->find_tensor("blk.0.ffn_gate.weight")->type, *gguf::parse_export_type(type));
      QCOMPARE(g.value()->find_tensor("blk.0.attn_norm.weight")->type, gguf::GgmlType::kF32);
      const QJsonObject q = node_reference({"greedy", QString::fromStdString(out.string()), QString::number(kNewTokens),
                                            ids_json(ids)}, &err);
      QVERIFY2(err.isEmpty(), qPrintable(err));
      const std::vector<int32_t> qt = to_ids(q["tokens"]);
      QCOMPARE(qt.size(), size_t(kNewTokens));
      size_t first = 0;
      while (first < qt.size() && qt[first] == ours.tokens[first]) ++first;
      if (first == qt.size()) {
        qInfo("llama.cpp %s greedy: all %d tokens equal the F32 workbench's", type, kNewTokens);
      } else {
        qInfo("llama.cpp %s greedy: %s; first difference at new token %zu (%d vs %d), fp32 logit margin there %.4f",
              type, qPrintable(ids_json(qt)), first, qt[first], ours.tokens[first], ours.margins[first]);
      }
    }
  }

  // llama.cpp's tokenizer built from our tokenizer.ggml.* keys gives the workbench's ids on
  // real Korean/English text (LibreOffice help, aligned paragraphs).
  void llamaCppTokenizesKoreanEnglishLikeTheWorkbench() {
    need_model();
    if (const QString why = node_missing(); !why.isEmpty()) QSKIP(qPrintable(why));
    QStringList texts = {"안녕하세요, Kanana! 서울은 한국의 수도입니다. It's 3.14159 — 좋아요 👍\n\n  indented\ttab",
                         "<|eot_id|> is plain text here; 'll 've 'RE 1234567 한국어English혼합"};
    QFile corpus(kanana::test::data_cache() + "/corpora/ko_en_libreoffice_aligned.jsonl");
    if (corpus.open(QIODevice::ReadOnly)) {
      while (!corpus.atEnd() && texts.size() < 300) {
        const QJsonObject o = QJsonDocument::fromJson(corpus.readLine()).object();
        if (o["translated"].toBool()) texts << o["en"].toString() + "\n" + o["text"].toString();
      }
    }
    QString err;
    const auto all = llama_cpp_tokenize(f32_, texts, root() / "texts.json", &err);
    QVERIFY2(err.isEmpty(), qPrintable(err));
    auto tok = tok::load_tokenizer(model_);
    QVERIFY(tok.is_ok());
    tok::EncodeOptions eo;
    eo.add_bos = false;
    eo.parse_special = false;
    QCOMPARE(all.size(), size_t(texts.size()));
    int hangul_texts = 0;
    for (int i = 0; i < texts.size(); ++i) {
      const std::string text = texts[i].toStdString();
      QCOMPARE(all[size_t(i)], (*tok)->encode(text, eo));
      if (texts[i].contains(QChar(0xD55C)) || texts[i].contains(QChar(0xB2C8))) ++hangul_texts;
    }
    QVERIFY(hangul_texts > 2);
    qInfo("%lld texts (%d with Hangul) tokenized identically", static_cast<long long>(texts.size()), hangul_texts);
  }

  // A SentencePiece tokenizer.model becomes a "llama" vocabulary with scores and piece types,
  // and llama.cpp tokenizes with it as the workbench does. This model also has an untied
  // head (output.weight) and Llama 3 rope scaling (the rope_freqs.weight tensor), and
  // llama.cpp's greedy tokens must again equal the workbench's.
  void sentencePieceVocabularyUntiedHeadLlama3Rope() {
    const fs::path spm = kanana::test::data_cache().toStdString() + "/tokenizers/spm/llama_3_1_tokeniser.model";
    if (!fs::exists(spm)) QSKIP("no SentencePiece model in the data cache");
    const fs::path dir = root() / "tiny-spm";
    make_model(dir, spm, 192, {.config = [](model::LlamaConfig& c) {
      c.tie_word_embeddings = false;
      model::RopeScaling r;
      r.rope_type = "llama3";
      r.factor = 8;
      r.low_freq_factor = 1;
      r.high_freq_factor = 4;
      r.original_max_position_embeddings = 256;  // puts head_dim 24's frequencies in all three bands
      c.rope_scaling = r;
    }});
    const fs::path out = root() / "tiny-spm.gguf";
    auto r = kanana::test::run_kanana({"model", "export-gguf", QString::fromStdString(dir.string()), "--out",
                                       QString::fromStdString(out.string())});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    auto g = gguf::GgufFile::open(out);
    QVERIFY(g.is_ok());
    auto tok = tok::load_tokenizer(dir);
    QVERIFY(tok.is_ok());
    const auto& v = **g;
    QCOMPARE(v.find("tokenizer.ggml.model")->s, std::string("llama"));
    const auto& pieces = v.find("tokenizer.ggml.tokens")->strings;
    QCOMPARE(int64_t(pieces.size()), int64_t((*tok)->vocab_size()));
    for (int32_t id : {0, 1, 2, 3, 100, 259, 1000, (*tok)->vocab_size() - 1}) {
      QCOMPARE(pieces[size_t(id)], (*tok)->id_to_piece(id));
    }
    QCOMPARE(v.find("tokenizer.ggml.scores")->array_size(), pieces.size());
    QCOMPARE(v.find("tokenizer.ggml.token_type")->ints[size_t(*(*tok)->bos_id())], int64_t(gguf::kTokenControl));
    QCOMPARE(v.find("tokenizer.ggml.bos_token_id")->u, uint64_t(*(*tok)->bos_id()));
    QCOMPARE(v.find("tokenizer.ggml.eos_token_id")->u, uint64_t(*(*tok)->eos_id()));
    QVERIFY(v.find_tensor("output.weight") != nullptr);
    auto factors = v.tensor_as_f32("rope_freqs.weight");
    QVERIFY(factors.is_ok());
    QCOMPARE(factors->size(), size_t(12));
    QCOMPARE(factors->front(), 1.f);
    QCOMPARE(factors->back(), 8.f);
    if (const QString why = node_missing(); !why.isEmpty()) QSKIP(qPrintable(why));
    const QStringList texts = {"Hello world, this is SentencePiece.", "한국어와 English 혼합 text 123", "  two  spaces"};
    QString err;
    const auto theirs = llama_cpp_tokenize(out, texts, root() / "spm_texts.json", &err);
    QVERIFY2(err.isEmpty(), qPrintable(err));
    QCOMPARE(theirs.size(), size_t(texts.size()));
    tok::EncodeOptions eo;
    eo.add_bos = false;
    eo.parse_special = false;
    for (int i = 0; i < texts.size(); ++i) QCOMPARE(theirs[size_t(i)], (*tok)->encode(texts[i].toStdString(), eo));

    eo.add_bos = true;
    const std::vector<int32_t> ids = (*tok)->encode("The capital of Korea is Seoul. 한국의 수도는", eo);
    model::LoadOptions lo;
    lo.dtype = torch::kFloat32;
    auto loaded = model::load_model(dir, lo);
    QVERIFY2(loaded.is_ok(), loaded.status().to_string().c_str());
    const Greedy ours = workbench_greedy(loaded->model, ids, kNewTokens);
    const QJsonObject greedy = node_reference({"greedy", QString::fromStdString(out.string()),
                                               QString::number(kNewTokens), ids_json(ids)}, &err);
    QVERIFY2(err.isEmpty(), qPrintable(err));
    qInfo("SentencePiece/untied/llama3-rope model: workbench %s, llama.cpp %s (smallest margin %.4f)",
          qPrintable(ids_json(ours.tokens)), qPrintable(ids_json(to_ids(greedy["tokens"]))),
          *std::min_element(ours.margins.begin(), ours.margins.end()));
    QCOMPARE(to_ids(greedy["tokens"]), ours.tokens);
  }

  // A sharded checkpoint (model.safetensors.index.json + shards) exports to the same bytes.
  void shardedCheckpointGivesTheSameFile() {
    need_model();
    const fs::path sharded = root() / "tiny-sharded";
    make_model(sharded, llama3_, 192, {.max_shard_bytes = 8u << 20});
    QVERIFY(fs::exists(sharded / "model.safetensors.index.json"));
    const fs::path out = root() / "tiny-sharded.gguf";
    auto r = kanana::test::run_kanana({"model", "export-gguf", QString::fromStdString(sharded.string()), "--out",
                                       QString::fromStdString(out.string()), "--name", "tiny"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY(fs::file_size(out) == fs::file_size(f32_));
    auto a = read_file(out), b = read_file(f32_);
    QVERIFY(a.is_ok() && b.is_ok());
    QVERIFY(*a == *b);
  }

  // A weight that cannot be stored (NaN) fails the export half-way, naming the tensor, and
  // the temporary file is removed: nothing is left at the output path.
  void failureWhileWritingLeavesNoFile() {
    if (llama3_.empty()) QSKIP("the Llama 3 tokenizer.json is not in the data cache");
    const fs::path nan = root() / "nan";
    make_model(nan, llama3_, 192, {.weights = [](model::LlamaForCausalLM& m) {
      torch::NoGradGuard no_grad;
      for (auto& item : m->named_parameters()) {
        if (item.key() == "model.layers.1.mlp.up_proj.weight") item.value()[5][7] = std::nanf("");
      }
    }});
    const fs::path out_dir = root() / "nan-out";
    fs::create_directories(out_dir);
    const fs::path out = out_dir / "model.gguf";
    auto r = kanana::test::run_kanana({"model", "export-gguf", QString::fromStdString(nan.string()), "--out",
                                       QString::fromStdString(out.string()), "--type", "q8_0"});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("blk.1.ffn_up.weight") && r.err.contains("row 5"), qPrintable(r.err));
    QVERIFY(!fs::exists(out));
    QVERIFY(fs::is_empty(out_dir));
  }

  // Refusals come before anything is written, and no file (or temporary) is left behind.
  void refusedExportsLeaveNoFile() {
    if (llama3_.empty()) QSKIP("the Llama 3 tokenizer.json is not in the data cache");
    const fs::path out_dir = root() / "refused";
    fs::create_directories(out_dir);
    const fs::path out = out_dir / "model.gguf";

    // A width that Q4_0 blocks cannot hold (intermediate 172 = 5.4 blocks).
    const fs::path odd = root() / "odd";
    make_model(odd, llama3_, 172);
    auto r = kanana::test::run_kanana({"model", "export-gguf", QString::fromStdString(odd.string()), "--out",
                                       QString::fromStdString(out.string()), "--type", "q4_0"});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("blk.0.ffn_down.weight") && r.err.contains("model.layers.0.mlp.down_proj.weight"), qPrintable(r.err));
    QVERIFY(!fs::exists(out));

    // Another architecture.
    auto cfg = read_json_file(odd / "config.json");
    QVERIFY(cfg.is_ok());
    (*cfg)["architectures"] = Json::array({"MistralForCausalLM"});
    QVERIFY(write_json_file(odd / "config.json", *cfg).is_ok());
    r = kanana::test::run_kanana({"model", "export-gguf", QString::fromStdString(odd.string()), "--out",
                                  QString::fromStdString(out.string())});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("architectures") && r.err.contains("MistralForCausalLM"), qPrintable(r.err));
    QVERIFY(!fs::exists(out));

    // A weight file that ends early: refused (by the safetensors reader, naming the file).
    (*cfg)["architectures"] = Json::array({"LlamaForCausalLM"});
    QVERIFY(write_json_file(odd / "config.json", *cfg).is_ok());
    fs::resize_file(odd / "model.safetensors", fs::file_size(odd / "model.safetensors") - 100);
    r = kanana::test::run_kanana({"model", "export-gguf", QString::fromStdString(odd.string()), "--out",
                                  QString::fromStdString(out.string())});
    QCOMPARE(r.code, 1);
    QVERIFY(!fs::exists(out));
    QVERIFY(!dir_has_leftovers(out_dir, "model.gguf"));

    // An unknown --type is a usage error.
    r = kanana::test::run_kanana({"model", "export-gguf", QString::fromStdString(odd.string()), "--out",
                                  QString::fromStdString(out.string()), "--type", "q5_k"});
    QCOMPARE(r.code, 2);
    QVERIFY(r.err.contains("q4_0"));
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestGgufExport)
#include "test_gguf_export.moc"
