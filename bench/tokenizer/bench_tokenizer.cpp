// Tokenizer throughput: encode every line of a text file with a tokenizer loaded through
// load_tokenizer (SentencePiece via the bridge, or tokenizer.json BPE) and print tokens/s.
// Model loading is timed separately; the encode time is what run_bench.sh compares.
//
//   bench_tokenizer TOKENIZER TEXT [--repeat N] [--hex]
//   (--hex: TEXT holds one hex-encoded case per line, as tests/tokenizer/reference_encode.mjs reads)
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace {

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_tokenizer TOKENIZER TEXT [--repeat N] [--hex]\n");
    return 2;
  }
  int repeat = 1;
  bool hex = false;
  for (int i = 3; i < argc; ++i) {
    if (std::strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) repeat = std::max(1, std::atoi(argv[++i]));
    if (std::strcmp(argv[i], "--hex") == 0) hex = true;
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto loaded = kanana::tok::load_tokenizer(argv[1]);
  if (!loaded.is_ok()) {
    std::fprintf(stderr, "%s\n", loaded.status().to_string().c_str());
    return 1;
  }
  const auto& t = **loaded;
  const auto t1 = std::chrono::steady_clock::now();
  std::ifstream in(argv[2], std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "%s: cannot open\n", argv[2]);
    return 1;
  }
  std::vector<std::string> lines;
  size_t bytes = 0;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(hex ? from_hex(line) : line);
    bytes += lines.back().size();
  }
  size_t tokens = 0;
  const auto t2 = std::chrono::steady_clock::now();
  for (int r = 0; r < repeat; ++r)
    for (const auto& line : lines) tokens += t.encode(line).size();
  const auto t3 = std::chrono::steady_clock::now();
  const double load_s = std::chrono::duration<double>(t1 - t0).count();
  const double enc_s = std::chrono::duration<double>(t3 - t2).count();
  std::printf("c++ %s: load %.3f s; %zu lines x%d, %zu tokens, %.2f MB in %.3f s: %.0f tokens/s, %.2f MB/s\n",
              t.kind().c_str(), load_s, lines.size(), repeat, tokens, bytes * repeat / 1e6, enc_s, tokens / enc_s,
              bytes * repeat / enc_s / 1e6);
  return 0;
}
