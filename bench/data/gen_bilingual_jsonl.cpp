// Writes a bilingual (Korean/English) JSONL corpus of a requested size for benchmarks, by
// recombining paragraphs of a real source corpus (default: the demo corpus from the data
// cache) into new documents. Deterministic for a given seed. Some documents are exact or
// near repeats and some carry PII-like strings, so dedup and PII runs have work to do.
//
//   gen_bilingual_jsonl --out FILE --size-mb N [--source FILE] [--seed S]
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/lang_id.h"
#include "data/reader.h"

using namespace kanana::data;

int main(int argc, char** argv) {
  std::string out_path, source;
  double size_mb = 100;
  uint64_t seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--out") out_path = v;
    else if (k == "--size-mb") size_mb = std::atof(v.c_str());
    else if (k == "--source") source = v;
    else if (k == "--seed") seed = std::strtoull(v.c_str(), nullptr, 10);
    else { std::fprintf(stderr, "unknown option %s\n", k.c_str()); return 2; }
  }
  if (out_path.empty() || size_mb <= 0) {
    std::fprintf(stderr, "usage: gen_bilingual_jsonl --out FILE --size-mb N [--source FILE] [--seed S]\n");
    return 2;
  }
  if (source.empty()) source = (default_lid_model_path().parent_path().parent_path() / "corpora/demo_bilingual.jsonl").string();
  auto reader = CorpusReader::open({source});
  if (!reader.is_ok()) {
    std::fprintf(stderr, "%s (run scripts/fetch-demo-data.sh first, or pass --source)\n", reader.status().to_string().c_str());
    return 1;
  }
  // Paragraph pools per language.
  std::vector<std::string> ko, en;
  Document d;
  std::vector<BadLine> bad;
  while (true) {
    auto more = (*reader)->next_document(&d, &bad);
    if (!more.is_ok() || !*more) break;
    auto& pool = d.lang == "ko" ? ko : en;
    size_t start = 0;
    while (start < d.text.size()) {
      size_t end = d.text.find("\n\n", start);
      if (end == std::string::npos) end = d.text.size();
      if (end - start > 40) pool.push_back(d.text.substr(start, end - start));
      start = end + 2;
    }
  }
  if (ko.empty() || en.empty()) { std::fprintf(stderr, "%s: needs both Korean and English documents\n", source.c_str()); return 1; }
  std::FILE* out = std::fopen(out_path.c_str(), "wb");
  if (!out) { std::perror(out_path.c_str()); return 1; }
  std::mt19937_64 rng(seed);
  const uint64_t target = static_cast<uint64_t>(size_mb * 1024 * 1024);
  uint64_t written = 0, n = 0;
  std::string last;
  while (written < target) {
    const bool korean = rng() % 2 == 0;
    const auto& pool = korean ? ko : en;
    std::string text;
    if (!last.empty() && rng() % 20 == 0) {
      text = last;  // an exact repeat (5%)
      if (rng() % 2) text += korean ? " 감사합니다." : " Thank you.";  // ... or a near one
    } else {
      const int paras = 2 + static_cast<int>(rng() % 6);
      for (int p = 0; p < paras; ++p) {
        if (!text.empty()) text += "\n\n";
        text += pool[rng() % pool.size()];
      }
      if (rng() % 50 == 0) text += korean ? "\n\n문의: 010-" + std::to_string(1000 + rng() % 9000) + "-5678" : "\n\nContact: user" + std::to_string(n) + "@example.com";
    }
    last = text;
    nlohmann::json j = {{"id", "gen-" + std::to_string(n++)}, {"text", text}, {"lang", korean ? "ko" : "en"}};
    const std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    if (std::fwrite(line.data(), 1, line.size(), out) != line.size()) { std::perror(out_path.c_str()); return 1; }
    written += line.size();
  }
  if (std::fclose(out) != 0) { std::perror(out_path.c_str()); return 1; }
  std::printf("%s: %llu documents, %.1f MB\n", out_path.c_str(), static_cast<unsigned long long>(n), written / 1048576.0);
  return 0;
}
