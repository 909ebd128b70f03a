// A persistent pool for the decode kernels: N threads (the caller plus N-1 workers) that split
// a range of output rows into N contiguous chunks. Built for many short calls (a 2B model's
// token is ~225 matrix-vector products of 0.1-2 ms each):
//   - no allocation and no std::function per call: the callable is passed as a pointer to
//     the caller's lambda plus a trampoline;
//   - workers spin for `spin_us` after their last job (a few tens of microseconds covers the
//     gap between two matvecs of one token), then sleep on a futex (std::atomic::wait), so an
//     idle pool costs no CPU;
//   - N = 1 runs everything inline on the caller; so does a range that yields a single chunk.
// Chunking is static and deterministic: chunk t of [begin, end) depends only on the range, N
// and `align`, and every row is computed by exactly one thread, so results are bit-identical
// for any N. One caller at a time; `fn` must not throw and must not call back into the pool.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace kanana::infer {

class ThreadPool {
 public:
  // threads <= 0 means std::thread::hardware_concurrency().
  explicit ThreadPool(int threads, int spin_us = 50);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return size_; }

  // Calls fn(chunk_begin, chunk_end) for each non-empty chunk of [begin, end), chunk 0 on the
  // calling thread; returns when all are done. Chunk boundaries are multiples of `align`
  // (relative to begin) so threads never share a cache line of output and each streams its
  // own contiguous block of weight rows.
  template <typename F>
  void parallel_for(int64_t begin, int64_t end, F&& fn, int64_t align = 16) {
    using Fn = std::remove_reference_t<F>;
    run(begin, end, align,
        [](void* ctx, int64_t b, int64_t e) { (*static_cast<Fn*>(ctx))(b, e); },
        const_cast<void*>(static_cast<const void*>(&fn)));
  }

  // The chunk `part` of `parts` that parallel_for hands out (empty: first == second).
  static std::pair<int64_t, int64_t> chunk(int64_t begin, int64_t end, int parts, int part,
                                           int64_t align);

 private:
  using Trampoline = void (*)(void* ctx, int64_t b, int64_t e);
  void run(int64_t begin, int64_t end, int64_t align, Trampoline fn, void* ctx);
  void worker_loop(int index);

  int size_ = 1;
  int spin_us_ = 50;
  std::vector<std::thread> workers_;

  // The job and its generation counter share one cache line: the caller writes the fields and
  // then bumps generation_ (release), so a spinning worker gets the whole job in the same
  // cache-line transfer that tells it there is one (acquire).
  alignas(64) std::atomic<uint32_t> generation_{0};
  bool stop_ = false;
  Trampoline job_fn_ = nullptr;
  void* job_ctx_ = nullptr;
  int64_t job_begin_ = 0, job_end_ = 0, job_align_ = 1;

  alignas(64) std::atomic<uint32_t> sleepers_{0};     // workers blocked in generation_.wait
  alignas(64) std::atomic<uint32_t> pending_{0};      // workers still running the job
  alignas(64) std::atomic<uint32_t> caller_waiting_{0};
};

}  // namespace kanana::infer
