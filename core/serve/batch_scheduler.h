// Continuous batching over one LlamaEngine with several KV slots: requests queue, join the
// running batch between steps (a prompt is prefilled in chunks that share the step with the
// other sequences' decode rows), and finished or cancelled sequences leave and free their slot
// at the next step. Each step is one LlamaEngine::step(): every weight matrix is read once for
// all the rows of the step.
//
// A sequence's tokens do not depend on its neighbours: the engine's rows are independent
// bit for bit (llama_engine.h), and each sequence samples with its own TokenSampler and seed.
//
// Threading contract: submit(), stats() and the destructor may be called from any thread; the
// engine is used only by the scheduler's own thread (started in the constructor, joined in the
// destructor, which finishes every unfinished generation as "cancelled").
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "base/status.h"
#include "infer/llama_engine.h"
#include "serve/generation.h"
#include "tokenizer/tokenizer.h"

namespace kanana::serve {

struct SchedulerStats {
  int64_t slots = 0;
  int64_t running = 0;             // sequences holding a slot
  int64_t waiting = 0;             // sequences queued for one
  int64_t generated_tokens = 0;    // since start
  int64_t steps = 0;
  double tokens_per_second = 0;    // generated tokens over the last few seconds of steps
};

class BatchScheduler {
 public:
  // `queue_limit`: sequences that may wait beyond the free slots.
  BatchScheduler(infer::LlamaEngine& engine, std::shared_ptr<const tok::Tokenizer> tokenizer, int64_t queue_limit);
  ~BatchScheduler();
  BatchScheduler(const BatchScheduler&) = delete;
  BatchScheduler& operator=(const BatchScheduler&) = delete;

  // Queues all of `generations` or none: kUnavailable ("queue full") when they would make more
  // than queue_limit sequences wait; kInvalidArgument for a request the engine cannot hold.
  Status submit(const std::vector<std::shared_ptr<Generation>>& generations);
  SchedulerStats stats() const;

 private:
  struct Sequence;
  void loop();
  bool admit_locked(std::vector<std::unique_ptr<Sequence>>& active);
  void step(std::vector<std::unique_ptr<Sequence>>& active);
  // Samples from `logits` for `s`; false when the sequence ended.
  bool take_token(Sequence& s, std::span<const float> logits);
  void release(std::vector<std::unique_ptr<Sequence>>& active);

  infer::LlamaEngine& engine_;
  std::shared_ptr<const tok::Tokenizer> tokenizer_;
  const int64_t queue_limit_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Generation>> waiting_;
  int64_t running_ = 0;
  bool stopping_ = false;
  std::vector<int64_t> free_slots_;
  int64_t generated_ = 0, steps_ = 0;
  std::deque<std::pair<double, int64_t>> recent_;  // (seconds since start, tokens) of the last steps

  std::vector<infer::LlamaEngine::SlotTokens> entries_;  // one step's engine entries
  std::thread thread_;
};

}  // namespace kanana::serve
