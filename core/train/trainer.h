// The one training loop for every recipe type: AdamW, gradient accumulation, total-norm
// clipping, NaN/inf step skipping, validation cadence, MFU, checkpoints/resume and
// data-parallel gradient averaging. The recipe type's Task (task.h) supplies the model, the
// data and the loss ("pretrain": staged mixtures of packed shards, pretrain_task.cpp).
// Everything a watcher needs goes to <run_dir>/events.jsonl (rank 0).
//
// For "pretrain", one optimizer step consumes one global batch of micro_batch_size · grad_accum ·
// world_size rows from the MixtureSampler (each rank takes its rows and runs grad_accum
// micro-batches); the loss of a step is the mean over all ranks' micro-batches, and the
// gradient is averaged the same way, so 2 ranks equal 1 rank with the same global batch.
//
// MFU = achieved FLOP/s ÷ peak FLOP/s, with achieved = flops_per_token · tokens/s and
// flops_per_token = 6·N + 12·L·(heads·head_dim)·seq_len (PaLM appendix B): N counts the
// matmul parameters (every weight except the input embedding lookup; a tied output head is
// counted once as the lm_head matmul). Peak = runtime.peak_tflops from the recipe, or the
// rate of a 1024³ fp32 GEMM measured at start on this process's threads (so CPU MFU is
// relative to what this BLAS reaches, not to a datasheet number).
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <vector>

#include "base/progress.h"
#include "base/status.h"
#include "train/distributed.h"
#include "train/recipe.h"

namespace kanana::train {

struct TrainOptions {
  std::filesystem::path run_dir;
  bool resume = false;               // continue from the newest valid checkpoint
  torch::Device device = torch::kCPU;
  int threads = 0;                   // torch intra-op threads; 0 = leave as is
  DistEnv dist;                      // world_size 1 = single process
  CancelToken* cancel = nullptr;     // SIGINT/SIGTERM: checkpoint and return kCancelled
  // A scheduler's warning before a time limit or preemption (SIGUSR1 under Slurm): checkpoint,
  // record state "queued" and return with TrainResult::preempted (the job requeues itself).
  CancelToken* preempt = nullptr;
  int64_t max_steps = 0;             // stop after this many steps in this invocation (0 = run to the end)
  bool print_progress = false;       // one line per logged step on stderr (rank 0)
  // Test hook: called after backward with the step number; returning true poisons that
  // step's gradients and loss with NaN, as a diverging step would.
  std::function<bool(int64_t step)> inject_nan;
};

struct StepRecord {
  int64_t step = 0;      // 1-based global step
  double loss = 0;       // mean over ranks and micro-batches (ce + z-loss)
  double grad_norm = 0;
  double lr = 0;
  bool skipped = false;
  double seconds = 0;    // wall time of the step (data, forward/backward, allreduce, update)
  double exposed_reduce_seconds = 0;  // gradient all-reduce after backward (0 when it overlaps backward)
};

struct TrainResult {
  std::vector<StepRecord> steps;     // this invocation's steps
  int64_t final_step = 0;
  int64_t tokens = 0;
  int64_t skipped_steps = 0;
  bool finished = false;             // every stage done
  bool preempted = false;            // stopped on options.preempt after a checkpoint
  std::optional<double> last_val_loss;
  std::filesystem::path last_checkpoint;
  int64_t optimizer_state_bytes = 0;  // AdamW moments held by this rank (1/world of them with ZeRO-1)
};

// Errors: kInvalidArgument for recipe/data problems, kDataLoss when max_bad_steps NaN/inf
// steps came in a row (the last good checkpoint is left as it was), kCancelled on SIGINT
// (after writing a checkpoint). With several ranks, cancel and preempt take effect after the
// first step that every rank finishes once any rank saw the signal.
Result<TrainResult> run_training(const Recipe& recipe, const TrainOptions& options);

// fp32 GEMM rate of this process (FLOP/s), n×n×n, best of `reps`.
double measure_gemm_flops(int64_t n = 1024, int reps = 3);

}  // namespace kanana::train
