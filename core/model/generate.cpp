// The generation loop (see generate.h). Finished rows are dropped from the batch (and from
// the KV cache) so N samples that stop early stop costing compute.
#include "model/generate.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <set>

#include "tokenizer/stop_strings.h"
#include "tokenizer/tokenizer.h"

namespace kanana::model {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct Row {
  GeneratedSequence seq;
  std::vector<int32_t> seen;  // prompt + generated ids (repetition penalty)
  std::unique_ptr<Sampler> sampler;
  std::unique_ptr<tok::StreamDecoder> decoder;
  tok::StopStringFilter filter;
  bool finished = false;
};

}  // namespace

Result<GenerationResult> generate(LlamaForCausalLM& model, const std::vector<std::vector<int32_t>>& prompts,
                                  const GenerationOptions& options, std::shared_ptr<const tok::Tokenizer> tokenizer,
                                  const TokenCallback& on_token, const CancelToken* cancel) {
  const LlamaConfig& config = model->config();
  if (prompts.empty()) return invalid_argument("generate: no prompts");
  if (options.num_samples < 1) return invalid_argument("generate: num_samples must be >= 1");
  if (options.max_new_tokens < 0) return invalid_argument("generate: max_new_tokens must be >= 0");
  if (!options.stop_strings.empty() && !tokenizer) {
    return invalid_argument("generate: stop strings need a tokenizer");
  }
  if (options.top_p <= 0.0 || options.top_p > 1.0) return invalid_argument("generate: top_p must be in (0, 1]");
  if (options.min_p < 0.0 || options.min_p > 1.0) return invalid_argument("generate: min_p must be in [0, 1]");
  if (options.repetition_penalty <= 0.0) return invalid_argument("generate: repetition_penalty must be positive");
  int64_t prompt_len = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    if (prompts[i].empty()) return invalid_argument("generate: prompt " + std::to_string(i) + " is empty");
    for (int32_t id : prompts[i]) {
      if (id < 0 || id >= config.vocab_size) {
        return invalid_argument("generate: prompt " + std::to_string(i) + " has token id " + std::to_string(id) +
                                " outside the vocabulary of " + std::to_string(config.vocab_size));
      }
    }
    prompt_len = std::max<int64_t>(prompt_len, static_cast<int64_t>(prompts[i].size()));
  }
  std::set<int32_t> stop_ids(options.stop_token_ids.begin(), options.stop_token_ids.end());
  if (options.stop_at_eos) {
    for (int64_t id : config.eos_token_ids) stop_ids.insert(static_cast<int32_t>(id));
  }
  const int64_t n_rows = static_cast<int64_t>(prompts.size()) * options.num_samples;
  const int32_t pad_id = static_cast<int32_t>(config.pad_token_id.value_or(0));

  GenerationResult result;
  std::vector<Row> rows(n_rows);
  auto ids_opts = torch::TensorOptions().dtype(torch::kInt64);
  auto ids = torch::full({n_rows, prompt_len}, pad_id, ids_opts);  // (rows, prompt_len), left-padded
  auto mask = torch::zeros({n_rows, prompt_len}, ids_opts);        // (rows, prompt_len)
  for (int64_t r = 0; r < n_rows; ++r) {
    const auto& p = prompts[r / options.num_samples];
    Row& row = rows[r];
    row.seq.prompt_index = r / options.num_samples;
    row.seq.sample_index = r % options.num_samples;
    row.seen = p;
    // Distinct, reproducible streams per row (splitmix-style spread of the row index).
    row.sampler = std::make_unique<Sampler>(options.sampling(), options.seed + 0x9E3779B97F4A7C15ull * (r + 1));
    if (tokenizer) row.decoder = std::make_unique<tok::StreamDecoder>(tokenizer, /*skip_special=*/true);
    row.filter.stops = &options.stop_strings;
    const int64_t offset = prompt_len - static_cast<int64_t>(p.size());
    auto acc = ids.accessor<int64_t, 2>();
    auto macc = mask.accessor<int64_t, 2>();
    for (size_t j = 0; j < p.size(); ++j) {
      acc[r][offset + j] = p[j];
      macc[r][offset + j] = 1;
    }
    result.prompt_tokens += static_cast<int64_t>(p.size());
  }
  if (options.max_new_tokens == 0) {
    for (auto& row : rows) {
      row.seq.stop_reason = "length";
      result.sequences.push_back(row.seq);
    }
    return result;
  }

  try {
    c10::InferenceMode inference;
    const auto device = model->device();
    std::vector<int64_t> active(n_rows);  // batch position -> row
    for (int64_t r = 0; r < n_rows; ++r) active[r] = r;
    std::optional<KVCache> cache;
    if (options.use_cache) cache.emplace(config, n_rows, prompt_len + options.max_new_tokens, model->dtype(), device);
    ids = ids.to(device);
    mask = mask.to(device);
    torch::Tensor all_ids = ids;  // (active, length) for the uncached path
    torch::Tensor step_input = ids;
    bool stop_all = false;
    std::string stop_all_reason;
    auto t0 = Clock::now();
    for (int64_t step = 0; step < options.max_new_tokens && !active.empty(); ++step) {
      if (cancel && cancel->is_cancelled()) {
        stop_all = true;
        stop_all_reason = "cancelled";
        break;
      }
      ForwardOptions fo;
      fo.attention_mask = mask;
      fo.logits_to_keep = 1;
      fo.cache = cache ? &*cache : nullptr;
      auto out = model->forward(options.use_cache ? step_input : all_ids, fo);
      auto logits = out.logits.select(1, 0).to(torch::kCPU, torch::kFloat32);  // (active, vocab)
      if (torch::isnan(logits).any().item<bool>() || torch::isposinf(logits).any().item<bool>())
        return data_loss("the model's logits are not finite (NaN or +Inf) at generated token " + std::to_string(step + 1) +
                         ": its weights or activations overflowed");
      if (step == 0) {
        result.prefill_seconds = seconds_since(t0);
        t0 = Clock::now();
      }
      std::vector<int64_t> next(active.size());
      std::vector<int64_t> keep;
      for (size_t b = 0; b < active.size(); ++b) {
        Row& row = rows[active[b]];
        const int32_t id = row.sampler->sample(logits[b], row.seen);
        next[b] = id;
        row.seen.push_back(id);
        ++result.generated_tokens;
        if (stop_ids.count(id)) {
          row.finished = true;
          row.seq.stop_reason = "stop_token";
        } else {
          row.seq.tokens.push_back(id);
          GeneratedToken event{active[b], row.seq.prompt_index, row.seq.sample_index, id, {}};
          if (row.decoder) {
            bool hit = false;
            event.text = row.filter.push(row.decoder->push(id), &hit);
            row.seq.text += event.text;
            if (hit) {
              row.finished = true;
              row.seq.stop_reason = "stop_string";
            }
          }
          if (on_token && !on_token(event)) {
            stop_all = true;
            stop_all_reason = "callback";
          }
        }
        if (!row.finished && static_cast<int64_t>(row.seq.tokens.size()) >= options.max_new_tokens) {
          row.finished = true;
          row.seq.stop_reason = "length";
        }
        if (!row.finished) keep.push_back(static_cast<int64_t>(b));
      }
      if (stop_all) break;
      auto next_t = torch::tensor(next, ids_opts).to(device).unsqueeze(1);  // (active, 1)
      all_ids = torch::cat({all_ids, next_t}, 1);
      mask = torch::cat({mask, torch::ones({mask.size(0), 1}, mask.options())}, 1);
      step_input = next_t;
      if (keep.size() != active.size()) {
        // Drop finished rows from every batched tensor and the cache.
        auto index = torch::tensor(keep, ids_opts).to(device);
        if (cache && !keep.empty()) cache->select_rows(index);
        all_ids = all_ids.index_select(0, index);
        mask = mask.index_select(0, index);
        step_input = step_input.index_select(0, index);
        std::vector<int64_t> still;
        for (int64_t b : keep) still.push_back(active[b]);
        active = std::move(still);
      }
    }
    result.decode_seconds = seconds_since(t0);
    for (int64_t r : active) {
      Row& row = rows[r];
      if (!row.finished) {
        row.finished = true;
        row.seq.stop_reason = stop_all ? stop_all_reason : "length";
      }
    }
  } catch (const std::exception& e) {
    return internal_error(std::string("generate: ") + e.what());
  }
  for (auto& row : rows) {
    if (row.decoder && row.seq.stop_reason != "stop_string") {
      bool hit = false;
      std::string tail = row.filter.push(row.decoder->flush(), &hit);
      if (!hit) tail += row.filter.flush();
      row.seq.text += tail;
      if (!tail.empty() && on_token) {
        on_token({row.seq.prompt_index * options.num_samples + row.seq.sample_index, row.seq.prompt_index,
                  row.seq.sample_index, -1, tail});
      }
    }
    result.sequences.push_back(std::move(row.seq));
  }
  return result;
}

}  // namespace kanana::model
