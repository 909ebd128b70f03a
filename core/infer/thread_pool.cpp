// ThreadPool: see thread_pool.h. Wake-up protocol (both directions are the same Dekker-style
// handshake on seq_cst atomics, so no wake-up is lost and no syscall is made while the other
// side is spinning):
//   caller:  write job; generation_ += 1;  if (sleepers_ > 0) notify_all(generation_)
//   worker:  spin until generation_ changes; else sleepers_ += 1; re-check; wait; sleepers_ -= 1
// and for completion, with pending_ / caller_waiting_ in the same roles.
#include "infer/thread_pool.h"

#include <algorithm>
#include <chrono>

namespace kanana::infer {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

using Clock = std::chrono::steady_clock;

// Spin until pred() or `spin_us` passed; true if pred() held.
template <typename Pred>
bool spin_until(Pred pred, int spin_us) {
  if (pred()) return true;
  if (spin_us <= 0) return false;
  const auto deadline = Clock::now() + std::chrono::microseconds(spin_us);
  for (;;) {
    for (int i = 0; i < 32; ++i) {
      cpu_relax();
      if (pred()) return true;
    }
    if (Clock::now() >= deadline) return false;
  }
}

}  // namespace

ThreadPool::ThreadPool(int threads, int spin_us) : spin_us_(spin_us) {
  if (threads <= 0) threads = int(std::max(1u, std::thread::hardware_concurrency()));
  size_ = threads;
  workers_.reserve(size_t(threads - 1));
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  if (workers_.empty()) return;
  stop_ = true;
  generation_.fetch_add(1, std::memory_order_seq_cst);
  generation_.notify_all();
  for (auto& t : workers_) t.join();
}

std::pair<int64_t, int64_t> ThreadPool::chunk(int64_t begin, int64_t end, int parts, int part,
                                              int64_t align) {
  const int64_t n = std::max<int64_t>(0, end - begin);
  align = std::max<int64_t>(1, align);
  int64_t per = (n + parts - 1) / std::max(1, parts);
  per = (per + align - 1) / align * align;
  const int64_t b = std::min(n, per * part), e = std::min(n, per * (part + 1));
  return {begin + b, begin + e};
}

void ThreadPool::run(int64_t begin, int64_t end, int64_t align, Trampoline fn, void* ctx) {
  if (end <= begin) return;
  const auto first = chunk(begin, end, size_, 0, align);
  if (size_ == 1 || first.second >= end) {  // one chunk: no thread hop
    fn(ctx, begin, end);
    return;
  }
  job_fn_ = fn;
  job_ctx_ = ctx;
  job_begin_ = begin;
  job_end_ = end;
  job_align_ = align;
  pending_.store(uint32_t(size_ - 1), std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_seq_cst);  // publishes the job
  if (sleepers_.load(std::memory_order_seq_cst) != 0) generation_.notify_all();

  fn(ctx, first.first, first.second);

  auto done = [this] { return pending_.load(std::memory_order_acquire) == 0; };
  // The caller spins longer than a worker would: it has nothing else to do.
  if (!spin_until(done, 4 * spin_us_ + 200)) {
    caller_waiting_.store(1, std::memory_order_seq_cst);
    for (uint32_t p; (p = pending_.load(std::memory_order_seq_cst)) != 0;) pending_.wait(p);
    caller_waiting_.store(0, std::memory_order_relaxed);
  }
}

void ThreadPool::worker_loop(int index) {
  // Not generation_.load(): a job may already have been posted before this thread ran.
  uint32_t seen = 0;
  for (;;) {
    auto changed = [&] { return generation_.load(std::memory_order_acquire) != seen; };
    if (!spin_until(changed, spin_us_)) {
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      while (generation_.load(std::memory_order_seq_cst) == seen) generation_.wait(seen);
      sleepers_.fetch_sub(1, std::memory_order_relaxed);
    }
    seen = generation_.load(std::memory_order_acquire);
    if (stop_) return;
    const auto c = chunk(job_begin_, job_end_, size_, index, job_align_);
    if (c.first < c.second) job_fn_(job_ctx_, c.first, c.second);
    if (pending_.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
        caller_waiting_.load(std::memory_order_seq_cst) != 0) {
      pending_.notify_one();
    }
  }
}

}  // namespace kanana::infer
