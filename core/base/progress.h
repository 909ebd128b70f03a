// Progress and cancellation for long work (training, scanning, packing, evaluation).
//
// Contract: a job calls Progress::update() from its worker thread as often as it likes;
// implementations rate-limit their own output. CancelToken is checked by the worker between
// units of work; cancel() may be called from any thread (a GUI button, SIGINT).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

namespace kanana {

class CancelToken {
 public:
  void cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  bool is_cancelled() const { return cancelled_.load(std::memory_order_relaxed); }
  void reset() { cancelled_.store(false, std::memory_order_relaxed); }

 private:
  std::atomic<bool> cancelled_{false};
};

class Progress {
 public:
  virtual ~Progress() = default;
  // `done` of `total` units (total 0 = unknown); `note` is a short status ("loss 3.21").
  virtual void update(int64_t done, int64_t total, const std::string& note = {}) = 0;
  virtual void finish(const std::string& note = {}) = 0;
};

// Discards everything; for library calls whose caller does not care.
class NullProgress final : public Progress {
 public:
  void update(int64_t, int64_t, const std::string& = {}) override {}
  void finish(const std::string& = {}) override {}
};

// Terminal output: a redrawn bar when `stream` is a TTY, plain timestamped lines (at most
// one every `line_interval`) otherwise, so logs of batch jobs stay readable.
class TerminalProgress final : public Progress {
 public:
  explicit TerminalProgress(std::string label, std::FILE* stream = stderr,
                            std::chrono::milliseconds line_interval = std::chrono::seconds(5));
  void update(int64_t done, int64_t total, const std::string& note = {}) override;
  void finish(const std::string& note = {}) override;
  bool is_tty() const { return tty_; }

 private:
  void render(int64_t done, int64_t total, const std::string& note, bool final_line);

  std::string label_;
  std::FILE* stream_;
  bool tty_;
  std::chrono::milliseconds line_interval_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_render_{};
  int64_t last_done_ = 0;
  int64_t last_total_ = 0;
  bool finished_ = false;
};

std::unique_ptr<Progress> make_terminal_progress(const std::string& label);

}  // namespace kanana
