#include "base/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cinttypes>

namespace kanana {

TerminalProgress::TerminalProgress(std::string label, std::FILE* stream,
                                   std::chrono::milliseconds line_interval)
    : label_(std::move(label)),
      stream_(stream),
      tty_(isatty(fileno(stream)) != 0),
      line_interval_(line_interval),
      start_(std::chrono::steady_clock::now()) {}

void TerminalProgress::update(int64_t done, int64_t total, const std::string& note) {
  last_done_ = done;
  last_total_ = total;
  const auto now = std::chrono::steady_clock::now();
  const auto interval = tty_ ? std::chrono::milliseconds(100) : line_interval_;
  if (last_render_.time_since_epoch().count() != 0 && now - last_render_ < interval) return;
  last_render_ = now;
  render(done, total, note, false);
}

void TerminalProgress::finish(const std::string& note) {
  if (finished_) return;
  finished_ = true;
  render(last_total_ > 0 ? last_total_ : last_done_, last_total_, note, true);
}

void TerminalProgress::render(int64_t done, int64_t total, const std::string& note, bool final_line) {
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = secs > 0 ? static_cast<double>(done) / secs : 0.0;
  if (tty_) {
    std::string bar;
    if (total > 0) {
      const int width = 30;
      const int filled = static_cast<int>(std::clamp<double>(double(done) / double(total), 0, 1) * width);
      bar = "[" + std::string(filled, '#') + std::string(width - filled, '-') + "] ";
    }
    if (total > 0)
      std::fprintf(stream_, "\r\033[K%s %s%" PRId64 "/%" PRId64 " (%.1f/s, %.0fs) %s", label_.c_str(),
                   bar.c_str(), done, total, rate, secs, note.c_str());
    else
      std::fprintf(stream_, "\r\033[K%s %" PRId64 " (%.1f/s, %.0fs) %s", label_.c_str(), done, rate,
                   secs, note.c_str());
    if (final_line) std::fputc('\n', stream_);
  } else {
    if (total > 0)
      std::fprintf(stream_, "%s: %" PRId64 "/%" PRId64 " (%.1f%%, %.1f/s, %.0fs)%s%s\n", label_.c_str(),
                   done, total, 100.0 * double(done) / double(total), rate, secs,
                   note.empty() ? "" : " ", note.c_str());
    else
      std::fprintf(stream_, "%s: %" PRId64 " (%.1f/s, %.0fs)%s%s\n", label_.c_str(), done, rate, secs,
                   note.empty() ? "" : " ", note.c_str());
  }
  std::fflush(stream_);
}

std::unique_ptr<Progress> make_terminal_progress(const std::string& label) {
  return std::make_unique<TerminalProgress>(label);
}

}  // namespace kanana
