// The engine's text generation loop (see text_generation.h).
#include "infer/text_generation.h"

#include <algorithm>
#include <chrono>
#include <set>

#include "infer/sampling.h"
#include "tokenizer/stop_strings.h"

namespace kanana::infer {

double TextResult::decode_tokens_per_second() const {
  return decode_seconds > 0 && generated_tokens > 1 ? double(generated_tokens - 1) / decode_seconds : 0.0;
}

Result<TextResult> generate_text(LlamaEngine& engine, std::span<const int32_t> prompt, const TextRequest& request,
                                 std::shared_ptr<const tok::Tokenizer> tokenizer, const TextSink& on_text,
                                 const CancelToken* cancel) {
  KANANA_RETURN_IF_ERROR(model::check_sampling(request.sampling));
  if (prompt.empty()) return invalid_argument("the prompt encodes to no tokens");
  const int64_t prompt_len = int64_t(prompt.size());
  if (prompt_len >= engine.context())
    return invalid_argument("the prompt (" + std::to_string(prompt_len) + " tokens) fills the engine's context of " +
                            std::to_string(engine.context()) + " positions");
  const int64_t max_new = std::min<int64_t>(request.sampling.max_new_tokens, engine.context() - prompt_len);
  const model::LlamaConfig& config = engine.config();
  std::set<int32_t> stop_ids(request.stop_ids.begin(), request.stop_ids.end());
  for (int64_t id : config.eos_token_ids) stop_ids.insert(int32_t(id));
  TokenSampler sampler(request.sampling, uint64_t(request.sampling.seed), config.vocab_size);
  tok::StreamDecoder decoder(tokenizer, /*skip_special=*/true);
  tok::StopStringFilter filter;
  filter.stops = &request.stop_strings;

  TextResult r;
  r.prompt_tokens = prompt_len;
  r.stop_reason = "length";
  std::vector<int32_t> seen(prompt.begin(), prompt.end());
  seen.reserve(seen.size() + size_t(max_new));
  bool stopped_by_sink = false;
  auto emit = [&](const std::string& text) {
    if (text.empty() || stopped_by_sink) return;
    r.text += text;
    if (on_text && !on_text(text)) stopped_by_sink = true;
  };

  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  engine.reset();
  auto logits = engine.forward(prompt);
  if (!logits.is_ok()) return logits.status();
  r.prefill_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  const auto t1 = Clock::now();
  while (r.generated_tokens < max_new) {
    if (cancel && cancel->is_cancelled()) {
      r.stop_reason = "cancelled";
      break;
    }
    const int32_t id = sampler.sample(*logits, seen);
    seen.push_back(id);
    ++r.generated_tokens;
    if (stop_ids.count(id)) {
      r.stop_reason = "stop_token";
      break;
    }
    r.ids.push_back(id);
    bool hit = false;
    emit(filter.push(decoder.push(id), &hit));
    if (hit) {
      r.stop_reason = "stop_string";
      break;
    }
    if (stopped_by_sink) {
      r.stop_reason = "callback";
      break;
    }
    if (r.generated_tokens == max_new) break;
    logits = engine.forward(std::span<const int32_t>(&seen.back(), 1));
    if (!logits.is_ok()) return logits.status();
  }
  if (r.stop_reason != "stop_string" && r.stop_reason != "callback") {
    bool hit = false;
    emit(filter.push(decoder.flush(), &hit));
    if (!hit) emit(filter.flush());
  }
  r.decode_seconds = std::chrono::duration<double>(Clock::now() - t1).count();
  return r;
}

}  // namespace kanana::infer
