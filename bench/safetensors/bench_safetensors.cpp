// Writes a random bf16 checkpoint with the real kanana-nano-2.1b tensor names and shapes
// (~4.17 GB, streamed one tensor at a time), then loads it and reports peak RSS against the
// file size and read speed against `cat file > /dev/null`. Each phase runs in a forked child so
// its peak RSS (wait4 ru_maxrss) is its own.
//
//   bench_safetensors [--dir /tmp/kanana-st-bench] [--keep] [--layers 32]
#include <torch/torch.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include "safetensors/safetensors.h"

using namespace kanana;
namespace fs = std::filesystem;

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// kanana-nano-2.1b-base: hidden 1792, intermediate 8064, 24 q / 8 kv heads of 128, vocab
// 128256, tied embeddings (no lm_head.weight).
std::vector<st::TensorInfo> kanana_nano_layout(int layers) {
  const int64_t h = 1792, inter = 8064, q = 24 * 128, kv = 8 * 128, vocab = 128256;
  std::vector<st::TensorInfo> out;
  auto add = [&](std::string name, std::vector<int64_t> shape) {
    out.push_back(st::TensorInfo{std::move(name), st::DType::BF16, std::move(shape)});
  };
  add("model.embed_tokens.weight", {vocab, h});
  for (int i = 0; i < layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    add(p + "self_attn.q_proj.weight", {q, h});
    add(p + "self_attn.k_proj.weight", {kv, h});
    add(p + "self_attn.v_proj.weight", {kv, h});
    add(p + "self_attn.o_proj.weight", {h, q});
    add(p + "mlp.gate_proj.weight", {inter, h});
    add(p + "mlp.up_proj.weight", {inter, h});
    add(p + "mlp.down_proj.weight", {h, inter});
    add(p + "input_layernorm.weight", {h});
    add(p + "post_attention_layernorm.weight", {h});
  }
  add("model.norm.weight", {h});
  return out;
}

std::string proc_status(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) return line;
  return key;
}

// Runs `fn` in a child process; returns its exit status, prints its wall time and peak RSS.
int in_child(const char* label, const std::function<int()>& fn, double* seconds, long* maxrss_kb) {
  std::fflush(stdout);
  const double t0 = now_s();
  pid_t pid = fork();
  if (pid == 0) {
    const int rc = fn();
    std::fflush(stdout);  // _exit skips stdio buffers
    _exit(rc);
  }
  int status = 0;
  struct rusage ru {};
  wait4(pid, &status, 0, &ru);
  *seconds = now_s() - t0;
  *maxrss_kb = ru.ru_maxrss;
  // CPU time too: on a shared, overloaded machine wall time says more about the neighbours.
  const double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  std::printf("%-42s %7.2f s wall %7.2f s cpu   peak RSS %7.0f MB\n", label, *seconds, cpu, ru.ru_maxrss / 1024.0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

void drop_cache(const fs::path& file) {
  int fd = ::open(file.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

double time_cat(const fs::path& file) {
  const std::string cmd = "cat '" + file.string() + "' > /dev/null";
  const double t0 = now_s();
  if (std::system(cmd.c_str()) != 0) return -1;
  return now_s() - t0;
}

}  // namespace

int main(int argc, char** argv) {
  fs::path dir = "/tmp/kanana-st-bench";
  bool keep = false;
  int layers = 32;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--dir" && i + 1 < argc) dir = argv[++i];
    else if (a == "--keep") keep = true;
    else if (a == "--layers" && i + 1 < argc) layers = std::stoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: bench_safetensors [--dir D] [--keep] [--layers N]\n");
      return 2;
    }
  }
  torch::set_num_threads(std::max(1u, std::thread::hardware_concurrency()));
  const auto layout = kanana_nano_layout(layers);
  uint64_t params = 0;
  for (const auto& t : layout) params += static_cast<uint64_t>(t.numel());
  std::printf("layout: %zu tensors, %llu parameters, dir %s, %d threads\n", layout.size(),
              static_cast<unsigned long long>(params), dir.c_str(), torch::get_num_threads());
  std::printf("parent before phases: %s\n", proc_status("VmRSS").c_str());
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {  // the numbers below depend on it
    char buf[128] = {};
    if (std::fgets(buf, sizeof buf, f)) std::printf("load average: %s", buf);
    std::fclose(f);
  }

  double secs = 0;
  long rss = 0;
  int rc = in_child("write (streamed, bf16)", [&] {
    torch::manual_seed(0);
    auto status = st::save_checkpoint(dir, layout, [](const st::TensorInfo& t) -> Result<at::Tensor> {
      return torch::empty(t.shape, torch::kBFloat16).uniform_(-0.05, 0.05);
    });
    if (!status.is_ok()) std::fprintf(stderr, "%s\n", status.to_string().c_str());
    return status.is_ok() ? 0 : 1;
  }, &secs, &rss);
  if (rc != 0) return 1;
  const fs::path file = dir / "model.safetensors";
  const double gb = static_cast<double>(fs::file_size(file)) / 1e9;
  const double file_mb = static_cast<double>(fs::file_size(file)) / (1 << 20);
  std::printf("  file %.3f GB; writer peak RSS = %.2f x file size\n", gb, rss / 1024.0 / file_mb);

  auto load = [&](std::optional<c10::ScalarType> as, bool full_read) {
    return [&, as, full_read] {
      auto reader = st::CheckpointReader::open(dir);
      if (!reader.is_ok()) {
        std::fprintf(stderr, "%s\n", reader.status().to_string().c_str());
        return 1;
      }
      double checksum = 0;
      std::vector<at::Tensor> kept;  // bf16 phase keeps every tensor alive, like a loaded model
      for (const auto& name : (*reader)->names()) {
        auto t = (*reader)->tensor(name, as);
        if (!t.is_ok()) return 1;
        const size_t n = static_cast<size_t>(t->numel()) * t->element_size();
        if (full_read) {  // read every byte as 64-bit words: memory bandwidth, no arithmetic
          const auto* p = static_cast<const volatile uint64_t*>(t->data_ptr());
          uint64_t acc = 0;
          for (size_t i = 0; i < n / 8; ++i) acc ^= p[i];
          checksum += static_cast<double>(acc % 251);  // fp32 widened from bf16 has zero low bytes
        } else {  // touch one byte per page: measures I/O + page faults
          const auto* p = static_cast<const volatile uint8_t*>(t->data_ptr());
          uint8_t acc = 0;
          for (size_t i = 0; i < n; i += 4096) acc ^= p[i];
          checksum += acc;
        }
        if (as.has_value()) (*reader)->release_pages(name);  // converted copy made: drop the bf16 pages
        if (!as.has_value()) kept.push_back(*t);
      }
      std::printf("    checksum %.3f, %s, %s\n", checksum, proc_status("RssAnon").c_str(), proc_status("RssFile").c_str());
      return 0;
    };
  };

  struct Row { const char* label; std::optional<c10::ScalarType> as; bool full; bool cold; };
  const Row rows[] = {
      {"load bf16 zero-copy, touch pages (cold)", std::nullopt, false, true},
      {"load bf16 zero-copy, touch pages (warm)", std::nullopt, false, false},
      {"load bf16 zero-copy, read all (warm)", std::nullopt, true, false},
      {"load as fp32 one at a time (warm)", torch::kFloat, true, false},
  };
  for (const auto& row : rows) {
    if (row.cold) drop_cache(file);
    if (in_child(row.label, load(row.as, row.full), &secs, &rss) != 0) return 1;
    std::printf("  %.2f GB/s; peak RSS = %.2f x file size\n", gb / secs, rss / 1024.0 / file_mb);
  }
  drop_cache(file);
  const double cold_cat = time_cat(file);
  const double warm_cat = time_cat(file);
  std::printf("cat file > /dev/null: cold %.2f s (%.2f GB/s), warm %.2f s (%.2f GB/s)\n", cold_cat, gb / cold_cat,
              warm_cat, gb / warm_cat);
  if (!keep) {
    fs::remove_all(dir);
    std::printf("removed %s\n", dir.c_str());
  }
  return 0;
}
