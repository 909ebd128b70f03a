#include "serve/batch_scheduler.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "infer/text_generation.h"

namespace kanana::serve {

namespace {
using Clock = std::chrono::steady_clock;
const Clock::time_point kStart = Clock::now();
double now_s() { return std::chrono::duration<double>(Clock::now() - kStart).count(); }
}  // namespace

struct BatchScheduler::Sequence {
  Sequence(std::shared_ptr<Generation> g, int64_t slot_, std::shared_ptr<const tok::Tokenizer> tokenizer, int64_t vocab)
      : gen(std::move(g)),
        slot(slot_),
        stream(gen->request().sampling, gen->request().stop_ids, &gen->request().stop_strings, vocab,
               std::move(tokenizer), gen->request().prompt, gen->request().sampling.max_new_tokens) {}
  std::shared_ptr<Generation> gen;
  int64_t slot;
  size_t prefilled = 0;      // prompt tokens in the cache
  bool done = false;
  infer::TokenStream stream;   // sampling, stops and text: the same as generate_text's
  std::vector<int32_t> order;  // top_logprobs scratch (vocab), only when asked for
  bool prefilling() const { return prefilled < gen->request().prompt.size(); }
};

BatchScheduler::BatchScheduler(infer::LlamaEngine& engine, std::shared_ptr<const tok::Tokenizer> tokenizer,
                               int64_t queue_limit)
    : engine_(engine), tokenizer_(std::move(tokenizer)), queue_limit_(queue_limit) {
  for (int64_t s = engine_.slots() - 1; s >= 0; --s) free_slots_.push_back(s);
  entries_.reserve(size_t(engine_.slots()));
  thread_ = std::thread([this] { loop(); });
}

BatchScheduler::~BatchScheduler() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& g : waiting_) g->finish("cancelled", cancelled("the server is shutting down"));
}

Status BatchScheduler::submit(const std::vector<std::shared_ptr<Generation>>& generations) {
  for (const auto& g : generations) {
    const auto& r = g->request();
    if (r.prompt.empty()) return invalid_argument("the prompt has no tokens");
    if (int64_t(r.prompt.size()) + std::max<int64_t>(r.sampling.max_new_tokens, 1) - 1 > engine_.context())
      return invalid_argument("the prompt (" + std::to_string(r.prompt.size()) + " tokens) and " +
                              std::to_string(r.sampling.max_new_tokens) + " new tokens exceed the context of " +
                              std::to_string(engine_.context()) + " positions");
  }
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return unavailable("the server is shutting down");
    const int64_t want = running_ + int64_t(waiting_.size()) + int64_t(generations.size());
    const int64_t would_wait = std::max<int64_t>(0, want - engine_.slots());
    if (would_wait > queue_limit_)
      return unavailable("queue full: " + std::to_string(running_) + " sequences running and " +
                         std::to_string(waiting_.size()) + " waiting (--parallel " + std::to_string(engine_.slots()) +
                         ", --queue " + std::to_string(queue_limit_) + ")");
    for (const auto& g : generations) waiting_.push_back(g);
  }
  wake_.notify_all();
  return Status::ok();
}

SchedulerStats BatchScheduler::stats() const {
  std::lock_guard lock(mutex_);
  SchedulerStats s;
  s.slots = engine_.slots();
  s.running = running_;
  s.waiting = int64_t(waiting_.size());
  s.generated_tokens = generated_;
  s.steps = steps_;
  // Tokens of the steps in the last 3 seconds over the time they cover (up to now, so the rate
  // falls to 0 when nothing runs).
  const double now = now_s();
  int64_t tokens = 0;
  double first = now;
  for (const auto& [t, n] : recent_)
    if (t >= now - 3.0) {
      tokens += n;
      first = std::min(first, t);
    }
  if (tokens > 0) s.tokens_per_second = double(tokens) / std::max(now - first, 0.05);
  return s;
}

// Under the lock: waiting generations into free slots (cancelled ones are dropped). Returns
// whether anything is active.
bool BatchScheduler::admit_locked(std::vector<std::unique_ptr<Sequence>>& active) {
  while (!waiting_.empty() && !free_slots_.empty()) {
    auto g = std::move(waiting_.front());
    waiting_.pop_front();
    if (g->cancelled()) {
      g->finish("cancelled");
      continue;
    }
    const int64_t slot = free_slots_.back();
    free_slots_.pop_back();
    engine_.reset_slot(slot);
    active.push_back(std::make_unique<Sequence>(std::move(g), slot, tokenizer_, engine_.config().vocab_size));
    ++running_;
  }
  return !active.empty();
}

void BatchScheduler::loop() {
  std::vector<std::unique_ptr<Sequence>> active;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !waiting_.empty() || !active.empty(); });
      if (stopping_) break;
      admit_locked(active);
    }
    for (auto& s : active)
      if (s->gen->cancelled()) {
        s->gen->finish("cancelled");
        s->done = true;
      }
    release(active);
    if (!active.empty()) step(active);
    release(active);
  }
  for (auto& s : active) s->gen->finish("cancelled", cancelled("the server is shutting down"));
}

void BatchScheduler::release(std::vector<std::unique_ptr<Sequence>>& active) {
  std::lock_guard lock(mutex_);
  for (auto it = active.begin(); it != active.end();) {
    if ((*it)->done) {
      free_slots_.push_back((*it)->slot);
      --running_;
      it = active.erase(it);
    } else {
      ++it;
    }
  }
}

void BatchScheduler::step(std::vector<std::unique_ptr<Sequence>>& active) {
  // Decode rows first (one each), then prompt chunks in arrival order with the rows left.
  entries_.clear();
  std::vector<Sequence*> owners;  // per entry (<= slots)
  owners.reserve(active.size());
  int64_t budget = engine_.batch_rows();
  for (auto& s : active)
    if (!s->prefilling()) {
      entries_.push_back({s->slot, std::span<const int32_t>(&s->stream.sequence().back(), 1), true});
      owners.push_back(s.get());
      --budget;
    }
  for (auto& s : active) {
    if (!s->prefilling() || budget <= 0) continue;
    const auto& prompt = s->gen->request().prompt;
    const int64_t n = std::min<int64_t>(budget, int64_t(prompt.size() - s->prefilled));
    const bool last = s->prefilled + size_t(n) == prompt.size();
    entries_.push_back({s->slot, std::span<const int32_t>(prompt.data() + s->prefilled, size_t(n)), last});
    owners.push_back(s.get());
    budget -= n;
  }
  if (entries_.empty()) return;
  auto logits = engine_.step(entries_);
  if (!logits.is_ok()) {
    for (Sequence* s : owners) {
      s->gen->finish("error", logits.status());
      s->done = true;
    }
    return;
  }
  const size_t V = size_t(engine_.config().vocab_size);
  int64_t tokens = 0;
  for (size_t i = 0; i < owners.size(); ++i) {
    Sequence& s = *owners[i];
    if (s.prefilling()) {
      s.prefilled += entries_[i].tokens.size();
      if (!entries_[i].logits) continue;
    }
    ++tokens;
    if (!take_token(s, logits->subspan(i * V, V))) s.done = true;
  }
  std::lock_guard lock(mutex_);
  generated_ += tokens;
  ++steps_;
  recent_.emplace_back(now_s(), tokens);
  while (!recent_.empty() && recent_.back().first - recent_.front().first > 3.0) recent_.pop_front();
}

bool BatchScheduler::take_token(Sequence& s, std::span<const float> logits) {
  const GenerationRequest& r = s.gen->request();
  auto next = s.stream.next(logits);
  if (!next.is_ok()) {
    s.gen->finish("error", next.status());
    return false;
  }
  const infer::TokenStream::Token& t = *next;
  s.gen->count_token();
  TokenLogprob lp;
  const bool with_logprob = r.top_logprobs >= 0 && t.reason != "stop_token";  // a stop token is not part of the text
  if (with_logprob) {
    float m = -INFINITY;
    for (float v : logits) m = std::max(m, v);
    double sum = 0;
    for (float v : logits) sum += std::exp(double(v - m));
    const double lse = double(m) + std::log(sum);
    lp.id = t.id;
    lp.token = tokenizer_->decode({t.id});
    lp.logprob = double(logits[size_t(t.id)]) - lse;
    if (r.top_logprobs > 0) {
      if (s.order.size() != logits.size()) s.order.resize(logits.size());
      std::iota(s.order.begin(), s.order.end(), 0);
      const auto k = std::min<size_t>(size_t(r.top_logprobs), s.order.size());
      std::partial_sort(s.order.begin(), s.order.begin() + std::ptrdiff_t(k), s.order.end(),
                        [&](int32_t a, int32_t b) { return logits[size_t(a)] > logits[size_t(b)]; });
      for (size_t j = 0; j < k; ++j)
        lp.top.emplace_back(tokenizer_->decode({s.order[j]}), double(logits[size_t(s.order[j])]) - lse);
    }
  }
  s.gen->push(t.text, with_logprob ? &lp : nullptr);
  if (t.ended) s.gen->finish(t.reason == "length" ? "length" : "stop");  // OpenAI's words
  return !t.ended;
}

}  // namespace kanana::serve
