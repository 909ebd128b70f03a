// A workspace with evaluation results of two checkpoints, written through the core's own
// results writer and workspace recorder: three benchmarks (kmmlu with 40 items, haerae,
// gsm8k) and perplexity groups (ppl/all, ppl/all/en, ppl/all/ko) with per-item samples, so
// the Evaluation page's tests see what a real `kanana eval --workspace` leaves behind.
#pragma once

#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "base/json.h"
#include "eval/record.h"
#include "eval/results.h"
#include "store/workspace.h"

namespace kanana::test {

struct EvalFixture {
  std::filesystem::path root;       // workspace
  std::vector<std::string> models;  // checkpoint folders
  // Per checkpoint: kmmlu per-item acc values (what the bootstrap resamples).
  std::vector<std::vector<double>> kmmlu_acc;
};

inline eval::TaskResult mc_task(const std::string& name, const std::vector<double>& acc, int choices = 4) {
  eval::TaskResult t;
  t.name = name;
  t.output_type = "multiple_choice";
  std::vector<double> norm;
  for (size_t i = 0; i < acc.size(); ++i) {
    const int gold = int(i % size_t(choices));
    const int pred = acc[i] > 0.5 ? gold : (gold + 1) % choices;
    Json lp = Json::array();
    for (int c = 0; c < choices; ++c) lp.push_back(c == pred ? -1.0 : -2.0 - 0.1 * c);
    std::vector<std::string> labels;
    for (int c = 0; c < choices; ++c) labels.push_back(std::string(1, char('A' + c)));
    t.samples.push_back({{"doc_id", i}, {"line", i + 1}, {"prompt", "Question " + std::to_string(i) + "\nAnswer:"},
                         {"choices", labels}, {"continuations", labels}, {"logprobs", lp},
                         {"is_greedy", Json::array()}, {"tokens", Json::array()}, {"gold", gold}, {"pred", pred},
                         {"pred_norm", pred}, {"acc", acc[i]}, {"acc_norm", acc[i]}});
    norm.push_back(acc[i]);
  }
  eval::add_mean_metric(&t, "acc,none", acc, true);
  eval::add_mean_metric(&t, "acc_norm,none", norm, true);
  t.original = t.effective = int64_t(acc.size());
  return t;
}

inline bool make_eval_fixture(const std::filesystem::path& root, EvalFixture* out) {
  namespace fs = std::filesystem;
  auto ws = store::Workspace::create(root, "eval-fixture");
  if (!ws.is_ok()) return false;
  out->root = root;
  for (int m = 0; m < 2; ++m) {
    const fs::path model = root / "models" / ("ckpt-" + std::to_string(m));
    fs::create_directories(model);
    out->models.push_back(model.string());
    eval::EvalReport report;
    report.config = {{"model", "kanana"}, {"model_path", model.string()}};
    // kmmlu: checkpoint 1 is better (30 of 40 vs 16 of 40).
    std::vector<double> acc;
    for (int i = 0; i < 40; ++i) acc.push_back((m == 0 ? i % 5 < 2 : i % 4 < 3) ? 1.0 : 0.0);
    out->kmmlu_acc.push_back(acc);
    report.tasks.push_back(mc_task("kmmlu", acc));
    std::vector<double> h;
    for (int i = 0; i < 20; ++i) h.push_back(i % 3 == (m == 0 ? 0 : 1) || m == 1 ? 1.0 : 0.0);
    report.tasks.push_back(mc_task("haerae", h, 5));
    eval::TaskResult g;
    g.name = "gsm8k";
    g.output_type = "generate_until";
    std::vector<double> em;
    for (int i = 0; i < 10; ++i) {
      em.push_back(i < 3 + m ? 1.0 : 0.0);
      g.samples.push_back({{"doc_id", i}, {"line", i + 1}, {"prompt", "Question: " + std::to_string(i) + "+1?\nAnswer:"},
                           {"response", " " + std::to_string(i + 1) + "\n#### " + std::to_string(i + 1)},
                           {"target", "#### " + std::to_string(i + 1)}, {"gold", std::to_string(i + 1)},
                           {"extracted", {{"strict-match", std::to_string(i + 1)}}},
                           {"exact_match,strict-match", em.back()}});
    }
    eval::add_mean_metric(&g, "exact_match,strict-match", em, true);
    g.original = g.effective = 10;
    report.tasks.push_back(g);
    // Perplexity: 4 English and 3 Korean documents; the second checkpoint is better.
    eval::TaskResult all;
    all.name = "ppl/all";
    all.output_type = "loglikelihood_rolling";
    double nll_all = 0, bytes_all = 0;
    std::map<std::string, std::pair<double, double>> by_lang;
    std::map<std::string, int> docs;
    for (int d = 0; d < 7; ++d) {
      const std::string lang = d < 4 ? "en" : "ko";
      const double bytes = 100 + 10 * d;
      const double nll = bytes * std::log(2.0) * ((lang == "en" ? 1.5 : 2.5) - 0.3 * m + 0.05 * d);
      all.samples.push_back({{"doc_id", d}, {"source", "corpus"}, {"lang", lang}, {"where", "corpus.jsonl:" + std::to_string(d + 1)},
                             {"tokens", 50}, {"bytes", bytes}, {"words", 20}, {"nll", nll},
                             {"bits_per_byte", nll / (std::log(2.0) * bytes)}});
      nll_all += nll;
      bytes_all += bytes;
      by_lang[lang].first += nll;
      by_lang[lang].second += bytes;
      docs[lang]++;
    }
    all.metrics["bits_per_byte,none"] = {nll_all / (std::log(2.0) * bytes_all), 0.01};
    all.original = all.effective = 7;
    report.tasks.push_back(all);
    for (const auto& [lang, nb] : by_lang) {
      eval::TaskResult t;
      t.name = "ppl/all/" + lang;
      t.output_type = "loglikelihood_rolling";
      t.metrics["bits_per_byte,none"] = {nb.first / (std::log(2.0) * nb.second), 0.02};
      t.original = t.effective = docs[lang];
      report.tasks.push_back(t);
    }
    const fs::path results = root / "runs" / ("eval-" + std::to_string(m)) / "results.json";
    if (!eval::write_report(report, results).is_ok()) return false;
    eval::RecordOptions ro;
    ro.results_path = results;
    if (!eval::record_eval(**ws, report, model.string(), ro).is_ok()) return false;
  }
  return true;
}

}  // namespace kanana::test
