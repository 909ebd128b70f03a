#include "serve/generation.h"

namespace kanana::serve {

Generation::Update Generation::take_locked() {
  Update u;
  u.text = text_.substr(read_text_);
  read_text_ = text_.size();
  u.logprobs.assign(logprobs_.begin() + std::ptrdiff_t(read_logprobs_), logprobs_.end());
  read_logprobs_ = logprobs_.size();
  u.finished = finished_;
  u.finish_reason = reason_;
  u.error = error_;
  u.completion_tokens = completion_tokens_;
  return u;
}

Generation::Update Generation::next(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] {
    return finished_ || text_.size() > read_text_ || logprobs_.size() > read_logprobs_;
  });
  return take_locked();
}

Generation::Update Generation::wait_finished() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return finished_; });
  return take_locked();
}

void Generation::push(const std::string& text, TokenLogprob* logprob) {
  {
    std::lock_guard lock(mutex_);
    text_ += text;
    if (logprob != nullptr) logprobs_.push_back(std::move(*logprob));
  }
  changed_.notify_all();
}

void Generation::count_token() {
  std::lock_guard lock(mutex_);
  ++completion_tokens_;
}

void Generation::finish(std::string reason, Status error) {
  {
    std::lock_guard lock(mutex_);
    if (finished_) return;
    finished_ = true;
    reason_ = std::move(reason);
    error_ = std::move(error);
  }
  changed_.notify_all();
}

bool Generation::finished() const {
  std::lock_guard lock(mutex_);
  return finished_;
}

}  // namespace kanana::serve
