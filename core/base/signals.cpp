// See signals.h.
#include "base/signals.h"

#include <signal.h>

#include <atomic>
#include <cstdlib>

#include "base/progress.h"

namespace kanana {

namespace {
CancelToken* g_token = nullptr;
int g_exit_code = 130;
std::atomic<int> g_signals{0};

CancelToken* g_preempt = nullptr;

void on_preempt(int) {
  if (g_preempt != nullptr) g_preempt->cancel();
}

void on_signal(int) {
  if (g_signals.fetch_add(1) > 0) std::_Exit(g_exit_code);
  if (g_token != nullptr) g_token->cancel();  // an atomic store: async-signal-safe
}
}  // namespace

void install_cancel_signals(CancelToken* token, int second_signal_exit_code) {
  g_token = token;
  g_exit_code = second_signal_exit_code;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: blocked reads return EINTR and see the token
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

void install_preempt_signal(CancelToken* token) {
  g_preempt = token;
  struct sigaction action {};
  action.sa_handler = on_preempt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;
  sigaction(SIGUSR1, &action, nullptr);
}

}  // namespace kanana
