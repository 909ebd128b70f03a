// bench_serve MODEL_DIR [--weights F] [--threads N] [--levels 1,2,4,8] [--max-tokens N]
//                       [--requests N] [--context N]
// Starts the server in process (one model, --parallel = the highest level) on a loopback port
// and, for each level, runs that many streaming /v1/completions clients, each making
// --requests greedy requests of --max-tokens tokens. Prints per level: generated tokens, wall
// time, aggregate tokens/s, its ratio to one client, and time to first token (median / max)
// next to the measured time of one decode step at that level, so "the first token arrives
// within one decode step of its prefill" can be read off.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "serve/server.h"

using namespace kanana;
using Clock = std::chrono::steady_clock;

namespace {

struct Sample {
  double ttft_s = 0;
  int64_t tokens = 0;
  bool ok = false;
};

Sample stream_one(int port, const std::string& prompt, int max_tokens) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(600, 0);
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/completions";
  req.body = Json{{"model", "bench"}, {"prompt", prompt}, {"max_tokens", max_tokens}, {"temperature", 0},
                  {"stream", true}, {"stream_options", {{"include_usage", true}}}}.dump();
  req.set_header("Content-Type", "application/json");
  Sample s;
  const auto t0 = Clock::now();
  std::string buffer;
  bool first = true;
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    buffer.append(data, n);
    size_t at;
    while ((at = buffer.find("\n\n")) != std::string::npos) {
      const std::string event = buffer.substr(0, at);
      buffer.erase(0, at + 2);
      if (event.rfind("data: ", 0) != 0) continue;
      const std::string payload = event.substr(6);
      if (payload == "[DONE]") {
        s.ok = true;
        continue;
      }
      const Json j = Json::parse(payload, nullptr, false);
      if (j.is_discarded()) continue;
      if (first && j.contains("choices") && !j["choices"].empty()) {
        s.ttft_s = std::chrono::duration<double>(Clock::now() - t0).count();
        first = false;
      }
      if (j.contains("usage") && j["usage"].is_object()) s.tokens = j["usage"]["completion_tokens"].get<int64_t>();
    }
    return true;
  };
  auto r = c.send(req);
  if (!r || r->status != 200) s.ok = false;
  return s;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_serve MODEL_DIR [--weights F] [--threads N] [--levels 1,2,4,8] [--max-tokens N] "
                         "[--requests N] [--context N]\n");
    return 2;
  }
  serve::ServeOptions o;
  o.models = {std::string("bench=") + argv[1]};
  o.port = 0;
  o.weights = "bf16";
  o.context = 512;
  o.queue = 64;
  std::vector<int> levels = {1, 2, 4, 8};
  int max_tokens = 64, requests = 2;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--weights") o.weights = v;
    else if (k == "--threads") o.threads = std::atoi(v.c_str());
    else if (k == "--max-tokens") max_tokens = std::atoi(v.c_str());
    else if (k == "--requests") requests = std::atoi(v.c_str());
    else if (k == "--context") o.context = std::atoi(v.c_str());
    else if (k == "--levels") {
      levels.clear();
      size_t at = 0;
      while (at < v.size()) {
        levels.push_back(std::atoi(v.c_str() + at));
        at = v.find(',', at);
        if (at == std::string::npos) break;
        ++at;
      }
    } else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  o.parallel = *std::max_element(levels.begin(), levels.end());
  auto server = serve::Server::create(o);
  if (!server.is_ok()) {
    std::fprintf(stderr, "%s\n", server.status().to_string().c_str());
    return 1;
  }
  if (Status st = (*server)->start(); !st.is_ok()) {
    std::fprintf(stderr, "%s\n", st.to_string().c_str());
    return 1;
  }
  const int port = (*server)->port();
  const auto& engine = (*server)->models()[0]->engine();
  std::printf("model %s: %s weights, %d threads, %lld slots, %d tokens per request, %d requests per client\n", argv[1],
              o.weights.c_str(), engine.threads(), static_cast<long long>(engine.slots()), max_tokens, requests);
  const std::vector<std::string> prompts = {
      "The history of the Korean peninsula begins", "Once upon a time, in a small village by the sea,",
      "def quicksort(items):", "서울은 대한민국의 수도이며", "The three laws of thermodynamics are",
      "In 1969, the first humans", "A recipe for kimchi: first,", "Dear hiring manager, I am writing"};
  stream_one(port, prompts[0], 8);  // warm-up
  std::printf("%8s %9s %8s %8s %10s %7s %11s %11s %12s\n", "clients", "requests", "tokens", "wall_s", "agg_tok/s",
              "vs_1", "ttft_med_ms", "ttft_max_ms", "step_ms");
  double one = 0;
  for (int level : levels) {
    std::vector<Sample> samples;
    std::mutex mutex;
    std::vector<std::thread> threads;
    const auto t0 = Clock::now();
    for (int c = 0; c < level; ++c)
      threads.emplace_back([&, c] {
        for (int r = 0; r < requests; ++r) {
          Sample s = stream_one(port, prompts[size_t(c * requests + r) % prompts.size()], max_tokens);
          std::lock_guard lock(mutex);
          samples.push_back(s);
        }
      });
    for (auto& t : threads) t.join();
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    int64_t tokens = 0;
    int failed = 0;
    std::vector<double> ttft;
    for (const auto& s : samples) {
      tokens += s.tokens;
      failed += !s.ok;
      ttft.push_back(s.ttft_s * 1000);
    }
    const double rate = double(tokens) / wall;
    if (level == levels.front()) one = rate;
    // One decode step at this level: each step gives every running client one token.
    const double step_ms = 1000.0 * double(level) / rate;
    std::printf("%8d %9zu %8lld %8.2f %10.1f %6.2fx %11.0f %11.0f %12.1f%s\n", level, samples.size(),
                static_cast<long long>(tokens), wall, rate, one > 0 ? rate / one : 0.0, median(ttft),
                *std::max_element(ttft.begin(), ttft.end()), step_ms, failed ? "  (some requests failed)" : "");
    std::fflush(stdout);
  }
  (*server)->stop();
  return 0;
}
