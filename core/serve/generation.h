// One sequence being generated for an HTTP request: what to generate (GenerationRequest) and the
// channel its output goes through (Generation), written by the scheduler thread and read by the
// handler thread that answers the client.
//
// Threading contract: the scheduler calls push()/finish() (one writer); one handler thread calls
// next()/wait_finished() (one reader, which keeps the read offsets); cancel() and cancelled()
// may be called from any thread. Everything is guarded by the object's mutex.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "model/sampling_options.h"

namespace kanana::serve {

struct GenerationRequest {
  std::vector<int32_t> prompt;              // token ids, not empty
  model::SamplingOptions sampling;          // max_new_tokens is the completion limit; seed is used as is
  std::vector<int32_t> stop_ids;            // end the sequence without emitting the token (eos, <|eot_id|>)
  std::vector<std::string> stop_strings;    // end the text before the string
  int64_t top_logprobs = -1;                // < 0: no logprobs; else the chosen token's and this many alternatives
};

// The log-probability (log-softmax of the model's raw logits) of one generated token.
struct TokenLogprob {
  std::string token;                                  // its text (a lone byte of a UTF-8 character decodes to U+FFFD)
  int32_t id = 0;
  double logprob = 0;
  std::vector<std::pair<std::string, double>> top;    // the most likely tokens at that step
};

class Generation {
 public:
  explicit Generation(GenerationRequest request) : request_(std::move(request)) {}
  const GenerationRequest& request() const { return request_; }

  struct Update {
    std::string text;                    // new text since the last next() (all of it for wait_finished)
    std::vector<TokenLogprob> logprobs;  // new tokens' log-probabilities
    bool finished = false;
    std::string finish_reason;           // "stop" | "length" | "cancelled" | "error"
    Status error;                        // with finish_reason "error"
    int64_t completion_tokens = 0;       // generated so far
  };
  // Waits up to `timeout` for output past what this reader has seen, or the end.
  Update next(std::chrono::milliseconds timeout);
  // Waits for the end; everything not yet read.
  Update wait_finished();

  void cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }

  // Scheduler side.
  void push(const std::string& text, TokenLogprob* logprob);
  void count_token();
  void finish(std::string reason, Status error = Status::ok());
  bool finished() const;

 private:
  Update take_locked();

  const GenerationRequest request_;
  std::atomic<bool> cancelled_{false};
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::string text_;
  std::vector<TokenLogprob> logprobs_;
  size_t read_text_ = 0, read_logprobs_ = 0;
  bool finished_ = false;
  std::string reason_;
  Status error_;
  int64_t completion_tokens_ = 0;
};

}  // namespace kanana::serve
