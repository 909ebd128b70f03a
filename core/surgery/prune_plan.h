// What pruning keeps: per dimension, the indices (in the source's numbering) of the layers,
// query heads, MLP neurons and hidden channels that survive, chosen from importance scores
// (the highest-scoring ones, order preserved). Torch-free: the GUI computes the plan of an
// edited target shape live and shows the importance mass it would remove.
//
// GQA alignment (Kanana Fig. 9): query heads are chosen inside each kv group — the same
// number from every group — and every kv head is kept, so head h of the result still reads
// kv head h / heads_per_group.
#pragma once

#include <cstdint>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "model/config.h"
#include "surgery/importance.h"

namespace kanana::surgery {

struct PrunePlan {
  model::LlamaConfig source;
  model::LlamaConfig target;
  std::vector<int64_t> layers;                 // kept source layers, ascending
  std::vector<std::vector<int64_t>> heads;     // per kept layer: kept source q heads, ascending
  std::vector<std::vector<int64_t>> neurons;   // per kept layer: kept source neurons, ascending
  std::vector<int64_t> channels;               // kept hidden channels, ascending
  bool tie_by_averaging = false;               // untied source -> tied target: embed = (embed + lm_head) / 2
  // RMSNorm weights × sqrt(hidden_source / hidden_target): exact when the removed channels
  // carry no energy (the RMS statistic is a mean over channels). Off by default (Minitron).
  bool rescale_norms = false;

  // Indices in range, ascending, unique, counts matching `target` and GQA-aligned.
  Status validate() const;
};

struct PlanOptions {
  bool depth_by_loss = true;   // rank layers by the loss increase when dropped; false: block importance
  bool rescale_norms = false;
};

// Keeps everything: pruning with this plan reproduces the source exactly.
PrunePlan identity_plan(const model::LlamaConfig& source);

// The plan that reaches `target` (a target_config of `source`) keeping the most important
// parts. `scores` must describe `source` (same config) when any width or depth is removed;
// dimensions left unchanged keep every index without consulting scores.
Result<PrunePlan> plan_from_importance(const model::LlamaConfig& source, const model::LlamaConfig& target,
                                       const ImportanceScores* scores, const PlanOptions& options = {});

// Fraction (0..1) of each dimension's importance mass the plan removes; -1 where the
// scores do not cover it.
struct RemovedMass {
  double layers = 0, heads = 0, neurons = 0, channels = 0;
};
RemovedMass removed_mass(const PrunePlan& plan, const ImportanceScores& scores, bool depth_by_loss = true);

Json plan_to_json(const PrunePlan& plan);  // kept indices, for the record next to a pruned checkpoint

}  // namespace kanana::surgery
