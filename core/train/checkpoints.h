// Training checkpoints: <run_dir>/checkpoints/step-XXXXXXX/ holding
//   config.json, generation_config.json, model.safetensors   Hugging Face layout (model::save_model)
//   optimizer.safetensors   AdamW moments "exp_avg.<param>", "exp_avg_sq.<param>", or with ZeRO-1
//   optimizer-shard-RRRRR-of-WWWWW.safetensors   one per rank: flat "exp_avg"/"exp_avg_sq" of
//                           its range (metadata flat_begin, flat_end, flat_total; zero_optimizer.h)
//   extra.safetensors       trainable tensors outside the model (task.h), when there are any
//   trainer_state.json      step, tokens, optimizer steps, data cursor, RNG state, recipe hash
//   tokenizer.model | tokenizer.json (+ tokenizer_config.json)   the task's tokenizer, when known
//   checksums.json          FNV-1a 64 of every other file (written last)
// The folder is written as checkpoints/.tmp-step-XXXXXXX and renamed when complete, so a
// folder named step-* is either whole or was damaged afterwards; damage is caught by the
// checksums on resume, which then falls back to the previous checkpoint with a log line.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "model/llama.h"
#include "safetensors/safetensors.h"
#include "train/optimizer.h"
#include "train/zero_optimizer.h"

namespace kanana::train {

struct TrainerState {
  int64_t step = 0;             // global batches consumed (including skipped ones)
  int64_t tokens = 0;           // target tokens trained on, all ranks
  int64_t optimizer_steps = 0;  // AdamW updates applied (skipped NaN steps excluded)
  int64_t skipped_steps = 0;
  Json data_cursor;             // MixtureSampler::cursor()
  std::string rng_state;        // hex of the CPU generator state
  std::string recipe_hash;
  Json to_json() const;
  static Result<TrainerState> from_json(const Json& json, const std::string& origin);
};

std::filesystem::path checkpoints_dir(const std::filesystem::path& run_dir);
std::string checkpoint_name(int64_t step);  // "step-0000042"

// Writes the checkpoint atomically and deletes the oldest step-* folders beyond keep_last.
// `tokenizer` (Task::tokenizer_source(); empty = none) is copied in, so the folder loads alone.
// With optimizer == nullptr (ZeRO-1) every rank has already written its shard into the
// staging folder (below) and this completes the checkpoint around them.
using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;
Result<std::filesystem::path> save_training_checkpoint(const std::filesystem::path& run_dir,
                                                       model::LlamaForCausalLM& model, const AdamW* optimizer,
                                                       const TrainerState& state, int64_t keep_last,
                                                       const NamedTensors& extras = {},
                                                       const std::filesystem::path& tokenizer = {});
// ZeRO-1 saving, in this order with a barrier after each: rank 0 empties the staging folder
// of `step`; every rank writes its shard; rank 0 calls save_training_checkpoint(nullptr).
Status prepare_checkpoint_staging(const std::filesystem::path& run_dir, int64_t step);
Status save_optimizer_shard(const std::filesystem::path& run_dir, int64_t step, const ShardedAdamW& optimizer);
std::string optimizer_shard_name(int rank, int world);  // "optimizer-shard-00001-of-00002.safetensors"

// step-* folders, newest first.
std::vector<std::filesystem::path> list_checkpoints(const std::filesystem::path& run_dir);
// Recomputes every checksum; kDataLoss naming the file that differs or is missing.
Status verify_checkpoint(const std::filesystem::path& dir);

struct ResumePoint {
  std::filesystem::path dir;
  TrainerState state;
  std::vector<std::string> messages;  // "checkpoint step-0000020 is corrupt (...); falling back to step-0000010"
};
// Newest checkpoint that verifies; nullopt when there is none at all; an error when every
// one is corrupt (the message lists them).
Result<std::optional<ResumePoint>> find_resume_point(const std::filesystem::path& run_dir);

// Copies weights, extra tensors and optimizer moments from `dir` into the live
// model/extras/optimizer (exactly one of `dense`, `sharded`). Either optimizer reads either
// layout, so a run resumes with a different number of ranks, with or without ZeRO-1.
Status restore_training_checkpoint(const std::filesystem::path& dir, model::LlamaForCausalLM& model, AdamW* dense,
                                   ShardedAdamW* sharded, const TrainerState& state, const NamedTensors& extras = {});

// A reader of flat moment ranges from a checkpoint folder in either layout; `layout` is
// (name, numel) of every parameter in the optimizer's order. Errors name the file and range.
Result<MomentRangeReader> open_moment_reader(const std::filesystem::path& dir,
                                             const std::vector<std::pair<std::string, int64_t>>& layout);

// CPU generator state <-> hex.
std::string cpu_rng_state();
Status set_cpu_rng_state(const std::string& hex);

}  // namespace kanana::train
