// 4-choice scoring speed: items/s of lm-eval-style separate scoring (every context + choice is
// its own row, as lm-evaluation-harness's HF backend batches them) against shared-prefix
// batching (the context is prefilled once into the KV cache, the choices continue from it),
// on the same random model, the same requests and the same rows per forward. Prints the
// ratio, the largest log-prob difference between the two, and the BLAS LibTorch runs on.
//
//   bench_eval [--preset small-100m] [--items 12] [--context 256] [--choice-tokens 1,4]
//              [--batch-rows 16] [--threads 0] [--repeat 2]
// (--threads 0 = all hardware threads). Not part of CTest.
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "eval/loglikelihood.h"
#include "model/llama.h"
#include "model/presets.h"

using namespace kanana;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::vector<int64_t> int_list(const std::string& s) {
  std::vector<int64_t> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(std::stoll(item));
  return out;
}

std::string blas_in_use() {
  std::ifstream maps("/proc/self/maps");
  std::string line, found;
  while (std::getline(maps, line)) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    for (const char* lib : {"libopenblas", "libmkl", "libblis", "libblas.so"}) {
      if (path.find(lib) != std::string::npos && found.find(path) == std::string::npos) {
        found += (found.empty() ? "" : ", ") + path;
      }
    }
  }
  return found.empty() ? "none found in /proc/self/maps" : found;
}

}  // namespace

int main(int argc, char** argv) {
  std::string preset = "small-100m", choice_arg = "1,4";
  int64_t items = 12, context = 256, batch_rows = 16, threads = 0, repeat = 2;
  for (int i = 1; i < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--help" || k == "-h") {
      std::printf("usage: bench_eval [--preset small-100m] [--items 12] [--context 256] [--choice-tokens 1,4]\n"
                  "                  [--batch-rows 16] [--threads 0] [--repeat 2]\n"
                  "  items/s of 4-choice scoring, separate rows vs shared-prefix batching\n");
      return 0;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "flag %s needs a value (see --help)\n", k.c_str());
      return 2;
    }
    const std::string v = argv[i + 1];
    try {
      if (k == "--preset") preset = v;
      else if (k == "--items") items = std::stoll(v);
      else if (k == "--context") context = std::stoll(v);
      else if (k == "--choice-tokens") choice_arg = v;
      else if (k == "--batch-rows") batch_rows = std::stoll(v);
      else if (k == "--threads") threads = std::stoll(v);
      else if (k == "--repeat") repeat = std::stoll(v);
      else {
        std::fprintf(stderr, "unknown flag %s\n", k.c_str());
        return 2;
      }
    } catch (const std::exception&) {
      std::fprintf(stderr, "flag %s: '%s' is not a number\n", k.c_str(), v.c_str());
      return 2;
    }
  }
  if (items < 1 || context < 1 || batch_rows < 1 || repeat < 1) {
    std::fprintf(stderr, "--items, --context, --batch-rows and --repeat must be >= 1\n");
    return 2;
  }
  torch::set_num_threads(threads > 0 ? int(threads) : int(std::max(1u, std::thread::hardware_concurrency())));
  auto config = model::preset_config(preset);
  if (!config.is_ok()) {
    std::fprintf(stderr, "%s\n", config.status().message().c_str());
    return 2;
  }
  auto m = model::init_model(*config, 0);
  if (!m.is_ok()) {
    std::fprintf(stderr, "%s\n", m.status().message().c_str());
    return 1;
  }
  (*m)->eval();
  {
    auto a = torch::randn({64, 64});
    (void)torch::mm(a, a);
  }
  std::printf("libtorch %s, BLAS mapped: %s\n", TORCH_VERSION, blas_in_use().c_str());
  std::printf("preset %s (%.1fM params, fp32, random weights), %d threads, %lld items x 4 choices, context %lld tokens, "
              "%lld rows per forward\n",
              preset.c_str(), double(model::parameter_count(*config)) / 1e6, torch::get_num_threads(),
              static_cast<long long>(items), static_cast<long long>(context), static_cast<long long>(batch_rows));
  std::mt19937 rng(1);
  for (int64_t choice_tokens : int_list(choice_arg)) {
    // Requests like MMLU's: a question context and four answers of `choice_tokens` tokens.
    std::vector<eval::LoglikRequest> reqs(static_cast<size_t>(items));
    for (auto& r : reqs) {
      const int64_t len = context - int64_t(rng() % uint64_t(std::max<int64_t>(1, context / 8)));  // some padding
      for (int64_t i = 0; i < len; ++i) r.context.push_back(int32_t(rng() % uint64_t(config->vocab_size)));
      for (int c = 0; c < 4; ++c) {
        std::vector<int32_t> cont;
        for (int64_t i = 0; i < choice_tokens; ++i) cont.push_back(int32_t(rng() % uint64_t(config->vocab_size)));
        r.continuations.push_back(cont);
      }
    }
    double best_sep = 1e30, best_shared = 1e30, worst_diff = 0;
    for (int64_t rep = 0; rep < repeat; ++rep) {
      eval::ScorerOptions sep, shared;
      sep.shared_prefix = false;
      shared.shared_prefix = true;
      sep.batch_rows = shared.batch_rows = batch_rows;
      sep.max_length = shared.max_length = config->max_position_embeddings;
      auto t = Clock::now();
      auto a = eval::score_requests(*m, reqs, sep);
      best_sep = std::min(best_sep, since(t));
      t = Clock::now();
      auto b = eval::score_requests(*m, reqs, shared);
      best_shared = std::min(best_shared, since(t));
      if (!a.is_ok() || !b.is_ok()) {
        std::fprintf(stderr, "scoring failed: %s %s\n", a.status().message().c_str(), b.status().message().c_str());
        return 1;
      }
      for (size_t i = 0; i < a->size(); ++i) {
        for (size_t c = 0; c < (*a)[i].size(); ++c) {
          worst_diff = std::max(worst_diff, std::abs((*a)[i][c].logprob - (*b)[i][c].logprob));
        }
      }
    }
    const double sep_rate = double(items) / best_sep, shared_rate = double(items) / best_shared;
    std::printf("choices of %lld token(s): separate %.2f items/s, shared prefix %.2f items/s, ratio %.2fx "
                "(max |log-prob diff| %.2e)\n",
                static_cast<long long>(choice_tokens), sep_rate, shared_rate, shared_rate / sep_rate, worst_diff);
  }
  return 0;
}
