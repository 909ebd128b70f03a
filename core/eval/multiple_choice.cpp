// Multiple choice by log-likelihood with lm-evaluation-harness semantics (see runner.h):
// acc = argmax of Σ log p(continuation), acc_norm = argmax of Σ log p / length(choice).
#include <cmath>
#include <limits>

#include "base/strings.h"
#include "eval/prompt.h"
#include "eval/runner.h"

namespace kanana::eval {

namespace {

size_t argmax_first(const std::vector<double>& v) {
  size_t best = 0;
  for (size_t i = 1; i < v.size(); ++i) {
    if (v[i] > v[best]) best = i;
  }
  return best;
}

}  // namespace

Result<McRequests> build_mc_requests(const EvalModel& model, const TaskSpec& spec, const std::vector<TaskItem>& items,
                                     const std::vector<TaskItem>& pool, bool pool_is_eval_set, int k, uint64_t seed) {
  McRequests out;
  FewshotSampler sampler(&pool, pool_is_eval_set, seed);
  const auto prefix = model.prefix_token();
  for (const auto& item : items) {
    const auto shots = sampler.sample(item, k);
    if (int(shots.size()) < k) {
      return invalid_argument(spec.data.string() + ": " + std::to_string(k) + "-shot needs " + std::to_string(k) +
                              " few-shot examples, the pool has " + std::to_string(shots.size()) +
                              " (give more with a few-shot file)");
    }
    std::vector<int64_t> lines;
    for (const auto* s : shots) lines.push_back(s->line);
    const std::string context = build_context(spec, item, shots);
    LoglikRequest req;
    std::string ctx_text;
    for (size_t c = 0; c < item.continuations.size(); ++c) {
      auto [ctx, cont] = split_request(context, spec.target_delimiter + item.continuations[c]);
      std::vector<int32_t> cont_ids;
      if (c == 0) {
        ctx_text = ctx;
        if (ctx.empty()) {
          if (!prefix) return invalid_argument("the tokenizer has neither BOS nor EOS to start an empty context with");
          req.context = {*prefix};
        } else {
          req.context = model.encode(ctx, model.add_bos());
        }
      }
      if (ctx.empty()) {
        cont_ids = model.encode(cont, false);
      } else {
        const auto whole = model.encode(ctx + cont, model.add_bos());
        if (whole.size() > req.context.size()) cont_ids.assign(whole.begin() + int64_t(req.context.size()), whole.end());
      }
      if (cont_ids.empty()) {
        return invalid_argument(spec.data.string() + ":" + std::to_string(item.line) + ": choice " + std::to_string(c) +
                                " (\"" + item.continuations[c] + "\") encodes to no tokens after the context");
      }
      req.continuations.push_back(std::move(cont_ids));
    }
    out.requests.push_back(std::move(req));
    out.contexts.push_back(ctx_text);
    out.shot_lines.push_back(std::move(lines));
  }
  return out;
}

Result<TaskResult> run_multiple_choice(EvalModel& model, const TaskSpec& spec_in, const RunOptions& o,
                                       Progress* progress, const CancelToken* cancel) {
  TaskSpec spec = spec_in;
  if (spec.type != TaskType::kMultipleChoice) {
    return invalid_argument(spec.name + " is a generative task (" + spec.data.string() + "); use `kanana eval gen`");
  }
  if (o.score_letters) spec.score_letters = *o.score_letters;
  if (o.num_fewshot >= 0) spec.num_fewshot = o.num_fewshot;
  if (o.norm != "bytes" && o.norm != "chars") return invalid_argument("norm must be bytes or chars, got '" + o.norm + "'");
  KANANA_ASSIGN_OR_RETURN(TaskItems loaded, load_task_items(spec, spec.data, o.skip_bad_items, o.limit));
  // The few-shot pool: the task's few-shot file, else the whole eval file (minus the item).
  std::vector<TaskItem> pool;
  bool pool_is_eval = false;
  if (spec.num_fewshot > 0) {
    if (!spec.fewshot_data.empty()) {
      KANANA_ASSIGN_OR_RETURN(TaskItems p, load_task_items(spec, spec.fewshot_data, o.skip_bad_items));
      pool = std::move(p.items);
    } else if (o.limit > 0) {
      KANANA_ASSIGN_OR_RETURN(TaskItems p, load_task_items(spec, spec.data, /*skip_bad_items=*/true));
      pool = std::move(p.items);
      pool_is_eval = true;
    } else {
      pool = loaded.items;
      pool_is_eval = true;
    }
  }
  KANANA_ASSIGN_OR_RETURN(McRequests reqs,
                          build_mc_requests(model, spec, loaded.items, pool, pool_is_eval, spec.num_fewshot, o.seed));
  ScorerOptions so;
  so.shared_prefix = o.shared_prefix;
  so.batch_rows = o.batch_size;
  so.max_length = o.max_length > 0 ? o.max_length : model.max_length();
  KANANA_ASSIGN_OR_RETURN(auto scores, score_requests(model.model(), reqs.requests, so, progress, cancel));

  TaskResult r;
  r.name = spec.name;
  r.output_type = "multiple_choice";
  r.num_fewshot = spec.num_fewshot;
  r.original = loaded.lines;
  r.effective = int64_t(loaded.items.size());
  r.skipped = loaded.skipped;
  r.config = spec.to_json();
  r.config["num_fewshot"] = spec.num_fewshot;
  r.config["acc_norm_length"] = o.norm;
  r.config["fewshot_seed"] = o.seed;
  std::vector<double> acc, acc_norm;
  std::vector<std::string> categories, langs;
  for (size_t i = 0; i < loaded.items.size(); ++i) {
    const TaskItem& item = loaded.items[i];
    std::vector<double> lls, normed;
    Json logprobs = Json::array(), greedy = Json::array(), tokens = Json::array();
    for (size_t c = 0; c < scores[i].size(); ++c) {
      const auto& s = scores[i][c];
      const std::string& choice = item.continuations[c];
      const double len = double(std::max<size_t>(1, o.norm == "chars" ? utf8_length(choice) : choice.size()));
      lls.push_back(s.logprob);
      normed.push_back(s.logprob / len);
      logprobs.push_back(s.logprob);
      greedy.push_back(s.is_greedy);
      tokens.push_back(s.tokens);
    }
    const size_t pred = argmax_first(lls), pred_norm = argmax_first(normed);
    const double a = pred == size_t(item.gold) ? 1.0 : 0.0, an = pred_norm == size_t(item.gold) ? 1.0 : 0.0;
    acc.push_back(a);
    acc_norm.push_back(an);
    categories.push_back(item.category);
    langs.push_back(item.lang);
    Json sample = {{"doc_id", item.doc_id},
                   {"line", item.line},
                   {"prompt", item.text},
                   {"fewshot_lines", reqs.shot_lines[i]},
                   {"choices", item.options},
                   {"continuations", item.continuations},
                   {"logprobs", logprobs},
                   {"is_greedy", greedy},
                   {"tokens", tokens},
                   {"gold", item.gold},
                   {"pred", pred},
                   {"pred_norm", pred_norm},
                   {"acc", a},
                   {"acc_norm", an}};
    if (!item.category.empty()) sample["category"] = item.category;
    if (!item.lang.empty()) sample["lang"] = item.lang;
    r.samples.push_back(std::move(sample));
  }
  add_mean_metric(&r, "acc,none", acc, true);
  add_mean_metric(&r, "acc_norm,none", acc_norm, true);
  bool any_category = false;
  for (const auto& c : categories) any_category = any_category || !c.empty();
  if (any_category) r.breakdown["category"] = breakdown_by(r, categories, {"acc,none", "acc_norm,none"});
  r.breakdown["lang"] = breakdown_by(r, langs, {"acc,none", "acc_norm,none"});
  return r;
}

}  // namespace kanana::eval
