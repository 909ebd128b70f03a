// `kanana train --recipe FILE`: runs a training recipe headless (the same engine the GUI and
// the launchers use). Rank-aware through torchrun's variables: start one process per rank
// with RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT set; rank 0 writes events and checkpoints.
// SIGINT writes a checkpoint and exits 130; SIGUSR1 (Slurm's warning before a time limit)
// writes one and exits 75 (the batch script requeues the job); `--resume` continues from the
// newest valid one.
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>

#include "cli/registry.h"
#include "train/distributed.h"
#include "train/recipe.h"
#include "train/trainer.h"

namespace kanana::cli {
namespace {

int run_train(const Args& a, Context& context) {
  auto recipe = train::read_recipe(a.get("recipe"));
  if (!recipe) return report_error(recipe.status(), true);
  auto dist = train::dist_env_from_environment();
  if (!dist) return report_error(dist.status(), true);

  train::TrainOptions options;
  const std::string name = recipe->name.empty() ? std::filesystem::path(a.get("recipe")).stem().string() : recipe->name;
  options.run_dir = a.has("run-dir") && !a.get("run-dir").empty() ? std::filesystem::path(a.get("run-dir"))
                                                                   : std::filesystem::path("runs") / name;
  options.resume = a.flag("resume");
  options.dist = *dist;
  options.cancel = context.cancel;
  options.preempt = context.preempt;
  options.print_progress = dist->rank == 0 && !a.flag("quiet");
  auto threads = a.get_int("threads");
  if (!threads) return report_error(threads.status(), true);
  options.threads = int(*threads);
  auto max_steps = a.get_int("max-steps");
  if (!max_steps) return report_error(max_steps.status(), true);
  options.max_steps = *max_steps;
  try {
    options.device = torch::Device(a.get("device"));
  } catch (const std::exception&) {
    return report_error(invalid_argument("--device '" + a.get("device") + "' is not a device (cpu, cuda, cuda:N)"), true);
  }
  if (options.device.is_cuda() && !torch::cuda::is_available())
    return report_error(invalid_argument("--device " + a.get("device") + ": this LibTorch has no CUDA device"), true);
  if (options.device.is_cuda() && !options.device.has_index()) options.device = torch::Device(torch::kCUDA, dist->local_rank);

  auto result = train::run_training(*recipe, options);
  if (!result) return report_error(result.status());
  if (result->preempted) {
    if (dist->rank == 0)
      std::printf("preempted at step %lld; checkpoint %s\n", static_cast<long long>(result->final_step),
                  result->last_checkpoint.string().c_str());
    return kExitPreempted;
  }
  if (dist->rank == 0) {
    std::printf("%s: %lld steps, %lld tokens, %lld skipped%s; checkpoint %s\n", result->finished ? "finished" : "paused",
                static_cast<long long>(result->final_step), static_cast<long long>(result->tokens),
                static_cast<long long>(result->skipped_steps),
                result->last_val_loss ? (", val_loss " + std::to_string(*result->last_val_loss)).c_str() : "",
                result->last_checkpoint.string().c_str());
  }
  return kExitOk;
}

}  // namespace

KANANA_COMMAND(train) {
  return {.path = "train",
          .summary = "run a training recipe (pre-training stages, checkpoints, resume, data parallel)",
          .description =
              "Trains the recipe's model on its staged data mixture and writes events.jsonl and\n"
              "checkpoints/step-N (Hugging Face layout + optimizer/trainer state) under the run folder.\n"
              "Data parallel: start one process per rank with torchrun's RANK, WORLD_SIZE, LOCAL_RANK,\n"
              "MASTER_ADDR and MASTER_PORT (Gloo on CPU, NCCL on CUDA when available).\n"
              "Ctrl-C writes a checkpoint and exits 130; --resume continues from the newest valid one\n"
              "(a corrupt newest checkpoint falls back to the previous one).",
          .options = {{.name = "recipe", .value_name = "FILE", .help = "training recipe (JSON)", .required = true},
                      {.name = "run-dir", .value_name = "DIR", .help = "run folder (default runs/<recipe name>)"},
                      {.name = "resume", .help = "continue from the newest valid checkpoint in the run folder"},
                      {.name = "threads", .value_name = "N", .help = "torch intra-op threads (0 = LibTorch default)",
                       .default_value = "0"},
                      {.name = "device", .value_name = "DEV", .help = "cpu, cuda or cuda:N", .default_value = "cpu"},
                      {.name = "max-steps", .value_name = "N", .help = "stop (with a checkpoint) after N steps of this invocation",
                       .default_value = "0"},
                      {.name = "quiet", .help = "no per-step lines on stderr"}},
          .run = run_train};
}

}  // namespace kanana::cli
