// `kanana posttrain ...`: post-training helpers around the "sft", "reward" and "dpo" recipe
// types (which run with `kanana train --recipe`):
//   posttrain eval-prefs     preference accuracy of a model on held-out pairs (likelihood, and
//                            DPO's implicit reward against a reference)
//   posttrain score          reward-model scores: best-of-N over candidates, or accuracy on pairs
//   posttrain export-reward  a "reward" checkpoint -> Hugging Face LlamaForSequenceClassification
#include <torch/torch.h>

#include <cstdio>
#include <thread>

#include "base/files.h"
#include "base/json.h"
#include "cli/registry.h"
#include "cli/option_flags.h"
#include "cli/sampling_args.h"
#include "posttrain/chat_data.h"
#include "posttrain/evaluate.h"
#include "posttrain/reward_head.h"
#include "posttrain/reward_model.h"

namespace kanana::cli {

namespace {

namespace fs = std::filesystem;

int run_eval_prefs(const Args& a, Context& ctx) {
  posttrain::PreferenceEvalOptions o;
  if (Status s = read_option_flags(a, posttrain::preference_eval_fields(), o); !s.is_ok()) return report_error(s, true);
  auto threads = parse_threads(a);
  if (!threads.is_ok()) return report_error(threads.status(), true);
  o.threads = *threads;
  std::optional<fs::path> reference;
  if (a.has("reference") && !a.get("reference").empty()) reference = fs::path(a.get("reference"));
  auto ev = posttrain::evaluate_preferences(a.get("data"), a.get("model"), reference, o, ctx.cancel);
  if (!ev.is_ok()) return report_error(ev.status());
  for (size_t i = 0; i < std::min<size_t>(ev->problems.size(), 5); ++i) std::fprintf(stderr, "skipped: %s\n", ev->problems[i].c_str());
  if (ev->problems.size() > 5) std::fprintf(stderr, "skipped %zu more\n", ev->problems.size() - 5);
  std::printf("pairs: %lld\n", static_cast<long long>(ev->pairs));
  std::printf("likelihood accuracy (per-token log p chosen > rejected): %.4f\n", ev->likelihood_accuracy);
  std::printf("mean per-token log p: chosen %.4f, rejected %.4f\n", ev->mean_logp_chosen, ev->mean_logp_rejected);
  if (ev->reward_accuracy) {
    std::printf("implicit reward accuracy (beta %.3g): %.4f\n", o.beta, *ev->reward_accuracy);
    std::printf("rewards: chosen %.4f, rejected %.4f, margin %.4f; DPO loss %.4f\n", *ev->chosen_reward,
                *ev->rejected_reward, *ev->reward_margin, *ev->dpo_loss);
  }
  if (a.has("json") && !a.get("json").empty()) {
    Json j = {{"pairs", ev->pairs}, {"likelihood_accuracy", ev->likelihood_accuracy},
              {"mean_logp_chosen", ev->mean_logp_chosen}, {"mean_logp_rejected", ev->mean_logp_rejected},
              {"skipped", ev->problems.size()}};
    if (ev->reward_accuracy) {
      j["reward_accuracy"] = *ev->reward_accuracy;
      j["reward_margin"] = *ev->reward_margin;
      j["chosen_reward"] = *ev->chosen_reward;
      j["rejected_reward"] = *ev->rejected_reward;
      j["dpo_loss"] = *ev->dpo_loss;
      j["beta"] = o.beta;
    }
    Status s = write_json_file(a.get("json"), j);
    if (!s.is_ok()) return report_error(s);
  }
  return kExitOk;
}

int run_score(const Args& a, Context& ctx) {
  auto threads = parse_threads(a);
  if (!threads.is_ok()) return report_error(threads.status(), true);
  torch::set_num_threads(*threads);
  const bool pairs = a.has("data") && !a.get("data").empty();
  const auto candidates = a.get_all("candidate");
  if (pairs == (a.has("prompt") && !a.get("prompt").empty()))
    return report_error(invalid_argument("give either --prompt with --candidate ..., or --data PAIRS.jsonl"), true);
  if (!pairs && candidates.empty()) return report_error(invalid_argument("--prompt needs at least one --candidate"), true);
  posttrain::RewardModelOptions o;
  o.tokenizer = a.get("tokenizer");
  auto rm = posttrain::RewardModel::load(a.get("reward-model"), o);
  if (!rm.is_ok()) return report_error(rm.status());
  if (!pairs) {
    std::vector<tok::ChatMessage> prompt;
    if (a.has("system") && !a.get("system").empty()) prompt.push_back({"system", a.get("system"), {}, {}, {}});
    prompt.push_back({"user", a.get("prompt"), {}, {}, {}});
    auto best = (*rm)->best_of_n(prompt, candidates, ctx.cancel);
    if (!best.is_ok()) return report_error(best.status());
    for (size_t rank = 0; rank < best->ranking.size(); ++rank) {
      const size_t i = best->ranking[rank];
      std::printf("%zu. %+.4f  [%zu] %s\n", rank + 1, best->scores[i], i, candidates[i].c_str());
    }
    return kExitOk;
  }
  auto data = posttrain::read_preference_jsonl(a.get("data"));
  if (!data.is_ok()) return report_error(data.status());
  for (const auto& p : data->problems) std::fprintf(stderr, "skipped: %s\n", p.c_str());
  std::vector<std::vector<tok::ChatMessage>> convs;
  for (const auto& p : data->items) {
    auto c = p.prompt;
    c.insert(c.end(), p.chosen.begin(), p.chosen.end());
    convs.push_back(std::move(c));
    auto r = p.prompt;
    r.insert(r.end(), p.rejected.begin(), p.rejected.end());
    convs.push_back(std::move(r));
  }
  if (convs.empty()) return report_error(invalid_argument(a.get("data") + ": no usable preference pair"));
  auto scores = (*rm)->score_conversations(convs, ctx.cancel);
  if (!scores.is_ok()) return report_error(scores.status());
  double correct = 0, margin = 0;
  for (size_t i = 0; i < data->items.size(); ++i) {
    const double d = (*scores)[2 * i] - (*scores)[2 * i + 1];
    correct += d > 0 ? 1 : 0;
    margin += d;
  }
  const double n = double(data->items.size());
  std::printf("pairs: %zu\nreward-model accuracy: %.4f\nmean margin: %.4f\n", data->items.size(), correct / n, margin / n);
  return kExitOk;
}

int run_export_reward(const Args& a, Context&) {
  const fs::path in = a.get("checkpoint"), out = a.get("out");
  auto w = posttrain::load_reward_weights(in, torch::kFloat32, torch::kCPU);
  if (!w.is_ok()) return report_error(w.status());
  Status s = posttrain::save_reward_model(out, w->model, w->score);
  if (!s.is_ok()) return report_error(s);
  // The tokenizer travels with the model when it can be found.
  for (const fs::path& dir : {in, in.parent_path().parent_path() / "tokenizer"}) {
    bool copied = false;
    for (const char* name : {"tokenizer.json", "tokenizer.model", "tokenizer_config.json"}) {
      std::error_code ec;
      if (fs::is_regular_file(dir / name)) {
        fs::copy_file(dir / name, out / name, fs::copy_options::overwrite_existing, ec);
        copied = copied || !ec;
      }
    }
    if (copied) break;
  }
  std::printf("wrote %s (LlamaForSequenceClassification, score.weight [1, %lld])\n", out.c_str(),
              static_cast<long long>(w->config.hidden_size));
  return kExitOk;
}

}  // namespace

KANANA_COMMAND(posttrain_eval_prefs) {
  return {.path = "posttrain eval-prefs",
          .summary = "preference accuracy of a model on pairs (likelihood; implicit DPO reward vs a reference)",
          .description =
              "Scores every pair of a TRL preference JSONL with the model: the share of pairs whose chosen reply\n"
              "has the higher per-token log-probability, and with --reference the share whose DPO implicit reward\n"
              "beta*(log pi - log pi_ref) is higher for the chosen reply, the mean margin and the DPO loss.\n"
              "The tokenizer comes from --tokenizer, the model folder, or its run folder's tokenizer/.",
          .options = concat({{.name = "model", .value_name = "DIR", .help = "model folder (Hugging Face layout)", .required = true, .short_name = 'm'},
                             {.name = "data", .value_name = "FILE", .help = "preference JSONL", .required = true},
                             {.name = "reference", .value_name = "DIR", .help = "reference model the rewards are measured against"}},
                            option_flags(posttrain::preference_eval_fields()),
                            std::vector<OptionSpec>{{.name = "json", .value_name = "FILE", .help = "also write the summary as JSON"},
                                                    threads_option()}),
          .run = run_eval_prefs};
}

KANANA_COMMAND(posttrain_score) {
  return {.path = "posttrain score",
          .summary = "reward-model scores: best-of-N over candidate replies, or accuracy on preference pairs",
          .description = "With --prompt and --candidate (repeatable): the candidates ranked by reward, best first.\n"
                         "With --data PAIRS.jsonl: the share of pairs where the chosen reply gets the higher reward.",
          .options = {{.name = "reward-model", .value_name = "DIR", .help = "reward model (HF SequenceClassification or a reward checkpoint)", .required = true},
                      {.name = "prompt", .value_name = "TEXT", .help = "user message"},
                      {.name = "system", .value_name = "TEXT", .help = "system message"},
                      {.name = "candidate", .value_name = "TEXT", .help = "candidate reply (repeatable)", .repeated = true},
                      {.name = "data", .value_name = "FILE", .help = "preference JSONL to measure accuracy on"},
                      {.name = "tokenizer", .value_name = "PATH", .help = "tokenizer file or folder"},
                      threads_option()},
          .run = run_score};
}

KANANA_COMMAND(posttrain_export_reward) {
  return {.path = "posttrain export-reward",
          .summary = "write a reward checkpoint in Hugging Face LlamaForSequenceClassification layout",
          .options = {{.name = "checkpoint", .value_name = "DIR", .help = "a 'reward' run checkpoint (or an HF reward model)", .required = true},
                      {.name = "out", .value_name = "DIR", .help = "folder to write", .required = true, .short_name = 'o'}},
          .run = run_export_reward};
}

}  // namespace kanana::cli
