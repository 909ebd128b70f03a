// Continuation log-likelihoods, separately or from a shared prefix (see loglikelihood.h).
#include "eval/loglikelihood.h"

#include <torch/torch.h>

#include <algorithm>
#include <functional>
#include <numeric>

#include "model/kv_cache.h"
#include "model/linear.h"
#include "model/llama.h"

namespace kanana::eval {

namespace {

torch::Tensor ids_tensor(const std::vector<std::vector<int32_t>>& rows, int64_t width, bool left_pad,
                         torch::Tensor* mask_out) {
  const int64_t b = int64_t(rows.size());
  auto ids = torch::zeros({b, width}, torch::kInt64);
  auto mask = torch::zeros({b, width}, torch::kInt64);
  auto ia = ids.accessor<int64_t, 2>();
  auto ma = mask.accessor<int64_t, 2>();
  bool padded = false;
  for (int64_t r = 0; r < b; ++r) {
    const auto& row = rows[size_t(r)];
    const int64_t n = int64_t(row.size());
    const int64_t off = left_pad ? width - n : 0;
    if (n != width) padded = true;
    for (int64_t i = 0; i < n; ++i) {
      ia[r][off + i] = row[size_t(i)];
      ma[r][off + i] = 1;
    }
  }
  if (mask_out) *mask_out = padded ? mask : torch::Tensor();
  return ids;
}

ContinuationScore score_positions(const torch::Tensor& logits, const std::vector<int32_t>& targets) {
  // logits: (m, vocab) for the m target positions.
  ContinuationScore s;
  s.tokens = int64_t(targets.size());
  auto lf = logits.to(torch::kFloat32);
  auto lp = torch::log_softmax(lf, -1);
  auto idx = torch::tensor(std::vector<int64_t>(targets.begin(), targets.end()), torch::kInt64);
  auto picked = lp.gather(1, idx.unsqueeze(1)).squeeze(1).to(torch::kFloat64);
  s.logprob = picked.sum().item<double>();
  s.is_greedy = torch::equal(lf.argmax(-1), idx);
  return s;
}

struct Row {
  size_t request = 0, choice = 0;
  std::vector<int32_t> input;     // model input
  std::vector<int32_t> targets;   // the continuation (the last targets.size() predictions)
};

Status score_rows(model::LlamaForCausalLM& m, std::vector<Row>& rows, int64_t batch_rows,
                  std::vector<std::vector<ContinuationScore>>* out, const CancelToken* cancel,
                  const std::function<void(int64_t)>& advanced) {
  // Longest first (as lm-eval): batches hold rows of similar length, so little padding.
  std::vector<size_t> order(rows.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return rows[a].input.size() > rows[b].input.size(); });
  for (size_t begin = 0; begin < order.size(); begin += size_t(batch_rows)) {
    if (cancel && cancel->is_cancelled()) return cancelled();
    const size_t end = std::min(order.size(), begin + size_t(batch_rows));
    std::vector<std::vector<int32_t>> inputs;
    int64_t width = 0, keep = 0;
    for (size_t k = begin; k < end; ++k) {
      const Row& r = rows[order[k]];
      inputs.push_back(r.input);
      width = std::max<int64_t>(width, int64_t(r.input.size()));
      keep = std::max<int64_t>(keep, int64_t(r.targets.size()));
    }
    torch::Tensor mask;
    auto ids = ids_tensor(inputs, width, /*left_pad=*/true, &mask).to(m->device());
    model::ForwardOptions fo;
    if (mask.defined()) fo.attention_mask = mask.to(m->device());
    fo.logits_to_keep = keep;
    auto logits = m->forward(ids, fo).logits.cpu();  // (b, keep, vocab)
    for (size_t k = begin; k < end; ++k) {
      const Row& r = rows[order[k]];
      const int64_t n = int64_t(r.targets.size());
      (*out)[r.request][r.choice] = score_positions(logits[int64_t(k - begin)].narrow(0, keep - n, n), r.targets);
    }
    if (advanced) advanced(int64_t(end - begin));
  }
  return Status::ok();
}

// lm-eval: (context + continuation)[-(max_length + 1):][:-1] as input.
Row make_row(size_t request, size_t choice, const std::vector<int32_t>& context, const std::vector<int32_t>& cont,
             int64_t max_length) {
  Row r;
  r.request = request;
  r.choice = choice;
  std::vector<int32_t> full = context;
  full.insert(full.end(), cont.begin(), cont.end());
  if (int64_t(full.size()) > max_length + 1) full.erase(full.begin(), full.end() - (max_length + 1));
  r.targets = cont;
  if (r.targets.size() > full.size() - 1) r.targets.erase(r.targets.begin(), r.targets.end() - int64_t(full.size() - 1));
  full.pop_back();
  r.input = std::move(full);
  return r;
}

// Shared-prefix scoring of requests [begin, end) that fit the window.
Status score_shared(model::LlamaForCausalLM& m, const std::vector<LoglikRequest>& reqs,
                    const std::vector<size_t>& which, std::vector<std::vector<ContinuationScore>>* out) {
  const int64_t b = int64_t(which.size());
  std::vector<std::vector<int32_t>> contexts;
  int64_t prefix = 0, cont_len = 0, rows = 0;
  for (size_t w : which) {
    contexts.push_back(reqs[w].context);
    prefix = std::max<int64_t>(prefix, int64_t(reqs[w].context.size()));
    for (const auto& c : reqs[w].continuations) cont_len = std::max<int64_t>(cont_len, int64_t(c.size()));
    rows += int64_t(reqs[w].continuations.size());
  }
  torch::Tensor prefix_mask;
  auto ids = ids_tensor(contexts, prefix, /*left_pad=*/true, &prefix_mask);
  const auto device = m->device();
  model::KVCache cache(m->config(), b, prefix + cont_len - 1, m->dtype(), device);
  model::ForwardOptions fo;
  fo.cache = &cache;
  fo.logits_to_keep = 1;
  if (prefix_mask.defined()) fo.attention_mask = prefix_mask.to(device);
  // (b, 1, vocab): the prediction of every continuation's first token.
  auto first = m->forward(ids.to(device), fo).logits.cpu().to(torch::kFloat32).squeeze(1);
  auto first_lp = torch::log_softmax(first, -1).contiguous();
  auto first_arg = first.argmax(-1).contiguous();
  auto flp = first_lp.accessor<float, 2>();
  auto farg = first_arg.accessor<int64_t, 1>();

  // One row per continuation: the context's cache repeated, then continuation[:-1].
  std::vector<int64_t> index;
  std::vector<std::vector<int32_t>> tails;
  std::vector<std::pair<size_t, size_t>> owner;  // (request, choice) of each row
  for (int64_t i = 0; i < b; ++i) {
    const auto& r = reqs[which[size_t(i)]];
    for (size_t c = 0; c < r.continuations.size(); ++c) {
      index.push_back(i);
      tails.emplace_back(r.continuations[c].begin(), r.continuations[c].end() - 1);
      owner.emplace_back(which[size_t(i)], c);
    }
  }
  torch::Tensor tail_logits;  // (rows, cont_len - 1, vocab)
  if (cont_len > 1) {
    cache.select_rows(torch::tensor(index, torch::kInt64));
    auto tail_ids = ids_tensor(tails, cont_len - 1, /*left_pad=*/false, nullptr);
    model::ForwardOptions fo2;
    fo2.cache = &cache;
    if (prefix_mask.defined()) {
      // Prefix padding stays hidden; the continuation part (right-padded) is all visible:
      // padding only follows real tokens, which causal attention never lets them see.
      auto pm = prefix_mask.index_select(0, torch::tensor(index, torch::kInt64));
      fo2.attention_mask = torch::cat({pm, torch::ones({rows, cont_len - 1}, torch::kInt64)}, 1).to(device);
    }
    tail_logits = m->forward(tail_ids.to(device), fo2).logits.cpu();
  }
  for (size_t k = 0; k < owner.size(); ++k) {
    const auto [req, c] = owner[k];
    const auto& cont = reqs[req].continuations[c];
    const int64_t bi = index[k];
    ContinuationScore s;
    s.tokens = int64_t(cont.size());
    s.logprob = double(flp[bi][cont[0]]);
    s.is_greedy = farg[bi] == cont[0];
    if (cont.size() > 1) {
      std::vector<int32_t> rest(cont.begin() + 1, cont.end());
      auto t = score_positions(tail_logits[int64_t(k)].narrow(0, 0, int64_t(rest.size())), rest);
      s.logprob += t.logprob;
      s.is_greedy = s.is_greedy && t.is_greedy;
    }
    (*out)[req][c] = s;
  }
  return Status::ok();
}

}  // namespace

Result<std::vector<std::vector<ContinuationScore>>> score_requests(model::LlamaForCausalLM& m,
                                                                   const std::vector<LoglikRequest>& requests,
                                                                   const ScorerOptions& o, Progress* progress,
                                                                   const CancelToken* cancel) {
  if (o.batch_rows < 1) return invalid_argument("batch size must be >= 1");
  if (o.max_length < 2) return invalid_argument("max_length must be >= 2");
  std::vector<std::vector<ContinuationScore>> out(requests.size());
  int64_t total_rows = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto& r = requests[i];
    if (r.context.empty()) return invalid_argument("request " + std::to_string(i) + " has an empty context");
    if (r.continuations.empty()) return invalid_argument("request " + std::to_string(i) + " has no continuation");
    for (const auto& c : r.continuations) {
      if (c.empty()) return invalid_argument("request " + std::to_string(i) + " has an empty continuation");
    }
    out[i].resize(r.continuations.size());
    total_rows += int64_t(r.continuations.size());
  }
  int64_t done = 0;
  auto advanced = [&](int64_t n) {
    done += n;
    if (progress) progress->update(done, total_rows);
  };
  try {
    torch::NoGradGuard no_grad;
    std::vector<Row> separate;
    std::vector<size_t> shared;
    for (size_t i = 0; i < requests.size(); ++i) {
      const auto& r = requests[i];
      int64_t longest = 0;
      for (const auto& c : r.continuations) longest = std::max<int64_t>(longest, int64_t(c.size()));
      if (o.shared_prefix && int64_t(r.context.size()) + longest - 1 <= o.max_length) {
        shared.push_back(i);
      } else {
        for (size_t c = 0; c < r.continuations.size(); ++c) {
          separate.push_back(make_row(i, c, r.context, r.continuations[c], o.max_length));
        }
      }
    }
    // Shared: group requests (longest context first) until batch_rows continuation rows.
    std::stable_sort(shared.begin(), shared.end(),
                     [&](size_t a, size_t b) { return requests[a].context.size() > requests[b].context.size(); });
    for (size_t begin = 0; begin < shared.size();) {
      if (cancel && cancel->is_cancelled()) return cancelled();
      std::vector<size_t> group;
      int64_t rows = 0;
      size_t k = begin;
      while (k < shared.size()) {
        const int64_t n = int64_t(requests[shared[k]].continuations.size());
        if (!group.empty() && rows + n > o.batch_rows) break;
        group.push_back(shared[k]);
        rows += n;
        ++k;
      }
      KANANA_RETURN_IF_ERROR(score_shared(m, requests, group, &out));
      advanced(rows);
      begin = k;
    }
    KANANA_RETURN_IF_ERROR(score_rows(m, separate, o.batch_rows, &out, cancel, advanced));
  } catch (const c10::Error& e) {
    return internal_error(std::string("scoring failed in LibTorch: ") + e.what_without_backtrace());
  }
  return out;
}

Result<std::vector<std::pair<double, int64_t>>> score_windows(model::LlamaForCausalLM& m,
                                                              const std::vector<TokenWindow>& windows,
                                                              int64_t batch_rows, const CancelToken* cancel) {
  if (batch_rows < 1) return invalid_argument("batch size must be >= 1");
  std::vector<std::pair<double, int64_t>> out(windows.size(), {0.0, 0});
  std::vector<size_t> order(windows.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return windows[a].tokens.size() > windows[b].tokens.size(); });
  try {
    torch::NoGradGuard no_grad;
    const auto device = m->device();
    auto weight = m->output_embedding_weight();
    for (size_t begin = 0; begin < order.size(); begin += size_t(batch_rows)) {
      if (cancel && cancel->is_cancelled()) return cancelled();
      const size_t end = std::min(order.size(), begin + size_t(batch_rows));
      std::vector<std::vector<int32_t>> inputs;
      int64_t width = 0;
      for (size_t k = begin; k < end; ++k) {
        const auto& t = windows[order[k]].tokens;
        if (t.size() < 2) continue;
        inputs.emplace_back(t.begin(), t.end() - 1);
        width = std::max<int64_t>(width, int64_t(t.size()) - 1);
      }
      if (inputs.empty()) continue;
      // Right padding: real tokens never attend to the padding after them.
      auto ids = ids_tensor(inputs, width, /*left_pad=*/false, nullptr).to(device);
      model::ForwardOptions fo;
      fo.compute_logits = false;
      auto hidden = m->forward(ids, fo).last_hidden_state;  // (b, width, hidden)
      // Project in slices of positions so (batch, window, vocab) logits never exist at once.
      const int64_t slice = 256;
      size_t row = 0;
      for (size_t k = begin; k < end; ++k) {
        const auto& t = windows[order[k]].tokens;
        if (t.size() < 2) continue;
        const int64_t n = int64_t(t.size()) - 1;
        double nll = 0;
        for (int64_t s = 0; s < n; s += slice) {
          const int64_t len = std::min(slice, n - s);
          auto h = hidden[int64_t(row)].narrow(0, s, len);
          auto lp = torch::log_softmax(model::project(h, weight).to(torch::kFloat32), -1).cpu();
          auto tgt = torch::tensor(std::vector<int64_t>(t.begin() + s + 1, t.begin() + s + 1 + len), torch::kInt64);
          nll -= lp.gather(1, tgt.unsqueeze(1)).to(torch::kFloat64).sum().item<double>();
        }
        out[order[k]] = {nll, n};
        ++row;
      }
    }
  } catch (const c10::Error& e) {
    return internal_error(std::string("scoring failed in LibTorch: ") + e.what_without_backtrace());
  }
  return out;
}

}  // namespace kanana::eval
