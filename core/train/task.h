// Training tasks: what a recipe type trains. There is ONE training loop (trainer.cpp); it
// owns everything runs share — AdamW, gradient accumulation, data-parallel averaging,
// total-norm clipping, NaN/inf step skipping, metrics and events.jsonl, the validation
// cadence, checkpoints and bit-exact resume. A Task owns what differs between recipe types:
// its model(s), the order of its data (with a JSON cursor so resume continues exactly) and
// the loss of one micro-batch.
//
// A recipe type's keys, defaults and parser are its Torch-free spec (recipe.h,
// recipe_type_table()); its task registers itself from its own library with a static registrar:
//
//   namespace { const bool registered = kanana::train::register_task_factory(
//       "distill", [](const Recipe& r) -> Result<std::unique_ptr<Task>> { ... }); }
//
// so `kanana train --recipe FILE` runs it without an edit to the trainer or the CLI (the
// `kanana` executable links every core library without --as-needed).
//
// Common recipe keys (recipe.h) are parsed for every type. A type with uses_stages = true
// gets "stages" (packed sources, token budgets, one LR schedule per stage) like "pretrain";
// any other type gets a top-level "schedule" (recipe.schedules[0]) and decides its own
// length (epochs, steps) from its keys.
//
// The per-step protocol, on every rank:
//   while (!task.finished()) {
//     info = task.begin_step();                 // loads this rank's rows of the next global batch
//     for m in 0 .. grad_accum-1:
//       out = task.micro_batch(m);              // forward + loss; loop calls (out.loss / grad_accum).backward()
//     <allreduce mean of gradients and of every metric; clip; AdamW step with info.lr>
//   }
// Every rank must return the same metric keys in the same step (they are averaged).
#pragma once

#include <torch/torch.h>

#include <any>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "model/llama.h"
#include "train/recipe.h"

namespace kanana::jobs {
class EventWriter;
}

namespace kanana::train {

struct TaskContext {
  torch::Device device = torch::kCPU;
  torch::ScalarType dtype = torch::kFloat32;   // recipe.runtime.dtype
  int rank = 0;
  int world_size = 1;
  std::filesystem::path run_dir;               // e.g. to cache reference log-probs
  // Log line to events.jsonl (rank 0 only; a no-op elsewhere) and stderr for warnings/errors.
  std::function<void(const std::string& level, const std::string& message, std::optional<int64_t> step)> log;
  jobs::EventWriter* events = nullptr;         // rank 0 only (null elsewhere): stage switches etc.
};

struct StepInfo {
  double lr = 0;              // learning rate for this optimizer step
  int64_t tokens = 0;         // target tokens this rank trains on in this step (all micro-batches)
  int64_t stage = 0;          // index of the stage (0 for single-stage types)
  // First step of a stage (or of the run): the loop records a "stage" event and a log line.
  bool stage_started = false;
  std::string stage_name;     // for the event
  int64_t stage_steps = 0;    // steps the stage lasts (0 = unknown)
  int64_t num_stages = 1;
};

struct MicroBatchOutput {
  torch::Tensor loss;                        // scalar; the loop back-propagates loss / grad_accum
  std::map<std::string, double> metrics;     // logged with the step after averaging, e.g. ce_loss, kl
};

class Task {
 public:
  virtual ~Task() = default;

  // Builds or loads the model(s) and opens the data. Called once, after torch::manual_seed(recipe.seed).
  virtual Status setup(const TaskContext& ctx) = 0;
  // The trained model: its parameters are optimised and it is saved in Hugging Face layout
  // in every checkpoint.
  virtual model::LlamaForCausalLM& model() = 0;
  // Trainable tensors outside the model (e.g. a reward head "score.weight"); optimised with
  // the model and saved in extra.safetensors next to it. Names must not clash with the model's.
  virtual std::vector<std::pair<std::string, torch::Tensor>> extra_parameters() { return {}; }
  // Training FLOPs per target token for MFU; 0 = MFU not reported.
  virtual double flops_per_token() const { return 0; }
  // The tokenizer the model is trained with (a tokenizer file, or a folder holding one), copied
  // into every checkpoint so that each checkpoint folder is self-contained; empty = none known.
  virtual std::filesystem::path tokenizer_source() const { return {}; }

  virtual bool finished() const = 0;
  virtual Result<StepInfo> begin_step() = 0;
  virtual Result<MicroBatchOutput> micro_batch(int64_t index) = 0;

  // Validation metrics (rank 0, no grad, model in train mode as during training), e.g.
  // {"val_loss": 2.1, "val_ppl": 8.2}; nullopt when the task has no validation data.
  // "val_loss", when present, is what TrainResult::last_val_loss reports.
  virtual std::optional<Json> validate() { return std::nullopt; }

  // Data position for resume: cursor() after N steps, restored into a fresh task after
  // setup(), must make the following steps identical to an uninterrupted run.
  virtual Json cursor() const = 0;
  virtual Status restore(const Json& cursor) = 0;
};

// The Torch side of a recipe type (its keys and parser are in recipe_type_table(), recipe.h).
using TaskFactory = std::function<Result<std::unique_ptr<Task>>(const Recipe& recipe)>;
// Registers the task of a recipe type (returns true so it can initialise a static). A second
// registration of the same name replaces the first.
bool register_task_factory(const std::string& type, TaskFactory create);

// Builds the task for a parsed recipe.
Result<std::unique_ptr<Task>> create_task(const Recipe& recipe);

// Shared helpers for tasks.
// The model a recipe's "model" block names: a preset or config.json gets fresh weights
// (init_model with recipe.seed), init_from loads a Hugging Face folder.
Result<model::LlamaForCausalLM> build_recipe_model(const Recipe& recipe, torch::ScalarType dtype, torch::Device device);
// 6·N + 12·L·(heads·head_dim)·seq_len, N = matmul parameters (see trainer.h).
double causal_lm_flops_per_token(model::LlamaForCausalLM& model, int64_t seq_len);

}  // namespace kanana::train
