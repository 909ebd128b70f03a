// bench_train: tokens/s of the C++ trainer (kanana::train::run_training) on a model preset
// with synthetic token data, the same numbers bench_train_py.py measures for a plain
// PyTorch loop, plus MFU against a measured fp32 GEMM and (with --ranks 2) Gloo scaling.
//
// usage: bench_train PRESET SEQ_LEN BATCH STEPS THREADS [--ranks 2] [--overlap 0|1] [--zero 0|1]
//        [--bucket-mb MB]
// --overlap 0 reduces gradients after backward (the path before c10d's Reducer); --zero 1
// shards the AdamW moments (ZeRO-1). The JSON line also has the median all-reduce time left
// exposed after backward ("exposed_reduce_s", 0 when it overlaps) and this rank-0's optimizer
// state bytes.
// Prints one JSON line: {"impl": "cpp", "tokens_per_s": ..., "mfu": ..., ...}. Worker mode
// (internal): BENCH_TRAIN_WORKER=1 with RANK/WORLD_SIZE/MASTER_* set.
#include <torch/torch.h>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "model/llama.h"
#include "model/presets.h"
#include "shards/shard.h"
#include "train/recipe.h"
#include "train/trainer.h"

extern char** environ;
using namespace kanana;
namespace fs = std::filesystem;

namespace {

Status make_pack(const fs::path& dir, int64_t vocab, int64_t tokens) {
  if (fs::exists(dir / "manifest.json")) return Status::ok();
  shards::ShardWriterOptions o;
  o.dtype_bytes = shards::dtype_bytes_for_vocab(vocab);
  o.overwrite = true;
  KANANA_ASSIGN_OR_RETURN(auto w, shards::ShardSetWriter::create(dir, o));
  std::mt19937 rng(1);
  std::vector<int32_t> doc;
  for (int64_t done = 0; done < tokens;) {
    doc.assign(200 + rng() % 800, 0);
    for (auto& t : doc) t = 1 + int32_t(rng() % uint32_t(vocab - 1));
    KANANA_RETURN_IF_ERROR(w->add_document(doc));
    done += int64_t(doc.size());
  }
  shards::Manifest m;
  m.source_name = "bench";
  m.tokenizer_fingerprint = "bench";
  m.vocab_size = vocab;
  return w->finish(m).status();
}

// Median per-step seconds after the first (warm-up) step.
double median_step_seconds(const train::TrainResult& r) {
  std::vector<double> s;
  for (size_t i = 1; i < r.steps.size(); ++i) s.push_back(r.steps[i].seconds);
  if (s.empty()) return 0;
  std::sort(s.begin(), s.end());
  return s[s.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: bench_train PRESET SEQ_LEN BATCH STEPS THREADS [--ranks 2]\n");
    return 2;
  }
  const std::string preset = argv[1];
  const int64_t seq = std::atoll(argv[2]), batch = std::atoll(argv[3]), steps = std::atoll(argv[4]);
  const int threads = std::atoi(argv[5]);
  int ranks = 1, overlap = 1, zero = 0;
  double bucket_mb = 25;
  for (int i = 6; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--ranks") ranks = std::atoi(argv[i + 1]);
    else if (flag == "--overlap") overlap = std::atoi(argv[i + 1]);
    else if (flag == "--zero") zero = std::atoi(argv[i + 1]);
    else if (flag == "--bucket-mb") bucket_mb = std::atof(argv[i + 1]);
    else return std::fprintf(stderr, "unknown flag %s\n", flag.c_str()), 2;
  }
  torch::set_num_threads(threads);
  auto config = model::preset_config(preset);
  if (!config) return std::fprintf(stderr, "%s\n", config.status().message().c_str()), 1;
  const fs::path root = fs::temp_directory_path() / ("kanana-bench-train-" + preset);
  if (Status s = make_pack(root / "pack", config->vocab_size, std::max<int64_t>(200000, 4 * seq * batch * (steps + 2))); !s.is_ok())
    return std::fprintf(stderr, "%s\n", s.message().c_str()), 1;

  const bool worker = std::getenv("BENCH_TRAIN_WORKER") != nullptr;
  auto dist = train::dist_env_from_environment();
  if (!dist) return std::fprintf(stderr, "%s\n", dist.status().message().c_str()), 1;
  const int world = worker ? dist->world_size : ranks;

  if (!worker && ranks > 1) {
    // Launch `ranks` copies of this program as workers and wait; rank 0 prints the result.
    const std::string port = std::to_string(29600 + getpid() % 1000);
    std::vector<pid_t> pids;
    for (int r = 0; r < ranks; ++r) {
      std::vector<std::string> env_s;
      for (char** e = environ; *e; ++e) env_s.push_back(*e);
      for (const auto& kv : {"BENCH_TRAIN_WORKER=1", "MASTER_ADDR=127.0.0.1"}) env_s.push_back(kv);
      env_s.push_back("MASTER_PORT=" + port);
      env_s.push_back("RANK=" + std::to_string(r));
      env_s.push_back("LOCAL_RANK=" + std::to_string(r));
      env_s.push_back("WORLD_SIZE=" + std::to_string(ranks));
      std::vector<char*> envp;
      for (auto& s : env_s) envp.push_back(s.data());
      envp.push_back(nullptr);
      pid_t pid;
      if (posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv, envp.data()) != 0) return 1;
      pids.push_back(pid);
    }
    int rc = 0;
    for (pid_t p : pids) {
      int status = 0;
      waitpid(p, &status, 0);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) rc = 1;
    }
    return rc;
  }

  // Global batch `batch` rows split over the ranks.
  Json recipe_json = {
      {"type", "pretrain"}, {"model", {{"preset", preset}}}, {"seq_len", seq},
      {"micro_batch_size", std::max<int64_t>(1, batch / world)}, {"grad_accum", 1}, {"seed", 1},
      {"stages", Json::array({Json{{"name", "bench"}, {"token_budget", (steps + 1) * seq * batch},
                                   {"sources", Json::array({Json{{"name", "bench"}, {"path", (root / "pack").string()}, {"weight", 1.0}}})},
                                   {"schedule", {{"kind", "constant"}, {"peak_lr", 1e-4}}}}})},
      {"validation", {{"paths", Json::array()}, {"batches", 1}}},
      {"checkpoint", {{"interval", 0}, {"keep_last", 1}}},
      {"runtime", {{"log_interval", 1000000}}},
      {"distributed", {{"overlap_reduce", overlap != 0}, {"zero_stage", zero}, {"bucket_mb", bucket_mb}}}};
  auto recipe = train::parse_recipe(recipe_json, "bench recipe", {});
  if (!recipe) return std::fprintf(stderr, "%s\n", recipe.status().message().c_str()), 1;
  recipe->validation.packs.clear();  // throughput only
  const double peak = train::measure_gemm_flops();
  train::TrainOptions o;
  // One run folder for all ranks (the workers share their parent): ZeRO-1 ranks write their
  // optimizer shards into rank 0's checkpoint staging folder.
  o.run_dir = root / ("run-" + std::to_string(world) + "-" + std::to_string(worker ? getppid() : getpid()));
  o.dist = *dist;
  o.max_steps = steps;
  auto r = train::run_training(*recipe, o);
  std::error_code rm_ec;
  if (dist->rank == 0) fs::remove_all(o.run_dir, rm_ec);  // the ranks share it
  if (!r) return std::fprintf(stderr, "%s\n", r.status().message().c_str()), 1;
  if (dist->rank != 0) return 0;
  int64_t matmul = 0;
  {
    auto m = model::init_model(*config, 1);
    for (const auto& p : (*m)->parameters())
      if (p.dim() == 2) matmul += p.numel();
    if (!config->tie_word_embeddings) matmul -= (*m)->model->embed_tokens->weight.numel();
  }
  const double fpt = 6.0 * double(matmul) + 12.0 * double(config->num_hidden_layers * config->q_width() * seq);
  const double step_s = median_step_seconds(*r);
  std::vector<double> exposed;
  for (size_t i = 1; i < r->steps.size(); ++i) exposed.push_back(r->steps[i].exposed_reduce_seconds);
  std::sort(exposed.begin(), exposed.end());
  const double exposed_s = exposed.empty() ? 0 : exposed[exposed.size() / 2];
  const double tps = double(seq * batch) / step_s;
  std::printf("{\"impl\": \"cpp\", \"preset\": \"%s\", \"ranks\": %d, \"threads_per_rank\": %d, \"seq_len\": %lld, "
              "\"global_batch\": %lld, \"steps\": %lld, \"median_step_s\": %.4f, \"tokens_per_s\": %.1f, "
              "\"gemm_gflops\": %.2f, \"mfu\": %.4f, \"final_loss\": %.4f, \"overlap\": %d, \"zero\": %d, "
              "\"exposed_reduce_s\": %.4f, \"optimizer_bytes\": %lld}\n",
              preset.c_str(), world, threads, static_cast<long long>(seq), static_cast<long long>(batch),
              static_cast<long long>(steps), step_s, tps, peak / 1e9, fpt * tps / (peak * world), r->steps.back().loss,
              overlap, zero, exposed_s, static_cast<long long>(r->optimizer_state_bytes));
  return 0;
}
