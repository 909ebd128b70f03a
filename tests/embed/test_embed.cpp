// Kanana's embedding model: pooling ignores padding and the instruction prefix, attention is
// really bidirectional, the released checkpoint layout (Kanana2VecModel: "model.*" tensors, no
// lm_head) loads, InfoNCE matches its definition, and the "contrastive" recipe type learns a
// word mapping through the generic trainer; `kanana embed` end to end.
#include <torch/torch.h>

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonArray>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <fstream>
#include <random>

#include "base/files.h"
#include "base/strings.h"
#include "embed/contrastive.h"
#include "embed/embedder.h"
#include "embed/embedding_model.h"
#include "model/checkpoint.h"
#include "model/presets.h"
#include "safetensors/safetensors.h"
#include "test_support.h"
#include "train/recipe.h"
#include "train/trainer.h"

using namespace kanana;
using namespace kanana::embed;
namespace fs = std::filesystem;

namespace {

model::LlamaForCausalLM causal_debug_model(uint64_t seed = 5) {
  auto c = model::preset_config("debug");
  auto m = model::init_model(*c, seed);
  return *m;
}

model::LlamaForCausalLM bidirectional_debug_model(uint64_t seed = 5) {
  auto causal = causal_debug_model(seed);
  return *to_embedding_layout(causal);
}

torch::Tensor embed_rows(model::LlamaForCausalLM& m, const std::vector<const EmbedInput*>& rows, int32_t pad) {
  torch::NoGradGuard ng;
  return embed_forward(m, make_embed_batch(rows, pad, torch::kCPU));
}

fs::path llama3_tokenizer() { return test::data_cache().toStdString() + "/tokenizers/llama3/tokenizer.json"; }

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

}  // namespace

class TestEmbed : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;

 private Q_SLOTS:
  void initTestCase() {
    torch::set_num_threads(1);
    QVERIFY(tmp_.isValid());
  }

  void paddingDoesNotChangeTheVector() {
    auto m = bidirectional_debug_model();
    EmbedInput a{{1, 17, 99, 230, 42, 7}, 2};
    EmbedInput b{{1, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, 0};
    auto alone = embed_rows(m, {&a}, 0);
    auto padded = embed_rows(m, {&a, &b}, 0);          // a right-padded by 7
    auto other_pad = embed_rows(m, {&b, &a}, 311);     // another pad id, a in row 1
    QVERIFY(torch::allclose(alone[0], padded[0], 1e-5, 1e-6));
    QVERIFY(torch::allclose(alone[0], other_pad[1], 1e-5, 1e-6));
    QVERIFY(std::abs(alone[0].norm().item<double>() - 1.0) < 1e-5);
    // The same text with a different instruction length is a different input: sanity that
    // the comparison above can fail.
    EmbedInput c{{1, 17, 99, 230, 42, 8}, 2};
    QVERIFY(!torch::allclose(alone[0], embed_rows(m, {&c}, 0)[0], 1e-4, 1e-5));
  }

  void instructionIsNotPooled() {
    auto m = bidirectional_debug_model();
    EmbedInput in{{1, 40, 41, 42, 300, 301, 302, 303}, 4};  // BOS + 3 instruction tokens, 4 text tokens
    torch::NoGradGuard ng;
    auto batch = make_embed_batch({&in}, 0, torch::kCPU);
    model::ForwardOptions fo;
    fo.compute_logits = false;
    auto hidden = m->forward(batch.input_ids, fo).last_hidden_state[0];  // (8, hidden)
    auto expect = hidden.narrow(0, 4, 4).mean(0);
    expect = expect / expect.norm();
    auto got = embed_forward(m, batch)[0];
    QVERIFY(torch::allclose(got, expect, 1e-5, 1e-6));
    auto all = hidden.mean(0);
    all = all / all.norm();
    QVERIFY(!torch::allclose(got, all, 1e-3, 1e-4));
    // The instruction still conditions the text (bidirectional attention): same text tokens,
    // another instruction, another vector.
    EmbedInput other{{1, 50, 51, 52, 300, 301, 302, 303}, 4};
    QVERIFY(!torch::allclose(got, embed_rows(m, {&other}, 0)[0], 1e-3, 1e-4));
  }

  void bidirectionalSeesFutureTokens() {
    auto causal = causal_debug_model(9);
    auto bi = *to_embedding_layout(causal);
    QVERIFY(bi->config().bidirectional);
    QVERIFY(!causal->config().bidirectional);
    auto a = torch::tensor({{1, 10, 20, 30, 40, 50}}, torch::kInt64);
    auto b = a.clone();
    b[0][4] = 77;  // change a later token
    model::ForwardOptions fo;
    fo.compute_logits = false;
    torch::NoGradGuard ng;
    auto h_bi_a = bi->forward(a, fo).last_hidden_state, h_bi_b = bi->forward(b, fo).last_hidden_state;
    auto h_c_a = causal->forward(a, fo).last_hidden_state, h_c_b = causal->forward(b, fo).last_hidden_state;
    // Position 1 sees position 4 only with bidirectional attention.
    QVERIFY((h_bi_a[0][1] - h_bi_b[0][1]).abs().max().item<double>() > 1e-4);
    QVERIFY((h_c_a[0][1] - h_c_b[0][1]).abs().max().item<double>() == 0.0);
    // Same weights: position 5 (which sees everything either way) agrees.
    QVERIFY(torch::allclose(h_bi_a[0][5], bi->forward(a, fo).last_hidden_state[0][5]));
  }

  void emptyPoolMaskGivesZerosNotNan() {
    auto h = torch::randn({2, 3, 4});
    auto mask = torch::tensor({{0, 0, 0}, {1, 1, 0}}, torch::kInt64);
    auto p = masked_mean_pool(h, mask);
    QVERIFY(!p.isnan().any().item<bool>());
    QVERIFY(p[0].abs().sum().item<double>() == 0.0);
    QVERIFY(torch::allclose(p[1], (h[1][0] + h[1][1]) / 2));
  }

  void infoNceMatchesItsDefinition() {
    auto q = torch::nn::functional::normalize(torch::randn({5, 8}), torch::nn::functional::NormalizeFuncOptions().dim(1));
    auto p = torch::nn::functional::normalize(torch::randn({5, 8}), torch::nn::functional::NormalizeFuncOptions().dim(1));
    const double t = 0.07;
    // Written out in doubles from the definition: -log exp(s_ii/t) / sum_j exp(s_ij/t).
    const auto q64 = q.to(torch::kFloat64), p64 = p.to(torch::kFloat64);
    auto qa = q64.accessor<double, 2>();
    auto pa = p64.accessor<double, 2>();
    auto sim = [&](int i, int j) {
      double s = 0;
      for (int d = 0; d < 8; ++d) s += qa[i][d] * pa[j][d];
      return s;
    };
    double fwd = 0, bwd = 0;
    for (int i = 0; i < 5; ++i) {
      double zr = 0, zc = 0;
      for (int j = 0; j < 5; ++j) {
        zr += std::exp(sim(i, j) / t);
        zc += std::exp(sim(j, i) / t);
      }
      fwd += -(sim(i, i) / t - std::log(zr));
      bwd += -(sim(i, i) / t - std::log(zc));
    }
    fwd /= 5;
    bwd /= 5;
    QVERIFY(std::abs(info_nce_loss(q, p, t, false).loss.item<double>() - fwd) < 1e-4);
    QVERIFY(std::abs(info_nce_loss(q, p, t, true).loss.item<double>() - 0.5 * (fwd + bwd)) < 1e-4);
    // Identical pairs far apart: accuracy 1, low loss.
    auto e = torch::eye(4);
    auto out = info_nce_loss(e, e, 0.05, true);
    QCOMPARE(out.accuracy.item<double>(), 1.0);
    QVERIFY(out.loss.item<double>() < 1e-6);
    QCOMPARE(out.negative_similarity.item<double>(), 0.0);
  }

  void pairFileProblemsNameTheLine() {
    const fs::path f = tmp_.filePath("pairs.jsonl").toStdString();
    write_text(f, "{\"query\": \"a\", \"positive\": \"b\"}\n"
                  "not json\n"
                  "\n"
                  "{\"query\": \"a\"}\n"
                  "{\"query\": \"a\", \"positive\": 3}\n"
                  "{\"query\": \"  \", \"positive\": \"x\"}\n"
                  "[1, 2]\n");
    auto r = read_pairs_jsonl(f);
    QVERIFY(r.is_ok());
    QCOMPARE(r->pairs.size(), size_t(1));
    QCOMPARE(r->problems.size(), size_t(5));
    QVERIFY2(r->problems[0].find("pairs.jsonl:2: not valid JSON") != std::string::npos, r->problems[0].c_str());
    QVERIFY2(r->problems[1].find(":4: field 'positive' is required") != std::string::npos, r->problems[1].c_str());
    QVERIFY(r->problems[2].find(":5: field 'positive' must be a string") != std::string::npos);
    QVERIFY(r->problems[3].find(":6: field 'query' is empty") != std::string::npos);
    auto strict = read_pairs_jsonl(f, true);
    QVERIFY(!strict.is_ok());
    QVERIFY(strict.status().message().find("pairs.jsonl:2") != std::string::npos);
  }

  // The layout of kakaocorp/kanana-nano-2.1b-embedding (transformers Kanana2VecModel: a
  // BiLlamaModel under "model.", no lm_head, custom architectures/auto_map, untied, bf16).
  void loadsTheKanana2VecLayoutUnchanged() {
    auto src = bidirectional_debug_model(21);
    const fs::path dir = tmp_.filePath("kanana2vec").toStdString();
    fs::create_directories(dir);
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    for (const auto& item : src->named_parameters()) tensors.push_back({item.key(), item.value().detach().to(torch::kBFloat16)});
    QVERIFY(st::save_checkpoint(dir, tensors).is_ok());
    Json cfg = model::llama_config_to_json(src->config());
    cfg["architectures"] = {"Kanana2VecModel"};
    cfg["model_type"] = "kanana2vec";
    cfg["auto_map"] = {{"AutoConfig", "configuration_kanana2vec.Kanana2VecConfig"},
                       {"AutoModel", "modeling_kanana2vec.Kanana2VecModel"}};
    cfg["tie_word_embeddings"] = false;
    cfg["torch_dtype"] = "bfloat16";
    QVERIFY(write_json_file(dir / "config.json", cfg).is_ok());

    model::LoadOptions lo;
    lo.dtype = torch::kFloat32;
    auto loaded = load_embedding_model(dir, lo);
    QVERIFY2(loaded.is_ok(), loaded.status().to_string().c_str());
    QVERIFY(loaded->config.bidirectional);
    QVERIFY(!loaded->config.tie_word_embeddings);  // the file's config, unchanged
    QVERIFY(!loaded->model->lm_head);              // no random head allocated
    QVERIFY(!loaded->warnings.empty());
    EmbedInput in{{1, 3, 5, 7, 9, 11}, 2};
    auto want = embed_rows(src, {&in}, 0);
    auto got = embed_rows(loaded->model, {&in}, 0);
    QVERIFY(torch::allclose(want, got, 2e-2, 2e-2));  // bf16 weights

    // A tensor Kanana2VecModel does not have is refused by name.
    tensors.push_back({"pooler.weight", torch::zeros({2, 2})});
    const fs::path bad = tmp_.filePath("kanana2vec-extra").toStdString();
    fs::create_directories(bad);
    QVERIFY(st::save_checkpoint(bad, tensors).is_ok());
    QVERIFY(write_json_file(bad / "config.json", cfg).is_ok());
    auto refused = load_embedding_model(bad, lo);
    QVERIFY(!refused.is_ok());
    QVERIFY2(refused.status().message().find("pooler.weight") != std::string::npos, refused.status().message().c_str());
  }

  void refusesACausalModel() {
    auto m = causal_debug_model();
    const fs::path dir = tmp_.filePath("causal").toStdString();
    QVERIFY(model::save_model(dir, m).is_ok());
    auto r = load_embedding_model(dir);
    QVERIFY(!r.is_ok());
    QVERIFY2(r.status().message().find("kanana2vec") != std::string::npos, r.status().message().c_str());
  }

  void tokenizesWithTheInstructionPrefix() {
    auto tok = tok::load_tokenizer(llama3_tokenizer());
    if (!tok.is_ok()) QSKIP("Llama 3 tokenizer not in the cache; run scripts/setup.sh");
    const auto& t = **tok;
    const std::string instruction = format_instruction(kRetrievalInstruction);
    QCOMPARE(instruction, std::string("Instruct: ") + kRetrievalInstruction + "\nQuery:");
    auto in = tokenize_for_embedding(t, "  데비안은 무엇인가요?  ", instruction, 512);
    QVERIFY(in.is_ok());
    tok::EncodeOptions eo;
    eo.parse_special = false;
    const auto prefix = t.encode(instruction, eo), body = t.encode(" 데비안은 무엇인가요?", eo);
    QCOMPARE(in->prefix_len, int64_t(1 + prefix.size()));
    QCOMPARE(in->ids.front(), *t.bos_id());
    QCOMPARE(std::vector<int32_t>(in->ids.begin() + in->prefix_len, in->ids.end()), body);
    // Kanana2Vec tokenises "<instruction> <text>" at once; the split is at a pre-token boundary.
    auto joined = t.encode(instruction + " 데비안은 무엇인가요?", eo);
    QCOMPARE(std::vector<int32_t>(in->ids.begin() + 1, in->ids.end()), joined);
    auto cut = tokenize_for_embedding(t, "one two three four five six seven", "", 4);
    QCOMPARE(cut->ids.size(), size_t(4));
    QCOMPARE(cut->prefix_len, int64_t(0));
    QVERIFY(!tokenize_for_embedding(t, " \n ", "", 16).is_ok());
    QVERIFY(!tokenize_for_embedding(t, "text", instruction, 5).is_ok());
  }

  // Queries "w_i w_j" (English) ↔ positives "k_j k_i" (their Korean stand-ins): no token is
  // shared, so only training can match them. Validation pairs are unseen combinations.
  void contrastiveRecipeLearnsThroughTheTrainer() {
    if (!fs::exists(llama3_tokenizer())) QSKIP("Llama 3 tokenizer not in the cache; run scripts/setup.sh");
    const std::vector<std::string> en = {"apple", "river", "stone", "cloud", "green", "table", "music", "light",
                                         "horse", "winter", "paper", "glass"};
    const std::vector<std::string> ko = {"사과", "강물", "돌멩이", "구름", "초록", "책상", "음악", "빛",
                                         "말", "겨울", "종이", "유리"};
    std::mt19937 rng(4);
    std::vector<std::pair<int, int>> combos;
    for (int i = 0; i < 12; ++i)
      for (int j = 0; j < 12; ++j)
        if (i != j) combos.push_back({i, j});
    std::shuffle(combos.begin(), combos.end(), rng);
    auto line = [&](std::pair<int, int> c) {
      return Json{{"query", en[c.first] + " " + en[c.second]}, {"positive", ko[c.second] + " " + ko[c.first]}}.dump() + "\n";
    };
    std::string train, val;
    for (size_t i = 0; i < combos.size(); ++i) (i < 24 ? val : train) += line(combos[i]);
    const fs::path dir = tmp_.filePath("contrastive").toStdString();
    fs::create_directories(dir);
    write_text(dir / "train.jsonl", train);
    write_text(dir / "val.jsonl", val);
    Json cfg = model::llama_config_to_json(*model::preset_config("debug"));
    cfg["vocab_size"] = 128256;
    cfg["hidden_size"] = 32;
    cfg["intermediate_size"] = 64;
    cfg["num_hidden_layers"] = 1;
    cfg["num_attention_heads"] = 2;
    cfg["num_key_value_heads"] = 2;
    QVERIFY(write_json_file(dir / "model.json", cfg).is_ok());
    Json recipe = {{"type", "contrastive"}, {"name", "embed-test"}, {"model", {{"config", "model.json"}}},
                   {"seq_len", 48}, {"micro_batch_size", 16}, {"grad_accum", 1}, {"seed", 3},
                   {"schedule", {{"kind", "cosine"}, {"peak_lr", 1e-2}, {"warmup_steps", 5}, {"min_lr_ratio", 0.1}}},
                   {"contrastive", {{"train", "train.jsonl"}, {"val", "val.jsonl"}, {"tokenizer", llama3_tokenizer().string()},
                                    {"max_steps", 60}, {"temperature", 0.05}}},
                   {"validation", {{"interval", 0}}}, {"checkpoint", {{"interval", 0}, {"keep_last", 1}}},
                   {"runtime", {{"peak_tflops", 1.0}}}};
    auto r = train::parse_recipe(recipe, (dir / "r.json").string(), dir);
    QVERIFY2(r.is_ok(), r.status().to_string().c_str());
    // An unknown key of the block is named.
    Json typo = recipe;
    typo["contrastive"]["temprature"] = 0.1;
    auto bad = train::parse_recipe(typo, "r.json", dir);
    QVERIFY(!bad.is_ok());
    QVERIFY(bad.status().message().find("temprature") != std::string::npos);

    train::TrainOptions to;
    to.run_dir = dir / "run";
    auto result = train::run_training(*r, to);
    QVERIFY2(result.is_ok(), result.status().to_string().c_str());
    QVERIFY(result->finished);
    QVERIFY(result->steps.back().loss < 0.5 * result->steps.front().loss);
    // Validation over 24 unseen combinations (chance recall@1 = 1/24).
    auto events = read_file(to.run_dir / "events.jsonl");
    QVERIFY(events.is_ok());
    double recall = -1;
    for (const auto& l : split(*events, '\n')) {
      auto j = Json::parse(l, nullptr, false);
      if (!j.is_discarded() && j.contains("metrics") && j["metrics"].contains("val_recall@1"))
        recall = j["metrics"]["val_recall@1"].get<double>();
    }
    QVERIFY2(recall >= 0.5, std::to_string(recall).c_str());
    // The checkpoint is a kanana2vec folder without lm_head that load_embedder reads (the
    // tokenizer comes from <run>/tokenizer).
    auto reader = st::CheckpointReader::open(result->last_checkpoint);
    QVERIFY(reader.is_ok());
    QVERIFY(!(*reader)->has("lm_head.weight"));
    auto e = load_embedder(result->last_checkpoint);
    QVERIFY2(e.is_ok(), e.status().to_string().c_str());
    auto v = (*e)->embed({"apple river", "강물 사과", "winter glass"}, kRetrievalInstruction);
    QVERIFY(v.is_ok());
    QCOMPARE(v->rows, int64_t(3));
    for (int64_t i = 0; i < 3; ++i) {
      double n = 0;
      for (int64_t d = 0; d < v->dim; ++d) n += double(v->row(i)[d]) * v->row(i)[d];
      QVERIFY(std::abs(n - 1.0) < 1e-4);
    }
    // One text embedded alone or with longer texts in its batch: the same vector.
    auto alone = (*e)->embed({"winter glass"}, kRetrievalInstruction);
    for (int64_t d = 0; d < v->dim; ++d) QVERIFY(std::abs(alone->row(0)[d] - v->row(2)[d]) < 1e-5);
    QVERIFY(!(*e)->embed({"fine", " "}).is_ok());

    // kanana embed: JSONL per non-blank line, line numbers kept.
    const fs::path input = dir / "lines.txt";
    write_text(input, "apple river\n\n강물 사과\n");
    auto run = test::run_kanana({"embed", "--model", QString::fromStdString(result->last_checkpoint.string()), "--input",
                                 QString::fromStdString(input.string()), "--query-instruction", kRetrievalInstruction});
    QCOMPARE(run.code, 0);
    const auto lines = run.out.trimmed().split('\n');
    QCOMPARE(lines.size(), 2);
    auto first = QJsonDocument::fromJson(lines[0].toUtf8()).object();
    QCOMPARE(first["line"].toInt(), 1);
    QCOMPARE(QJsonDocument::fromJson(lines[1].toUtf8()).object()["line"].toInt(), 3);
    const auto vec = first["embedding"].toArray();
    QCOMPARE(vec.size(), 32);
    for (int d = 0; d < 32; ++d) QVERIFY(std::abs(vec[d].toDouble() - v->row(0)[d]) < 1e-5);
  }

  void embedCliErrors() {
    auto usage = test::run_kanana({"embed"});
    QCOMPARE(usage.code, 2);
    auto m = causal_debug_model();
    const fs::path dir = tmp_.filePath("causal-cli").toStdString();
    QVERIFY(model::save_model(dir, m).is_ok());
    auto run = test::run_kanana({"embed", "--model", QString::fromStdString(dir.string()), "--input", "/dev/null"});
    QCOMPARE(run.code, 1);
    QVERIFY2(run.err.contains("kanana2vec"), qPrintable(run.err));
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestEmbed)
#include "test_embed.moc"
