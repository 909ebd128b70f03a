// Structured pruning of a Llama model: applying a PrunePlan (prune_plan.h) to the weights,
// consistently across every tensor a dimension touches —
//   hidden channels: embed_tokens and lm_head columns, every RMSNorm weight, the input
//                    columns of q/k/v/gate/up and the output rows of o_proj/down_proj;
//   query heads:     q_proj rows and o_proj columns (head_dim rows/columns per head);
//   neurons:         gate/up rows and down_proj columns;
//   layers:          whole decoder layers;
// and tying an untied model by averaging its input and output embeddings — and the
// iterative schedule of Minitron/Kanana: several smaller steps, importance recomputed on the
// calibration set before each.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "base/progress.h"
#include "base/status.h"
#include "model/llama.h"
#include "surgery/importance.h"
#include "surgery/importance_estimation.h"
#include "surgery/prune_plan.h"
#include "surgery/shape.h"

namespace kanana::surgery {

// A new model (same dtype and device) holding the kept slices of `model`'s weights.
// The plan's source must equal the model's config.
Result<model::LlamaForCausalLM> apply_plan(model::LlamaForCausalLM& model, const PrunePlan& plan);

struct PruneOptions {
  int64_t steps = 1;                 // iterative schedule length (importance recomputed each step)
  ImportanceOptions importance;
  PlanOptions plan;
  // Scores for the first step, computed earlier on exactly this model (checked by
  // fingerprint); later steps always recompute.
  const ImportanceScores* initial_scores = nullptr;
};

struct PruneStep {
  model::LlamaConfig config;         // shape after this step
  ImportanceScores scores;           // computed on the model before this step (empty if not needed)
  RemovedMass removed;               // of this step, against its scores
  bool scored = false;
};

struct PruneResult {
  model::LlamaForCausalLM model{nullptr};
  std::vector<PruneStep> steps;
  std::vector<PrunePlan> plans;      // one per step
};

// Validates the target against the model first (before any forward pass), then prunes in
// `options.steps` steps. `calibration` is rewound before every estimation; it may be null
// only when nothing needs scores (target == source, or only tying). `on_step` (optional)
// is told "step i of n: ..." lines.
Result<PruneResult> prune_model(model::LlamaForCausalLM& model, const TargetShape& target,
                                CalibrationSource* calibration, const PruneOptions& options,
                                const std::function<void(const std::string&)>& on_step = {},
                                Progress* progress = nullptr, const CancelToken* cancel = nullptr);

}  // namespace kanana::surgery
