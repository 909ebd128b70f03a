// Task files and everything around scoring that needs no model: the KMMLU / MMLU / HAE-RAE /
// GSM8K layouts and task specs, bad items named by file:line:field (and skipped on request),
// prompts and few-shot draws, answer extraction, standard errors, lm-eval-shaped results, and
// decontamination finding planted overlaps (word, Korean character and token n-grams).
#include <QtTest>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "../posttrain/byte_tokenizer.h"
#include "base/files.h"
#include "eval/answer_extract.h"
#include "eval/decontam.h"
#include "eval/prompt.h"
#include "eval/results.h"
#include "eval/stats.h"
#include "eval/task.h"
#include "shards/shard.h"
#include "tokenizer/tokenizer.h"

using namespace kanana;
using namespace kanana::eval;
namespace fs = std::filesystem;

namespace {

void write_text_lines(const fs::path& p, const std::vector<std::string>& lines) {
  std::ofstream f(p);
  for (const auto& l : lines) f << l << "\n";
}

std::string jl(const Json& j) { return j.dump(); }

}  // namespace

class TestEvalTasks : public QObject {
  Q_OBJECT

  QTemporaryDir tmp_;
  fs::path dir() const { return fs::path(tmp_.path().toStdString()); }

 private Q_SLOTS:
  void kmmlu_layout() {
    const fs::path p = dir() / "kmmlu_law.jsonl";
    write_text_lines(p, {jl({{"question", " 다음 중 옳은 것은? "}, {"A", "가"}, {"B", "나"}, {"C", "다"}, {"D", "라"},
                        {"answer", 3}, {"Category", "Law"}, {"Human Accuracy", 0.4}})});
    auto layout = detect_layout(p);
    QVERIFY(layout.is_ok());
    QCOMPARE(*layout, Layout::kKmmlu);
    auto spec = resolve_task(p, std::nullopt);
    QVERIFY(spec.is_ok());
    QCOMPARE(QString::fromStdString(spec->name), QString("kmmlu_law"));
    auto items = load_task_items(*spec, p, false);
    QVERIFY2(items.is_ok(), items.status().message().c_str());
    const auto& it = items->items.at(0);
    QCOMPARE(it.gold, 2);  // answer is 1-based
    QCOMPARE(it.continuations, (std::vector<std::string>{"A", "B", "C", "D"}));
    QCOMPARE(QString::fromStdString(it.text), QString("다음 중 옳은 것은?\nA. 가\nB. 나\nC. 다\nD. 라\n정답："));
    QCOMPARE(QString::fromStdString(it.category), QString("Law"));
    QCOMPARE(QString::fromStdString(it.lang), QString("ko"));
  }

  void mmlu_layout() {
    const fs::path p = dir() / "mmlu.jsonl";
    write_text_lines(p, {jl({{"question", "What is 2+2?"}, {"choices", {"3", "4", "5", "6"}}, {"answer", 1},
                        {"subject", "elementary_mathematics"}}),
                    jl({{"question", "Pick C"}, {"choices", {"a", "b", "c"}}, {"answer", "C"}})});
    auto spec = resolve_task(p, std::nullopt);
    QVERIFY(spec.is_ok());
    QCOMPARE(spec->layout, Layout::kMmlu);
    auto items = load_task_items(*spec, p, false);
    QVERIFY2(items.is_ok(), items.status().message().c_str());
    QCOMPARE(items->items[0].gold, 1);
    QCOMPARE(items->items[1].gold, 2);  // a letter answer
    QCOMPARE(QString::fromStdString(items->items[0].description),
             QString("The following are multiple choice questions (with answers) about elementary_mathematics.\n\n"));
    QVERIFY(items->items[1].description.empty());  // no subject column: no description
    QCOMPARE(QString::fromStdString(items->items[0].text), QString("What is 2+2?\nA. 3\nB. 4\nC. 5\nD. 6\nAnswer:"));
    QCOMPARE(items->items[1].continuations.size(), size_t(3));
  }

  void haerae_layout() {
    // HAERAE-HUB/HAE_RAE_BENCH 1.1: query (lists the options), options, answer "(X)", category.
    const fs::path p = dir() / "haerae.jsonl";
    write_text_lines(p, {jl({{"query", "다음 단어의 뜻은?\n(A) 하나 (B) 둘 (C) 셋 (D) 넷 (E) 다섯"},
                        {"options", "['하나', '둘', '셋', '넷', '다섯']"}, {"answer", "(D)"},
                        {"category", "rare_word"}}),
                    jl({{"query", "질문"}, {"answer", "(B)"}, {"category", "history"}})});
    auto spec = resolve_task(p, std::nullopt);
    QVERIFY(spec.is_ok());
    QCOMPARE(spec->layout, Layout::kHaerae);
    auto items = load_task_items(*spec, p, false);
    QVERIFY2(items.is_ok(), items.status().message().c_str());
    QCOMPARE(items->items[0].gold, 3);
    QCOMPARE(items->items[0].options.at(4), std::string("다섯"));
    QCOMPARE(items->items[0].continuations.at(0), std::string("(A)"));
    QCOMPARE(items->items[1].continuations.size(), size_t(5));  // no options column: the five labels
    QCOMPARE(items->items[1].gold, 1);
  }

  void gsm8k_layout_and_extraction() {
    const fs::path p = dir() / "gsm8k.jsonl";
    write_text_lines(p, {jl({{"question", "Tom has 3 apples and buys 4. How many?"},
                        {"answer", "He has 3 + 4 = <<3+4=7>>7 apples.\n#### 7"}})});
    auto spec = resolve_task(p, std::nullopt);
    QVERIFY(spec.is_ok());
    QCOMPARE(spec->type, TaskType::kGenerate);
    auto items = load_task_items(*spec, p, false);
    QVERIFY(items.is_ok());
    QCOMPARE(gold_answer(items->items[0].target), std::string("7"));
    const auto& strict = spec->filters.at(0);
    const auto& flexible = spec->filters.at(1);
    QCOMPARE(*extract_answer(strict, "so 1,200 total.\n#### 1,200"), std::string("1,200"));
    QVERIFY(!extract_answer(strict, "the answer is 12").has_value());
    QCOMPARE(*extract_answer(flexible, "first 3, then $1,250.50."), std::string("$1,250.50."));
    QVERIFY(answers_match(extract_answer(flexible, "first 3, then $1,250."), "1250"));
    QVERIFY(answers_match(extract_answer(strict, "#### -42"), "-42"));
    QVERIFY(!answers_match(std::nullopt, "7"));
    AnswerFilter re{"paren", "regex", "\\(([A-E])\\)", true};
    QCOMPARE(*extract_answer(re, "(A) or maybe (C)"), std::string("C"));
    QVERIFY(!validate_filter({"bad", "regex", "([", false}).is_ok());
  }

  void task_spec_generic_columns() {
    const fs::path data = dir() / "custom.jsonl";
    write_text_lines(data, {jl({{"stem", "Sky colour?"}, {"o1", "blue"}, {"o2", "green"}, {"gold", "blue"}})});
    Json spec = {{"name", "sky"}, {"data", "custom.jsonl"}, {"choice_fields", {"o1", "o2"}},
                 {"answer_field", "gold"}, {"answer_format", "text"}, {"template", "Q: {stem|trim}\nA:"},
                 {"score", "text"}, {"num_fewshot", 0}, {"target_delimiter", " "}};
    write_json_file(dir() / "sky.json", spec);
    auto s = read_task_spec(dir() / "sky.json");
    QVERIFY2(s.is_ok(), s.status().message().c_str());
    QCOMPARE(s->data, dir() / "custom.jsonl");
    auto items = load_task_items(*s, s->data, false);
    QVERIFY2(items.is_ok(), items.status().message().c_str());
    QCOMPARE(items->items[0].gold, 0);
    QCOMPARE(items->items[0].continuations, (std::vector<std::string>{"blue", "green"}));
    // Unknown keys and bad values are named.
    Json typo = spec;
    typo["num_fewshots"] = 2;
    auto bad = parse_task_spec(typo, "sky.json", dir());
    QVERIFY(!bad.is_ok());
    QVERIFY2(bad.status().message().find("num_fewshots") != std::string::npos, bad.status().message().c_str());
    Json fmt = spec;
    fmt["answer_format"] = "roman";
    auto bad2 = parse_task_spec(fmt, "sky.json", dir());
    QVERIFY(!bad2.is_ok());
    QVERIFY(bad2.status().message().find("sky.json: field 'answer_format'") != std::string::npos);
  }

  void bad_items_name_file_line_field() {
    const fs::path p = dir() / "broken.jsonl";
    write_text_lines(p, {jl({{"question", "ok"}, {"choices", {"a", "b"}}, {"answer", 0}}),
                    jl({{"question", "no answer"}, {"choices", {"a", "b"}}}),
                    jl({{"question", "out of range"}, {"choices", {"a", "b"}}, {"answer", 2}}),
                    jl({{"question", "empty"}, {"choices", Json::array()}, {"answer", 0}}),
                    "{not json",
                    jl({{"choices", {"a", "b"}}, {"answer", 1}}),
                    jl({{"question", "fine"}, {"choices", {"a", "b"}}, {"answer", 1}})});
    TaskSpec spec = preset_spec(Layout::kMmlu, p);
    auto strict = load_task_items(spec, p, false);
    QVERIFY(!strict.is_ok());
    const std::string first = strict.status().message();
    QVERIFY2(first.find(p.string() + ":2: field 'answer' is missing") != std::string::npos, first.c_str());
    QVERIFY(first.find("--skip-bad-items") != std::string::npos);

    auto skipped = load_task_items(spec, p, true);
    QVERIFY(skipped.is_ok());
    QCOMPARE(skipped->items.size(), size_t(2));
    QCOMPARE(skipped->items[1].line, int64_t(7));
    QCOMPARE(skipped->skipped.size(), size_t(5));
    std::map<int64_t, std::pair<std::string, std::string>> by_line;
    for (const auto& b : skipped->skipped) by_line[b.line] = {b.field, b.message};
    QCOMPARE(by_line[2].first, std::string("answer"));
    QCOMPARE(by_line[3].first, std::string("answer"));
    QVERIFY2(by_line[3].second.find(":3: field 'answer': 2 is out of range 0..1") != std::string::npos,
             by_line[3].second.c_str());
    QCOMPARE(by_line[4].first, std::string("choices"));
    QVERIFY2(by_line[4].second.find(":4: field 'choices' is an empty choice list") != std::string::npos,
             by_line[4].second.c_str());
    QVERIFY(by_line[5].second.find(":5: invalid JSON") != std::string::npos);
    QCOMPARE(by_line[6].first, std::string("question"));
    QVERIFY(by_line[6].second.find(":6: field 'question' is missing") != std::string::npos);

    // KMMLU: a missing choice column and a 1-based answer of 0.
    const fs::path k = dir() / "kmmlu_bad.jsonl";
    write_text_lines(k, {jl({{"question", "q"}, {"A", "1"}, {"B", "2"}, {"C", "3"}, {"answer", 1}}),
                    jl({{"question", "q"}, {"A", "1"}, {"B", "2"}, {"C", "3"}, {"D", "4"}, {"answer", 0}})});
    auto kb = load_task_items(preset_spec(Layout::kKmmlu, k), k, true);
    QVERIFY(!kb.is_ok());  // no usable item at all
    QVERIFY2(kb.status().message().find("field 'D' is missing") != std::string::npos, kb.status().message().c_str());
    auto k2 = load_task_items(preset_spec(Layout::kKmmlu, k), k, false);
    QVERIFY(k2.status().message().find(k.string() + ":1: field 'D' is missing") != std::string::npos);
  }

  void fewshot_and_context() {
    std::vector<TaskItem> pool(10);
    for (int i = 0; i < 10; ++i) {
      pool[size_t(i)].doc_id = i;
      pool[size_t(i)].line = i + 1;
      pool[size_t(i)].text = "Q" + std::to_string(i);
      pool[size_t(i)].continuations = {"x" + std::to_string(i), "y"};
      pool[size_t(i)].gold = 0;
    }
    FewshotSampler s(&pool, true, 42);
    for (const auto& item : pool) {
      auto shots = s.sample(item, 3);
      QCOMPARE(shots.size(), size_t(3));
      std::set<int64_t> lines;
      for (auto* sh : shots) {
        QVERIFY(sh->line != item.line);  // never the item itself
        lines.insert(sh->line);
      }
      QCOMPARE(lines.size(), size_t(3));
      auto again = s.sample(item, 3);
      for (size_t i = 0; i < 3; ++i) QCOMPARE(again[i]->line, shots[i]->line);  // fixed seed
    }
    FewshotSampler other(&pool, true, 43);
    int differ = 0;
    for (const auto& item : pool) differ += other.sample(item, 3)[0]->line != s.sample(item, 3)[0]->line;
    QVERIFY(differ > 0);
    TaskSpec spec;
    spec.target_delimiter = " ";
    spec.fewshot_delimiter = "\n\n";
    TaskItem item = pool[0];
    item.description = "D\n";
    QCOMPARE(QString::fromStdString(build_context(spec, item, {&pool[1], &pool[2]})), QString("D\nQ1 x1\n\nQ2 x2\n\nQ0"));
    auto [ctx, cont] = split_request("Answer: ", " B");
    QCOMPARE(ctx, std::string("Answer:"));
    QCOMPARE(cont, std::string("  B"));
  }

  void templates() {
    Json doc = {{"q", "  hi "}, {"list", {"a", "b"}}, {"n", 3}};
    auto t = render_template("{q|trim}|{list[1]}|{n}|{{x}}|{options}", doc, {"o1", "o2"}, {"(A)"}, "f:1");
    QVERIFY(t.is_ok());
    QCOMPARE(QString::fromStdString(*t), QString("hi|b|3|{x}|(A). o1\nB. o2"));
    auto missing = render_template("{nope}", doc, {}, {}, "f.jsonl:9");
    QVERIFY(!missing.is_ok());
    QCOMPARE(QString::fromStdString(missing.status().message()),
             QString("f.jsonl:9: field 'nope' is missing (used by the prompt template)"));
    QVERIFY(!render_template("{list[5]}", doc, {}, {}, "f:1").is_ok());
  }

  void standard_errors() {
    std::vector<double> v = {1, 0, 1, 1, 0, 1, 0, 1};
    const double m = mean(v);
    double ss = 0;
    for (double x : v) ss += (x - m) * (x - m);
    QVERIFY(std::abs(mean_stderr(v) - std::sqrt(ss / 7.0 / 8.0)) < 1e-12);
    // Bootstrap of a mean approaches the analytic standard error (population form) and is seeded.
    std::vector<double> big;
    for (int i = 0; i < 400; ++i) big.push_back(i % 3 == 0 ? 1.0 : 0.0);
    const double b1 = bootstrap_stderr(big, 2000, 7), b2 = bootstrap_stderr(big, 2000, 7);
    QCOMPARE(b1, b2);
    QVERIFY2(std::abs(b1 - mean_stderr(big)) / mean_stderr(big) < 0.1, std::to_string(b1).c_str());
    QCOMPARE(mean_stderr({1.0}), 0.0);
    const double r = bootstrap_ratio_stderr({1, 2, 3, 4}, {10, 10, 10, 10}, 500, 1);
    QVERIFY(r > 0 && r < 0.2);
  }

  void results_json_like_lm_eval() {
    TaskResult t;
    t.name = "kmmlu";
    t.output_type = "multiple_choice";
    add_mean_metric(&t, "acc,none", {1, 0, 1, 1}, true);
    add_mean_metric(&t, "acc_norm,none", {1, 1, 1, 0}, true);
    t.original = 5;
    t.effective = 4;
    t.num_fewshot = 5;
    t.config = {{"task", "kmmlu"}};
    t.samples = {Json{{"doc_id", 0}, {"acc", 1.0}}, Json{{"doc_id", 1}, {"acc", 0.0}}};
    t.skipped = {{3, "answer", "k.jsonl:3: field 'answer': 9 is out of range 1..4"}};
    TaskResult g;
    g.name = "gsm8k";
    add_mean_metric(&g, "exact_match,strict-match", {0, 1}, true);
    EvalReport r;
    r.tasks = {t, g};
    r.config = {{"model", "kanana"}, {"model_path", "/m"}, {"model_args", "pretrained=/m"}};
    const fs::path out = dir() / "res" / "results.json";
    QVERIFY(write_report(r, out).is_ok());
    auto j = read_json_file(out);
    QVERIFY(j.is_ok());
    const Json& res = (*j)["results"]["kmmlu"];
    QCOMPARE(res["acc,none"].get<double>(), 0.75);
    QVERIFY(std::abs(res["acc_stderr,none"].get<double>() - mean_stderr({1, 0, 1, 1})) < 1e-12);
    QVERIFY(res.contains("acc_norm_stderr,none"));
    QVERIFY((*j)["results"]["gsm8k"].contains("exact_match_stderr,strict-match"));
    QCOMPARE((*j)["n-samples"]["kmmlu"]["original"].get<int>(), 5);
    QCOMPARE((*j)["n-samples"]["kmmlu"]["effective"].get<int>(), 4);
    QCOMPARE((*j)["n-shot"]["kmmlu"].get<int>(), 5);
    QVERIFY((*j)["higher_is_better"]["kmmlu"]["acc"].get<bool>());
    QCOMPARE((*j)["config"]["model_path"].get<std::string>(), std::string("/m"));
    QCOMPARE((*j)["configs"]["kmmlu"]["task"].get<std::string>(), std::string("kmmlu"));
    QCOMPARE((*j)["skipped"]["kmmlu"][0]["line"].get<int>(), 3);
    QCOMPARE((*j)["samples"]["kmmlu"].get<std::string>(), std::string("results.samples.kmmlu.jsonl"));
    auto loaded = read_results(out);
    QVERIFY2(loaded.is_ok(), loaded.status().message().c_str());
    QCOMPARE(loaded->tasks.size(), size_t(2));
    const auto& kt = loaded->tasks[1].name == "kmmlu" ? loaded->tasks[1] : loaded->tasks[0];
    QCOMPARE(kt.metrics.at("acc,none").value, 0.75);
    QVERIFY(kt.metrics.at("acc,none").stderr_value.has_value());
    auto samples = read_samples(kt.samples_path);
    QVERIFY(samples.is_ok());
    QCOMPARE(sample_values(*samples, "acc"), (std::vector<double>{1.0, 0.0}));
    QCOMPARE(stored_metric_name("acc,none"), std::string("acc"));
    QCOMPARE(stored_metric_name("exact_match,strict-match"), std::string("exact_match,strict-match"));
  }

  void decontamination_finds_planted_overlaps() {
    // Eval set: an English item with 13+ words, a Korean item, and an untouched one.
    const std::string en = "The quick brown fox jumps over the lazy dog while the farmer watches from the old barn";
    const std::string ko = "대한민국의 수도는 서울특별시이며 한강이 도시의 중심을 가로질러 흐르고 인구는 약 천만 명이다";
    const fs::path evalp = dir() / "decon_eval.jsonl";
    write_text_lines(evalp, {jl({{"question", en}, {"choices", {"yes", "no"}}, {"answer", 0}}),
                        jl({{"question", ko}, {"choices", {"예", "아니오"}}, {"answer", 0}}),
                        jl({{"question", "A completely different question about chemistry and the periodic table of elements today"},
                            {"choices", {"x", "y"}}, {"answer", 1}})});
    TaskSpec spec = preset_spec(Layout::kMmlu, evalp);
    spec.template_text = "{question}";
    auto items = load_task_items(spec, evalp, false);
    QVERIFY(items.is_ok());
    auto texts = eval_texts(spec, *items);
    QCOMPARE(texts[1].lang, std::string("ko"));

    // Training: the English sentence with different case/punctuation inside other text; the
    // Korean one with the spacing changed (no 13-word overlap, a character one); noise.
    const fs::path train = dir() / "train.jsonl";
    write_text_lines(train, {jl({{"text", "Unrelated opening text about weather."}}),
                        jl({{"text", "Yesterday: THE QUICK, brown fox jumps over the lazy dog; while the farmer watches from the old barn!"}}),
                        jl({{"text", "뉴스: 대한민국의수도는 서울특별시이며 한강이도시의 중심을가로질러 흐르고 인구는 약 천만명이다."}})});
    DecontamOptions o;
    auto rep = find_contamination(texts, {train}, o);
    QVERIFY2(rep.is_ok(), rep.status().message().c_str());
    QCOMPARE(rep->items, int64_t(3));
    QCOMPARE(rep->contaminated, int64_t(2));
    QCOMPARE(rep->contaminated_lines, (std::vector<int64_t>{1, 2}));
    QCOMPARE(rep->train_docs, int64_t(3));
    bool word = false, chars = false;
    for (const auto& h : rep->hits) {
      if (h.kind == "word") {
        word = true;
        QCOMPARE(h.line, int64_t(1));
        QCOMPARE(h.source, train.string() + ":2");
        QVERIFY2(h.ngram.find("quick brown fox") != std::string::npos, h.ngram.c_str());
      }
      if (h.kind == "char") {
        chars = true;
        QCOMPARE(h.line, int64_t(2));
        QCOMPARE(h.source, train.string() + ":3");
      }
    }
    QVERIFY(word && chars);
    // Character n-grams off: the Korean item is no longer found (its words were respaced).
    o.char_n = 0;
    auto words_only = find_contamination(texts, {train}, o);
    QVERIFY(words_only.is_ok());
    QCOMPARE(words_only->contaminated_lines, (std::vector<int64_t>{1}));
    QVERIFY(words_only->to_json().contains("hits"));

    // Token shards (byte-level tokenizer): the third item planted inside a packed document.
    const fs::path tokdir = dir() / "bytetok";
    QVERIFY(test::write_byte_tokenizer(tokdir));
    auto tok = tok::load_tokenizer(tokdir);
    QVERIFY(tok.is_ok());
    const fs::path pack = dir() / "pack";
    shards::ShardWriterOptions wo;
    auto w = shards::ShardSetWriter::create(pack, wo);
    QVERIFY(w.is_ok());
    for (const std::string doc : {std::string("nothing here at all, just filler text for the pack"),
                                  "prefix " + texts[2].text + " suffix"}) {
      auto ids = (*tok)->encode(doc);
      QVERIFY((*w)->add_document(ids).is_ok());
    }
    shards::Manifest m;
    m.source_name = "pack";
    m.tokenizer_path = tokdir.string();
    m.vocab_size = (*tok)->vocab_size();
    QVERIFY((*w)->finish(m).is_ok());
    DecontamOptions to;
    to.token_n = 20;
    auto tokrep = find_contamination(texts, {pack}, to);
    QVERIFY2(tokrep.is_ok(), tokrep.status().message().c_str());
    QCOMPARE(tokrep->contaminated_lines, (std::vector<int64_t>{3}));
    QCOMPARE(tokrep->hits.at(0).kind, std::string("token"));
    QCOMPARE(tokrep->hits.at(0).source, pack.string() + "#1");
    QCOMPARE(int(tokrep->hits.at(0).ngram.size()), 20);  // 20 byte tokens decode to 20 bytes

    QCOMPARE(normalize_for_ngrams("  Hello,   WORLD!! Ünïcode "), std::string("hello world ünïcode"));
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestEvalTasks)
#include "test_eval_tasks.moc"
