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
//               "max_bad_steps": 5, "log_interval": 1}
// }
// Paths are relative to the recipe file. Every error names the file and the field.
#pragma once

#include <any>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "shards/mixture.h"
#include "train/lr_schedule.h"
#include "train/optimizer.h"

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
  std::string hash;                // fnv1a64 of the canonical JSON (stored in checkpoints)
  Json json;                       // the recipe as read
  std::any task_options;           // what the type's parser read from its own keys (task.h)
};

// Types registered in this process (task.h); anything else is an error naming field 'type'.
std::vector<std::string> recipe_types();

Result<Recipe> parse_recipe(const Json& json, const std::string& origin, const std::filesystem::path& base_dir);
Result<Recipe> read_recipe(const std::filesystem::path& file);

}  // namespace kanana::train
