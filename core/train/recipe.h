// Training recipes (JSON). A recipe names its type; every type shares the keys below and
// adds its own (task.h: types register themselves, e.g. "pretrain" here, "distill", "sft",
// "dpo", "reward", "contrastive" in their modules). Types with stages ("pretrain") read
// "stages"; the others read one top-level "schedule" instead.
//
// {
//   "type": "pretrain", "name": "tiny-demo",
//   "model": {"preset": "tiny"} | {"config": "path/config.json"} | {"init_from": "hf/folder"},
//   "seq_len": 128, "micro_batch_size": 4, "grad_accum": 2,    // per rank; global batch =
//                                                               // micro·accum·world_size rows
//   "seed": 1234,
//   "optimizer": {"beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weight_decay": 1e-4,
//                 "weight_decay_mode": "independent" | "coupled", "skip_1d_decay": true},
//   "grad_clip": 1.0, "z_loss": 5e-6,
//   "stages": [{"name": "stage1", "token_budget": "2M", "sources": [...],     // mixture.h
//               "schedule": {"kind": "cosine", "peak_lr": 3e-4, ...}}, ...],  // lr_schedule.h
//   "validation": {"path": "packs/val-pack", "interval": 50, "batches": 4},   // optional;
//                  // no path: the val splits of the first stage's sources
//   "checkpoint": {"interval": 100, "keep_last": 3},
//   "runtime": {"dtype": "float32", "autocast_bf16": false, "activation_checkpointing": false, "peak_tflops": 0,
//               "max_bad_steps": 5, "log_interval": 1},
//   "distributed": {"bucket_mb": 25, "overlap_reduce": true, "zero_stage": 0}   // distributed.h
// }
// Paths are relative to the recipe file. Every error names the file and the field.
//
// Torch-free (library kanana_train_spec): the GUI's recipe check, the CLI and the trainer
// parse recipes with the same code. Each type's own keys are parsed by its spec
// (recipe_types.cpp lists them: posttrain/posttrain_spec.h, surgery/distill_spec.h,
// embed/contrastive_spec.h); its Torch task registers separately (train/task.h).
#pragma once

#include <any>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/options.h"
#include "base/status.h"
#include "shards/mixture.h"
#include "train/lr_schedule.h"
#include "train/optimizer_options.h"

namespace kanana::train {

struct ModelSource {
  std::string preset;                  // model/presets.h name
  std::filesystem::path config;        // config.json (fresh weights)
  std::filesystem::path init_from;     // HF checkpoint folder (continued pre-training)
};

struct ValidationSpec {
  std::vector<std::filesystem::path> packs;  // val splits read from these pack folders
  int64_t interval = 0;                      // steps; 0 = only at the end
  int64_t batches = 4;                       // micro-batches of micro_batch_size rows
};

struct CheckpointSpec {
  int64_t interval = 0;   // steps; 0 = only at the end (and on SIGINT)
  int64_t keep_last = 3;
};

struct RuntimeSpec {
  std::string dtype = "float32";   // parameter dtype
  bool autocast_bf16 = false;      // at::autocast bf16 around the forward pass
  bool activation_checkpointing = false;  // recompute decoder layers in backward (model/activation_checkpointing.h)
  double peak_tflops = 0;          // MFU denominator; 0 = measure an fp32 GEMM at start
  int64_t max_bad_steps = 5;       // NaN/inf steps in a row before the run stops
  int64_t log_interval = 1;
};

// Data parallelism across ranks (only read when WORLD_SIZE > 1; see distributed.h).
struct DistributedSpec {
  double bucket_mb = 25;       // gradient all-reduce bucket size (MiB), like DDP's bucket_cap_mb
  bool overlap_reduce = true;  // reduce buckets during backward (c10d Reducer); false: after it
  int64_t zero_stage = 0;      // 1: AdamW moments sharded across ranks (ZeRO stage 1, zero_optimizer.h)
};

struct Recipe {
  std::string type = "pretrain";
  std::string name;
  std::filesystem::path file;      // where it was read from (empty for in-memory recipes)
  ModelSource model;
  int64_t seq_len = 128;
  int64_t micro_batch_size = 4;
  int64_t grad_accum = 1;
  uint64_t seed = 1234;
  AdamWOptions optimizer;
  double grad_clip = 1.0;          // 0 = no clipping
  double z_loss = 5e-6;
  std::vector<shards::StageSpec> stages;   // types with uses_stages; empty otherwise
  std::vector<LrSchedule> schedules;       // one per stage, or the single top-level "schedule"
  ValidationSpec validation;
  CheckpointSpec checkpoint;
  RuntimeSpec runtime;
  DistributedSpec distributed;
  std::string hash;                // fnv1a64 of the resolved recipe's canonical JSON (stored in checkpoints)
  Json json;                       // the recipe as read
  std::any task_options;           // what the type's parser read from its own keys (task.h)
};

// A recipe type as the parser knows it (no LibTorch): its keys and how to read and write them.
struct RecipeType {
  std::string name;
  std::string summary;
  bool uses_stages = false;        // "stages" (pretrain, distill) or one top-level "schedule"
  std::vector<std::string> keys;   // the type's own top-level keys (others are rejected)
  // Reads the type's keys into recipe.task_options (origin names the file in errors, base
  // resolves relative paths). Empty when the type has no keys of its own.
  std::function<Status(const Json& json, const std::string& origin, const std::filesystem::path& base, Recipe& recipe)> parse;
  // The type's keys, every default filled in and paths absolute (for the resolved recipe).
  std::function<Json(const Recipe& recipe)> to_json;
};

// The project's recipe types, sorted by name (recipe_types.cpp).
const std::vector<RecipeType>& recipe_type_table();
// Adds a type defined elsewhere (a test, an extension) to those (returns true so it can
// initialise a static); a type of the same name is replaced.
bool register_recipe_type(RecipeType type);
// A type of the table or registered; anything else is an error naming 'type'.
const RecipeType* find_recipe_type(const std::string& name);
std::vector<std::string> recipe_types();  // sorted

// The top-level scalar keys (name, seq_len, micro_batch_size, grad_accum, seed, grad_clip,
// z_loss) and the "validation", "checkpoint", "runtime" and "distributed" blocks: one table each.
const OptionTable<Recipe>& recipe_option_fields();
const OptionTable<ValidationSpec>& validation_option_fields();
const OptionTable<CheckpointSpec>& checkpoint_option_fields();
const OptionTable<RuntimeSpec>& runtime_option_fields();
const OptionTable<DistributedSpec>& distributed_option_fields();

Result<Recipe> parse_recipe(const Json& json, const std::string& origin, const std::filesystem::path& base_dir);
// Relative paths in the file resolve against its folder, made absolute.
Result<Recipe> read_recipe(const std::filesystem::path& file);

// The recipe as the run uses it: every key of its type with defaults filled in and every path
// absolute. Parsing it gives the same recipe (and hash), so `kanana train --recipe
// RUN/resolved_recipe.json` reproduces a run; the trainer writes it into every run folder.
Json resolved_recipe_json(const Recipe& recipe);
inline constexpr const char* kResolvedRecipeFileName = "resolved_recipe.json";

}  // namespace kanana::train
