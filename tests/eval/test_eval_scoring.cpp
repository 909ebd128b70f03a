// Scoring against real models: choice log-likelihoods equal an independent PyTorch computation
// (reference_eval.py, written from lm-eval's semantics and the Llama equations); shared-prefix
// batching equals scoring every choice separately (with padding, batching and truncation); a
// tiny model trained here on a task with a known answer pattern scores far above chance while
// a random one stays near it (multiple choice and generation); perplexity / bits per byte agree
// between a pack and the raw text and with a direct forward pass.
#include <QtTest>

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "../posttrain/byte_tokenizer.h"
#include "base/files.h"
#include "eval/eval_model.h"
#include "eval/loglikelihood.h"
#include "eval/runner.h"
#include "model/checkpoint.h"
#include "model/llama.h"
#include "shards/shard.h"
#include "test_support.h"
#include "tokenizer/tokenizer.h"

using namespace kanana;
using namespace kanana::eval;
namespace fs = std::filesystem;

namespace {

constexpr int kEos = 257;  // <|im_end|> of the byte tokenizer

model::LlamaConfig small_config(double init_range) {
  model::LlamaConfig c;
  c.vocab_size = 260;
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.max_position_embeddings = 512;
  c.initializer_range = init_range;
  c.tie_word_embeddings = false;
  c.eos_token_ids = {kEos};
  return c;
}

void write_lines(const fs::path& p, const std::vector<Json>& rows) {
  std::ofstream f(p);
  for (const auto& r : rows) f << r.dump() << "\n";
}

const std::vector<std::string> kKeys = {"cat", "dog", "cow", "owl", "bee", "fox", "pig", "hen"};
const std::vector<std::string> kValues = {"meow", "woof", "moo", "hoot", "buzz", "yip", "oink", "cluck"};

// 200 items "Q: <animal>\nA:" with 4 sounds; the gold position cycles 0,1,2,3 and the
// distractors are 3 other sounds drawn with a fixed seed.
std::vector<Json> animal_items(int n) {
  std::mt19937 rng(5);
  std::vector<Json> rows;
  for (int i = 0; i < n; ++i) {
    const int k = int(rng() % kKeys.size());
    std::vector<int> others;
    for (int j = 0; j < int(kValues.size()); ++j) {
      if (j != k) others.push_back(j);
    }
    std::shuffle(others.begin(), others.end(), rng);
    std::vector<std::string> choices = {kValues[size_t(others[0])], kValues[size_t(others[1])], kValues[size_t(others[2])]};
    const int gold = i % 4;
    choices.insert(choices.begin() + gold, kValues[size_t(k)]);
    rows.push_back({{"question", kKeys[size_t(k)]}, {"choices", choices}, {"answer", gold}});
  }
  return rows;
}

TaskSpec animal_spec(const fs::path& data) {
  TaskSpec s = preset_spec(Layout::kGeneric, data);
  s.name = "animals";
  s.template_text = "Q: {question}\nA:";
  s.choices_field = "choices";
  s.answer_format = "index0";
  s.score_letters = false;
  return s;
}

// Trains `m` on "Q: <animal>\nA: <sound>\n" text (byte tokens) for a few hundred steps.
double train_animals(model::LlamaForCausalLM& m) {
  m->train();
  torch::optim::AdamW opt(m->parameters(), torch::optim::AdamWOptions(3e-3).weight_decay(0.0));
  std::mt19937 rng(11);
  const int64_t batch = 8, len = 40;
  double last = 0;
  for (int step = 0; step < 200; ++step) {
    auto ids = torch::empty({batch, len}, torch::kInt64);
    auto a = ids.accessor<int64_t, 2>();
    for (int64_t b = 0; b < batch; ++b) {
      std::string text;
      while (int64_t(text.size()) < len) {
        const size_t k = rng() % kKeys.size();
        text += "Q: " + kKeys[k] + "\nA: " + kValues[k] + "\n";
      }
      for (int64_t i = 0; i < len; ++i) a[b][i] = static_cast<unsigned char>(text[size_t(i)]);
    }
    auto logits = m->forward(ids).logits;  // (b, len, vocab)
    auto loss = torch::nn::functional::cross_entropy(
        logits.narrow(1, 0, len - 1).reshape({-1, logits.size(-1)}), ids.narrow(1, 1, len - 1).reshape({-1}));
    opt.zero_grad();
    loss.backward();
    opt.step();
    last = loss.item<double>();
  }
  m->eval();
  return last;
}

}  // namespace

class TestEvalScoring : public QObject {
  Q_OBJECT

  QTemporaryDir tmp_;
  fs::path random_dir_, trained_dir_, untrained_dir_;
  fs::path dir() const { return fs::path(tmp_.path().toStdString()); }

  static fs::path save(const fs::path& d, model::LlamaForCausalLM& m) {
    fs::create_directories(d);
    if (!model::save_model(d, m).is_ok() || !test::write_byte_tokenizer(d)) return {};
    return d;
  }

 private Q_SLOTS:
  void initTestCase() {
    // Tiny models: one thread is as fast and does not fight the other suites for the cores.
    torch::set_num_threads(1);
    torch::manual_seed(0);
    auto r = model::init_model(small_config(0.3), 1234);
    QVERIFY(r.is_ok());
    random_dir_ = save(dir() / "random", *r);
    QVERIFY(!random_dir_.empty());

    model::LlamaConfig c = small_config(0.02);
    c.hidden_size = 64;
    c.intermediate_size = 128;
    c.head_dim = 16;
    auto untrained = model::init_model(c, 99);
    QVERIFY(untrained.is_ok());
    untrained_dir_ = save(dir() / "untrained", *untrained);
    auto t = model::init_model(c, 99);
    QVERIFY(t.is_ok());
    const auto start = std::chrono::steady_clock::now();
    const double loss = train_animals(*t);
    qInfo("trained the animal model to loss %.3f in %.1f s", loss,
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    QVERIFY2(loss < 1.2, std::to_string(loss).c_str());
    trained_dir_ = save(dir() / "trained", *t);
  }

  void choiceLoglikelihoodsEqualPythonReference() {
    const QString python = "/usr/bin/python3";
    QProcess probe;
    probe.start(python, {"-c", "import torch"});
    if (!probe.waitForFinished(60000) || probe.exitCode() != 0) {
      QSKIP("/usr/bin/python3 with torch (Debian python3-torch) is not installed");
    }
    // Choices of different byte lengths (Korean vs English) so acc_norm differs from acc.
    std::vector<Json> rows = {
        {{"question", "What is the capital of Korea?"}, {"choices", {"Seoul", "부산", "Daegu city", "광주"}}, {"answer", 0}},
        {{"question", "하늘은 무슨 색인가요?"}, {"choices", {"파란색", "red", "초록색입니다", "k"}}, {"answer", 0}},
        {{"question", "2 + 2 ="}, {"choices", {"3", "4", "five", "여섯"}}, {"answer", 1}},
        {{"question", "Pick the animal"}, {"choices", {"table", "고양이", "river"}}, {"answer", 1}},
        {{"question", "A long question that makes the context longer than the others by quite a bit"},
         {"choices", {"yes", "no"}}, {"answer", 0}},
        {{"question", "Last one"}, {"choices", {"a", "bb", "ccc", "dddd"}}, {"answer", 3}}};
    const fs::path data = dir() / "ref_task.jsonl";
    write_lines(data, rows);
    TaskSpec spec = preset_spec(Layout::kGeneric, data);
    spec.name = "ref";
    spec.template_text = "Question: {question}\nAnswer: ";  // trailing space: moves into the continuation
    spec.choices_field = "choices";
    spec.answer_format = "index0";
    spec.num_fewshot = 2;
    ModelOptions mo;
    mo.dir = random_dir_;
    auto model = EvalModel::load(mo);
    QVERIFY2(model.is_ok(), model.status().message().c_str());
    QVERIFY(!(*model)->add_bos());
    RunOptions ro;
    ro.batch_size = 5;
    auto res = run_multiple_choice(**model, spec, ro);
    QVERIFY2(res.is_ok(), res.status().message().c_str());

    Json pool = Json::object();
    for (size_t i = 0; i < rows.size(); ++i) pool[std::to_string(i + 1)] = rows[i];
    Json items = Json::array();
    for (size_t i = 0; i < rows.size(); ++i) {
      Json it = rows[i];
      it["fewshot_lines"] = res->samples[i]["fewshot_lines"];
      QCOMPARE(it["fewshot_lines"].size(), size_t(2));
      items.push_back(it);
    }
    Json spec_json = {{"model_dir", random_dir_.string()}, {"items", items},        {"pool", pool},
                      {"template_prefix", "Question: "},  {"template_middle", "\nAnswer: "},
                      {"target_delimiter", " "},          {"fewshot_delimiter", "\n\n"}};
    const fs::path in = dir() / "ref_in.json", out = dir() / "ref_out.json";
    QVERIFY(write_json_file(in, spec_json).is_ok());
    QProcess p;
    p.start(python, {test::source_dir() + "/tests/eval/reference_eval.py", QString::fromStdString(in.string()),
                     QString::fromStdString(out.string())});
    QVERIFY(p.waitForFinished(120000));
    QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
    auto ref = read_json_file(out);
    QVERIFY(ref.is_ok());
    int norm_differs = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      const Json& mine = res->samples[i];
      const Json& theirs = (*ref)[i];
      QCOMPARE(mine["logprobs"].size(), theirs["logprobs"].size());
      for (size_t c = 0; c < theirs["logprobs"].size(); ++c) {
        const double a = mine["logprobs"][c].get<double>(), b = theirs["logprobs"][c].get<double>();
        QVERIFY2(std::abs(a - b) < 1e-4 * std::max(1.0, std::abs(b)),
                 ("item " + std::to_string(i) + " choice " + std::to_string(c) + ": " + std::to_string(a) + " vs " +
                  std::to_string(b)).c_str());
      }
      QCOMPARE(mine["pred"].get<int>(), theirs["pred"].get<int>());
      QCOMPARE(mine["pred_norm"].get<int>(), theirs["pred_norm"].get<int>());
      QCOMPARE(mine["acc"].get<double>(), theirs["acc"].get<double>());
      QCOMPARE(mine["acc_norm"].get<double>(), theirs["acc_norm"].get<double>());
      norm_differs += mine["pred"] != mine["pred_norm"];
    }
    qInfo("acc and acc_norm disagree on %d of %zu items", norm_differs, rows.size());
  }

  void sharedPrefixEqualsSeparate() {
    auto rows = animal_items(24);
    // Longer contexts of different lengths, and one item whose context exceeds max_length.
    rows[3]["question"] = "cow, a very long question to make padding inside a batch necessary";
    rows[7]["question"] = std::string(90, 'z');
    const fs::path data = dir() / "shared.jsonl";
    write_lines(data, rows);
    TaskSpec spec = animal_spec(data);
    ModelOptions mo;
    mo.dir = random_dir_;
    auto model = EvalModel::load(mo);
    QVERIFY(model.is_ok());
    auto items = load_task_items(spec, data, false);
    QVERIFY(items.is_ok());
    auto reqs = build_mc_requests(**model, spec, items->items, items->items, true, 3, 77);
    QVERIFY2(reqs.is_ok(), reqs.status().message().c_str());
    QVERIFY(reqs->requests[7].context.size() > 100);
    ScorerOptions separate;
    separate.shared_prefix = false;
    separate.max_length = 120;  // item 7 (3-shot, 90 z's) is left-truncated
    separate.batch_rows = 7;
    auto base = score_requests((*model)->model(), reqs->requests, separate);
    QVERIFY2(base.is_ok(), base.status().message().c_str());
    for (int64_t rows_per_batch : {1, 4, 16, 64}) {
      ScorerOptions shared = separate;
      shared.shared_prefix = true;
      shared.batch_rows = rows_per_batch;
      auto s = score_requests((*model)->model(), reqs->requests, shared);
      QVERIFY2(s.is_ok(), s.status().message().c_str());
      double worst = 0;
      for (size_t i = 0; i < base->size(); ++i) {
        for (size_t c = 0; c < (*base)[i].size(); ++c) {
          worst = std::max(worst, std::abs((*base)[i][c].logprob - (*s)[i][c].logprob));
          QCOMPARE((*s)[i][c].tokens, (*base)[i][c].tokens);
        }
      }
      QVERIFY2(worst < 1e-4, ("batch " + std::to_string(rows_per_batch) + ": max |diff| " + std::to_string(worst)).c_str());
    }
    // The same numbers through the whole runner (acc agrees item by item).
    RunOptions a, b;
    a.shared_prefix = true;
    b.shared_prefix = false;
    a.num_fewshot = b.num_fewshot = 2;
    auto ra = run_multiple_choice(**model, spec, a), rb = run_multiple_choice(**model, spec, b);
    QVERIFY(ra.is_ok() && rb.is_ok());
    for (size_t i = 0; i < ra->samples.size(); ++i) {
      QCOMPARE(ra->samples[i]["pred"], rb->samples[i]["pred"]);
      QCOMPARE(ra->samples[i]["fewshot_lines"], rb->samples[i]["fewshot_lines"]);
    }
  }

  void trainedModelBeatsChanceRandomDoesNot() {
    const fs::path data = dir() / "animals.jsonl";
    write_lines(data, animal_items(200));
    const TaskSpec spec = animal_spec(data);
    auto score = [&](const fs::path& m) -> std::pair<double, double> {
      ModelOptions mo;
      mo.dir = m;
      auto model = EvalModel::load(mo);
      if (!model.is_ok()) return {-1, -1};
      auto r = run_multiple_choice(**model, spec, RunOptions{});
      if (!r.is_ok()) return {-1, -1};
      return {r->metrics.at("acc,none").value, r->metrics.at("acc_norm,none").value};
    };
    const auto [acc_t, norm_t] = score(trained_dir_);
    const auto [acc_r, norm_r] = score(untrained_dir_);
    qInfo("trained: acc %.3f acc_norm %.3f; untrained: acc %.3f acc_norm %.3f", acc_t, norm_t, acc_r, norm_r);
    QVERIFY(acc_t >= 0.9 && norm_t >= 0.9);
    QVERIFY(acc_r > 0.1 && acc_r < 0.42);
    QVERIFY(norm_r > 0.1 && norm_r < 0.42);

    // Generation: greedy answer after "A:", cut at the newline, exact match.
    std::vector<Json> gen_rows;
    for (size_t k = 0; k < kKeys.size(); ++k) gen_rows.push_back({{"question", kKeys[k]}, {"answer", kValues[k]}});
    const fs::path gdata = dir() / "animals_gen.jsonl";
    write_lines(gdata, gen_rows);
    TaskSpec g = preset_spec(Layout::kGeneric, gdata);
    g.type = TaskType::kGenerate;
    g.name = "animals_gen";
    g.template_text = "Q: {question}\nA:";
    g.target_template = "{answer}";
    g.stop = {"\n"};
    g.max_new_tokens = 8;
    auto gen_score = [&](const fs::path& m) -> double {
      ModelOptions mo;
      mo.dir = m;
      auto model = EvalModel::load(mo);
      if (!model.is_ok()) return -1;
      RunOptions ro;
      ro.batch_size = 3;  // several batches, left-padded prompts
      auto r = run_generation(**model, g, ro);
      if (!r.is_ok()) return -1;
      return r->metrics.at("exact_match,none").value;
    };
    const double em_t = gen_score(trained_dir_), em_r = gen_score(untrained_dir_);
    qInfo("generation exact match: trained %.3f, untrained %.3f", em_t, em_r);
    QVERIFY(em_t >= 0.75);
    QCOMPARE(em_r, 0.0);
  }

  void perplexityPackEqualsTextAndForward() {
    const std::vector<std::pair<std::string, std::string>> docs = {
        {"Q: cat\nA: meow\nQ: dog\nA: woof\n", "en"},
        {"고양이는 야옹 하고 웁니다. 개는 멍멍.", "ko"},
        {"Q: owl\nA: hoot\n and some other text that the model has not seen", "en"}};
    const fs::path text = dir() / "ppl.jsonl";
    std::vector<Json> rows;
    for (const auto& [t, l] : docs) rows.push_back({{"text", t}, {"lang", l}});
    write_lines(text, rows);
    ModelOptions mo;
    mo.dir = trained_dir_;
    auto model = EvalModel::load(mo);
    QVERIFY(model.is_ok());
    // A pack of the same documents (EOS-separated, as `kanana data pack` writes them).
    const fs::path pack = dir() / "ppl_pack";
    auto w = shards::ShardSetWriter::create(pack, {});
    QVERIFY(w.is_ok());
    for (const auto& [t, l] : docs) {
      auto ids = (*model)->encode(t, false);
      ids.push_back(kEos);
      QVERIFY((*w)->add_document(ids, shards::Split::kValidation).is_ok());
    }
    shards::Manifest man;
    man.source_name = "ppl_pack";
    man.tokenizer_path = trained_dir_.string();
    man.tokenizer_fingerprint = (*model)->tokenizer().fingerprint();
    man.eos_id = kEos;
    man.add_eos = true;
    man.vocab_size = 260;
    QVERIFY((*w)->finish(man).is_ok());

    PerplexityOptions po;
    po.inputs = {text, pack};
    auto both = run_perplexity(**model, po);
    QVERIFY2(both.is_ok(), both.status().message().c_str());
    auto find = [](const std::vector<TaskResult>& v, const std::string& n) -> const TaskResult* {
      for (const auto& r : v) {
        if (r.name == n) return &r;
      }
      return nullptr;
    };
    const TaskResult* a = find(*both, "ppl/ppl");       // the JSONL file
    const TaskResult* b = find(*both, "ppl/ppl_pack");  // the pack's val split
    QVERIFY(a && b && find(*both, "ppl/all"));
    QVERIFY(find(*both, "ppl/all/ko") && find(*both, "ppl/all/en") && find(*both, "ppl/ppl/ko"));
    QCOMPARE(int(find(*both, "ppl/all")->samples.size()), 6);
    const double bpb = a->metrics.at("bits_per_byte,none").value;
    const double bpb_pack = b->metrics.at("bits_per_byte,none").value;
    QVERIFY2(std::abs(bpb - bpb_pack) < 1e-6 * bpb, (std::to_string(bpb) + " vs " + std::to_string(bpb_pack)).c_str());
    QCOMPARE(a->config["bytes"].get<double>(), b->config["bytes"].get<double>());
    QCOMPARE(a->config["tokens"].get<double>(), b->config["tokens"].get<double>());

    // Direct: one forward over [EOS] + tokens of every document, Σ −log p / (ln 2 · bytes).
    torch::NoGradGuard ng;
    double nll = 0, bytes = 0;
    for (const auto& [t, l] : docs) {
      auto ids = (*model)->encode(t, false);
      std::vector<int64_t> seq = {kEos};
      seq.insert(seq.end(), ids.begin(), ids.end());
      auto x = torch::tensor(seq, torch::kInt64).unsqueeze(0);
      auto lp = torch::log_softmax((*model)->model()->forward(x).logits[0].to(torch::kFloat64), -1);
      for (size_t i = 1; i < seq.size(); ++i) nll -= lp[int64_t(i - 1)][seq[i]].item<double>();
      bytes += double(t.size());
    }
    const double direct = nll / (std::log(2.0) * bytes);
    QVERIFY2(std::abs(direct - bpb) < 1e-4, (std::to_string(direct) + " vs " + std::to_string(bpb)).c_str());
    // The model was trained on the animal lines: they cost fewer bits than Korean it never saw.
    QVERIFY(find(*both, "ppl/ppl/en")->metrics.at("bits_per_byte,none").value <
            find(*both, "ppl/ppl/ko")->metrics.at("bits_per_byte,none").value);
    // Windows shorter than a document still cover every token once.
    po.inputs = {text};
    po.window = 7;
    auto windowed = run_perplexity(**model, po);
    QVERIFY(windowed.is_ok());
    QCOMPARE(find(*windowed, "ppl/all")->config["tokens"].get<double>(), a->config["tokens"].get<double>());
    QVERIFY(!find(*windowed, "ppl/ppl"));  // one source: no per-source group repeating ppl/all
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestEvalScoring)
#include "test_eval_scoring.moc"
