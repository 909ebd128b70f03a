// The engine's text generation loop (see text_generation.h).
#include "infer/text_generation.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

namespace kanana::infer {

double TextResult::decode_tokens_per_second() const {
  return decode_seconds > 0 && generated_tokens > 1 ? double(generated_tokens - 1) / decode_seconds : 0.0;
}

TokenStream::TokenStream(const model::SamplingOptions& sampling, std::vector<int32_t> stop_ids,
                         const std::vector<std::string>* stop_strings, int64_t vocab_size,
                         std::shared_ptr<const tok::Tokenizer> tokenizer, std::span<const int32_t> prompt,
                         int64_t max_new)
    : stop_ids_(std::move(stop_ids)),
      max_new_(max_new),
      sampler_(sampling, uint64_t(sampling.seed), vocab_size),
      decoder_(std::move(tokenizer), /*skip_special=*/true),
      sequence_(prompt.begin(), prompt.end()) {
  static const std::vector<std::string> kNone;
  filter_.stops = stop_strings ? stop_strings : &kNone;
  sequence_.reserve(sequence_.size() + size_t(std::max<int64_t>(0, max_new)));
  generated_ids_.reserve(size_t(std::max<int64_t>(0, max_new)));
}

std::string TokenStream::tail(bool* hit) {
  std::string s = filter_.push(decoder_.flush(), hit);
  if (!*hit) s += filter_.flush();
  return s;
}

std::string TokenStream::finish() {
  bool hit = false;
  return tail(&hit);
}

Result<TokenStream::Token> TokenStream::next(std::span<const float> logits) {
  for (float v : logits)
    if (std::isnan(v) || v == std::numeric_limits<float>::infinity())
      return data_loss("the model's logits are not finite (NaN or +Inf) at generated token " +
                       std::to_string(generated_ + 1) + ": its weights or activations overflowed");
  Token t;
  t.id = sampler_.sample(logits, sequence_);
  sequence_.push_back(t.id);
  ++generated_;
  bool hit = false;
  if (std::find(stop_ids_.begin(), stop_ids_.end(), t.id) != stop_ids_.end()) {
    t.text = tail(&hit);
    t.ended = true;
    t.reason = "stop_token";
    return t;
  }
  generated_ids_.push_back(t.id);
  t.text = filter_.push(decoder_.push(t.id), &hit);
  if (!hit && generated_ >= max_new_) t.text += tail(&hit);
  if (hit || generated_ >= max_new_) {
    t.ended = true;
    t.reason = hit ? "stop_string" : "length";
  }
  return t;
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
  std::vector<int32_t> stop_ids = request.stop_ids;
  for (int64_t id : config.eos_token_ids) stop_ids.push_back(int32_t(id));
  TokenStream stream(request.sampling, std::move(stop_ids), &request.stop_strings, config.vocab_size,
                     std::move(tokenizer), prompt, max_new);

  TextResult r;
  r.prompt_tokens = prompt_len;
  r.stop_reason = "length";
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
  while (max_new > 0) {
    if (cancel && cancel->is_cancelled()) {
      r.stop_reason = "cancelled";
      emit(stream.finish());
      break;
    }
    KANANA_ASSIGN_OR_RETURN(TokenStream::Token t, stream.next(*logits));
    emit(t.text);
    if (stopped_by_sink && !t.ended) {
      r.stop_reason = "callback";
      break;
    }
    if (t.ended) {
      r.stop_reason = t.reason;
      break;
    }
    logits = engine.forward(std::span<const int32_t>(&stream.sequence().back(), 1));
    if (!logits.is_ok()) return logits.status();
  }
  r.ids = stream.generated_ids();
  r.generated_tokens = stream.generated();
  r.decode_seconds = std::chrono::duration<double>(Clock::now() - t1).count();
  return r;
}

}  // namespace kanana::infer
