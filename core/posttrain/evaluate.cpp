// Preference evaluation (evaluate.h).
#include "posttrain/evaluate.h"

#include <torch/torch.h>

#include <cmath>

#include "model/checkpoint.h"
#include "posttrain/batching.h"
#include "posttrain/chat_data.h"
#include "posttrain/losses.h"
#include "posttrain/task_support.h"

namespace kanana::posttrain {

namespace fs = std::filesystem;

namespace {

struct Item {
  TokenizedPair pair;
};

// Σ log p of each pair's chosen and rejected replies under `m`.
Status score_with(model::LlamaForCausalLM& m, const std::vector<Item>& items, int64_t batch, int32_t pad,
                  std::vector<std::pair<double, double>>* out, const CancelToken* cancel) {
  torch::NoGradGuard ng;
  out->resize(items.size());
  for (size_t begin = 0; begin < items.size(); begin += size_t(batch)) {
    if (cancel && cancel->is_cancelled()) return cancelled();
    const size_t end = std::min(items.size(), begin + size_t(batch));
    std::vector<ReplyRef> rows;
    for (size_t i = begin; i < end; ++i)
      rows.push_back({&items[i].pair.prompt, &items[i].pair.chosen.reply, &items[i].pair.chosen.reply_mask});
    for (size_t i = begin; i < end; ++i)
      rows.push_back({&items[i].pair.prompt, &items[i].pair.rejected.reply, &items[i].pair.rejected.reply_mask});
    LmBatch b = make_lm_batch(rows, pad, m->device());
    auto lp = sequence_logprobs(m->forward(b.input).logits, b.labels).to(torch::kFloat64).cpu();
    const int64_t n = int64_t(end - begin);
    for (int64_t i = 0; i < n; ++i) (*out)[begin + size_t(i)] = {lp[i].item<double>(), lp[n + i].item<double>()};
  }
  return Status::ok();
}

}  // namespace

Result<PreferenceEval> evaluate_preferences(const fs::path& data, const fs::path& model_dir,
                                            const std::optional<fs::path>& reference, const PreferenceEvalOptions& o,
                                            const CancelToken* cancel) {
  if (o.threads > 0) torch::set_num_threads(o.threads);
  if (o.batch_size < 1 || o.max_length < 2) return invalid_argument("batch_size must be >= 1 and max_length >= 2");
  KANANA_ASSIGN_OR_RETURN(TaskTokenizer tok, find_model_tokenizer(model_dir, o.tokenizer));
  tok.format.raw = o.raw;
  if (o.chat_template != "auto") {
    KANANA_ASSIGN_OR_RETURN(tok.format.chat, tok::parse_chat_template_name(o.chat_template));
  } else if (!o.raw) {
    KANANA_ASSIGN_OR_RETURN(tok.format.chat, tok::detect_chat_template(*tok.tokenizer));
  }
  KANANA_ASSIGN_OR_RETURN(auto read, read_preference_jsonl(data));
  PreferenceEval ev;
  ev.problems = read.problems;
  std::vector<Item> items;
  const int64_t max_prompt = o.max_prompt_length > 0 ? o.max_prompt_length : o.max_length / 2;
  for (const auto& p : read.items) {
    auto t = tokenize_pair(*tok.tokenizer, tok.format, p, o.max_length, max_prompt);
    if (!t) {
      ev.problems.push_back(t.status().message());
      continue;
    }
    items.push_back({std::move(t).value()});
  }
  if (items.empty()) return invalid_argument(data.string() + ": no usable preference pair");

  try {
    model::LoadOptions lo;
    lo.dtype = torch::kFloat32;
    std::vector<std::pair<double, double>> pol, ref;
    {
      KANANA_ASSIGN_OR_RETURN(auto m, model::load_model(model_dir, lo));
      m.model->eval();
      KANANA_RETURN_IF_ERROR(score_with(m.model, items, o.batch_size, padding_id(*tok.tokenizer), &pol, cancel));
    }
    if (reference) {
      KANANA_ASSIGN_OR_RETURN(auto r, model::load_model(*reference, lo));
      r.model->eval();
      KANANA_RETURN_IF_ERROR(score_with(r.model, items, o.batch_size, padding_id(*tok.tokenizer), &ref, cancel));
    }
    ev.pairs = int64_t(items.size());
    double like = 0, lc = 0, lr = 0, racc = 0, margin = 0, cr = 0, rr = 0, loss = 0;
    for (size_t i = 0; i < items.size(); ++i) {
      PairScore s;
      s.chosen = pol[i].first;
      s.rejected = pol[i].second;
      auto count = [](const std::vector<uint8_t>& m) { return double(std::count(m.begin(), m.end(), uint8_t(1))); };
      s.chosen_tokens = std::max(1.0, count(items[i].pair.chosen.reply_mask));
      s.rejected_tokens = std::max(1.0, count(items[i].pair.rejected.reply_mask));
      like += s.chosen / s.chosen_tokens > s.rejected / s.rejected_tokens ? 1 : 0;
      lc += s.chosen / s.chosen_tokens;
      lr += s.rejected / s.rejected_tokens;
      if (reference) {
        s.ref_chosen = ref[i].first;
        s.ref_rejected = ref[i].second;
        const double rc = o.beta * (s.chosen - *s.ref_chosen), rj = o.beta * (s.rejected - *s.ref_rejected);
        racc += rc > rj ? 1 : 0;
        margin += rc - rj;
        cr += rc;
        rr += rj;
        const double d = rc - rj;  // −log σ(d), stable for both signs
        loss += d > 0 ? std::log1p(std::exp(-d)) : -d + std::log1p(std::exp(d));
      }
      ev.scores.push_back(s);
    }
    const double n = double(items.size());
    ev.likelihood_accuracy = like / n;
    ev.mean_logp_chosen = lc / n;
    ev.mean_logp_rejected = lr / n;
    if (reference) {
      ev.reward_accuracy = racc / n;
      ev.reward_margin = margin / n;
      ev.chosen_reward = cr / n;
      ev.rejected_reward = rr / n;
      ev.dpo_loss = loss / n;
    }
  } catch (const c10::Error& e) {
    return internal_error(std::string("preference evaluation failed in LibTorch: ") + e.what_without_backtrace());
  }
  return ev;
}

}  // namespace kanana::posttrain
