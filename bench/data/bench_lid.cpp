// Language ID: FastTextModel (what `kanana data` uses) against libfasttext's predictLine (the
// peer) on the same documents in one process, one thread. Both get each document as the
// language identifier passes it (data::lid_input_line: first 4 KB, one line). Prints documents
// per second of each, the ratio, and how many top-1 labels agree.
//
//   bench_lid LID_MODEL(lid.176.ftz) CORPUS.jsonl [MAX_DOCS=20000] [REPEAT=3]
#include <fasttext/fasttext.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/json.h"
#include "data/fasttext_model.h"
#include "data/lang_id.h"

using namespace kanana;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_lid LID_MODEL CORPUS.jsonl [MAX_DOCS] [REPEAT]\n");
    return 2;
  }
  const size_t max_docs = argc > 3 ? std::stoul(argv[3]) : 20000;
  const int repeat = argc > 4 ? std::stoi(argv[4]) : 3;
  std::vector<std::string> lines;
  size_t bytes = 0;
  std::ifstream in(argv[2]);
  for (std::string raw; lines.size() < max_docs && std::getline(in, raw);) {
    Json j = Json::parse(raw, nullptr, false);
    if (!j.is_object() || !j.contains("text") || !j["text"].is_string()) continue;
    lines.push_back(data::lid_input_line(j["text"].get<std::string>()));
    bytes += lines.back().size();
  }
  if (lines.empty()) return std::fprintf(stderr, "no documents in %s\n", argv[2]), 1;
  auto ours = data::FastTextModel::load(argv[1]);
  if (!ours.is_ok()) return std::fprintf(stderr, "%s\n", ours.status().to_string().c_str()), 1;
  fasttext::FastText ft;
  ft.loadModel(argv[1]);

  using clock = std::chrono::steady_clock;
  std::vector<std::string> ref_top(lines.size()), our_top(lines.size());
  double best_ref = 1e30, best_ours = 1e30;
  for (int r = 0; r < repeat; ++r) {  // interleaved, best of `repeat` for each
    auto t0 = clock::now();
    for (size_t i = 0; i < lines.size(); ++i) {
      std::istringstream s(lines[i]);
      std::vector<std::pair<fasttext::real, std::string>> p;
      ft.predictLine(s, p, 1, 0.0);
      if (!p.empty()) ref_top[i] = p[0].second;
    }
    auto t1 = clock::now();
    for (size_t i = 0; i < lines.size(); ++i) {
      auto p = (*ours)->predict(lines[i], 1);
      if (!p.empty()) our_top[i] = p[0].label;
    }
    auto t2 = clock::now();
    best_ref = std::min(best_ref, std::chrono::duration<double>(t1 - t0).count());
    best_ours = std::min(best_ours, std::chrono::duration<double>(t2 - t1).count());
  }
  size_t agree = 0;
  for (size_t i = 0; i < lines.size(); ++i) agree += ref_top[i] == our_top[i];
  std::printf("documents: %zu (%.1f MB as passed to language ID), best of %d\n", lines.size(), bytes / 1e6, repeat);
  std::printf("libfasttext predictLine: %.0f docs/s (%.2f MB/s)\n", lines.size() / best_ref, bytes / 1e6 / best_ref);
  std::printf("FastTextModel::predict:  %.0f docs/s (%.2f MB/s)\n", lines.size() / best_ours, bytes / 1e6 / best_ours);
  std::printf("speed ratio (ours / libfasttext): %.2fx; top-1 labels agree on %zu of %zu\n", best_ref / best_ours, agree,
              lines.size());
  return agree == lines.size() ? 0 : 1;
}
