// Waiting for a launched job in the jobs suites (one executable, tests_jobs; see test_main.h).
#pragma once

#include <chrono>
#include <thread>

#include "jobs/job_status.h"
#include "jobs/launcher.h"

namespace kanana::test {

// Polls until the job reaches a final state or timeout_s passes; returns the last status seen.
inline jobs::JobStatus wait_final(jobs::Launcher& launcher, const jobs::JobHandle& h, double timeout_s,
                                  std::chrono::milliseconds poll = std::chrono::milliseconds(50)) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  jobs::JobStatus st;
  while (std::chrono::steady_clock::now() < end) {
    auto r = launcher.poll(h);
    if (r.is_ok()) {
      st = *r;
      if (jobs::is_final(st.state)) return st;
    }
    std::this_thread::sleep_for(poll);
  }
  return st;
}

}  // namespace kanana::test
