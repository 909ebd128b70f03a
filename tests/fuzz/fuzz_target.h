// One libFuzzer harness per input the program takes from a user. Each harness file defines its
// entry with KANANA_FUZZ_TARGET(name) { ... data, size ... }:
//  - in the fuzz build (clang, KANANA_FUZZ) it is LLVMFuzzerTestOneInput of its own binary;
//  - in the normal build (GCC, KANANA_FUZZ_REPLAY) every harness is compiled into one
//    `fuzz_replay` executable that runs the seeds and tests/fuzz/regressions/<name>/ through it,
//    so every crash ever found stays a CTest regression without clang.
// A harness must not crash, leak, hang or trip a sanitizer on any input; errors are values.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

namespace kanana::fuzz {

using Target = int (*)(const uint8_t* data, size_t size);
bool register_target(const char* name, Target target);

// The input written to a file with the given extension in a per-process temporary folder
// (for readers that take a path: safetensors, GGUF, compressed corpora).
inline std::filesystem::path input_file(const uint8_t* data, size_t size, const std::string& extension) {
  static const std::filesystem::path dir = [] {
    std::error_code ec;
    auto base = std::filesystem::exists("/dev/shm", ec) ? std::filesystem::path("/dev/shm") : std::filesystem::temp_directory_path();
    auto d = base / ("kanana-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d, ec);
    return d;
  }();
  const auto path = dir / ("input" + extension);
  if (FILE* f = std::fopen(path.c_str(), "wb")) {
    if (size > 0) std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  return path;
}

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace kanana::fuzz

#ifdef KANANA_FUZZ_REPLAY
#define KANANA_FUZZ_TARGET(name)                                                                        \
  static int kanana_fuzz_##name(const uint8_t* data, size_t size);                                     \
  [[maybe_unused]] static const bool kanana_fuzz_registered_##name =                                   \
      ::kanana::fuzz::register_target(#name, kanana_fuzz_##name);                                      \
  static int kanana_fuzz_##name(const uint8_t* data, size_t size)
#else
#define KANANA_FUZZ_TARGET(name) extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
#endif
