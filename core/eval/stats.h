// Standard errors of evaluation metrics: the sample standard error of a mean (what
// lm-evaluation-harness reports as "<metric>_stderr" for mean-aggregated metrics), and
// bootstrap standard errors (seeded, so a table shows the same numbers every time) for
// means and for ratios such as bits-per-byte = Σ nll / Σ bytes.
#pragma once

#include <cstdint>
#include <vector>

namespace kanana::eval {

double mean(const std::vector<double>& values);
// sqrt(sample variance (n - 1) / n); 0 for fewer than two values.
double mean_stderr(const std::vector<double>& values);
// Standard deviation of the mean over `iterations` resamples with replacement.
double bootstrap_stderr(const std::vector<double>& values, int iterations = 1000, uint64_t seed = 1234);
// Same for Σ numerator / Σ denominator, resampling (numerator, denominator) pairs.
double bootstrap_ratio_stderr(const std::vector<double>& numerator, const std::vector<double>& denominator,
                              int iterations = 1000, uint64_t seed = 1234);

}  // namespace kanana::eval
