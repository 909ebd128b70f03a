// Means and standard errors (see stats.h).
#include "eval/stats.h"

#include <cmath>

#include "eval/prompt.h"

namespace kanana::eval {

double mean(const std::vector<double>& v) {
  if (v.empty()) return 0;
  double s = 0;
  for (double x : v) s += x;
  return s / double(v.size());
}

double mean_stderr(const std::vector<double>& v) {
  const size_t n = v.size();
  if (n < 2) return 0;
  const double m = mean(v);
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return std::sqrt(ss / double(n - 1) / double(n));
}

namespace {

// Standard deviation (n - 1) of the resampled statistics.
double spread(const std::vector<double>& stats) {
  if (stats.size() < 2) return 0;
  const double m = mean(stats);
  double ss = 0;
  for (double x : stats) ss += (x - m) * (x - m);
  return std::sqrt(ss / double(stats.size() - 1));
}

}  // namespace

double bootstrap_stderr(const std::vector<double>& v, int iterations, uint64_t seed) {
  const size_t n = v.size();
  if (n < 2 || iterations < 2) return 0;
  std::vector<double> stats;
  stats.reserve(size_t(iterations));
  uint64_t state = seed;
  for (int it = 0; it < iterations; ++it) {
    double s = 0;
    for (size_t i = 0; i < n; ++i) {
      state = mix_seed(state, i);
      s += v[size_t(state % n)];
    }
    stats.push_back(s / double(n));
  }
  return spread(stats);
}

double bootstrap_ratio_stderr(const std::vector<double>& num, const std::vector<double>& den, int iterations,
                              uint64_t seed) {
  const size_t n = std::min(num.size(), den.size());
  if (n < 2 || iterations < 2) return 0;
  std::vector<double> stats;
  uint64_t state = seed;
  for (int it = 0; it < iterations; ++it) {
    double a = 0, b = 0;
    for (size_t i = 0; i < n; ++i) {
      state = mix_seed(state, i);
      const size_t k = size_t(state % n);
      a += num[k];
      b += den[k];
    }
    if (b > 0) stats.push_back(a / b);
  }
  return spread(stats);
}

}  // namespace kanana::eval
