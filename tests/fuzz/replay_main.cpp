// fuzz_replay HARNESS PATH...: feeds every file under each PATH (a file or a folder, recursively)
// to the harness, as libFuzzer would, and exits 0 if none crashed. A crash kills the process:
// CTest reports the test as failed and the last "replay:" line names the input.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "fuzz_target.h"

namespace kanana::fuzz {

std::map<std::string, Target>& targets() {
  static std::map<std::string, Target> t;
  return t;
}

bool register_target(const char* name, Target target) {
  targets()[name] = target;
  return true;
}

}  // namespace kanana::fuzz

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  auto& all = kanana::fuzz::targets();
  if (argc < 2 || !all.count(argv[1])) {
    std::fprintf(stderr, "usage: fuzz_replay HARNESS PATH...\nharnesses:");
    for (const auto& [name, t] : all) std::fprintf(stderr, " %s", name.c_str());
    std::fprintf(stderr, "\n");
    return 2;
  }
  const auto target = all.at(argv[1]);
  std::vector<fs::path> files;
  for (int i = 2; i < argc; ++i) {
    std::error_code ec;
    if (fs::is_directory(argv[i], ec)) {
      for (const auto& e : fs::recursive_directory_iterator(argv[i], ec))
        if (e.is_regular_file() && e.path().filename().string()[0] != '.') files.push_back(e.path());
    } else if (fs::is_regular_file(argv[i], ec)) {
      files.emplace_back(argv[i]);
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::fprintf(stderr, "replay: %s (%zu bytes)\n", f.c_str(), bytes.size());
    target(bytes.data(), bytes.size());
  }
  std::printf("%s: %zu inputs replayed without a crash\n", argv[1], files.size());
  return 0;
}
