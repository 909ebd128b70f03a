// Target shapes for pruning: which dimensions of a Llama checkpoint to shrink and to what,
// checked against the source before any work (Minitron-style pruning keeps head_dim and
// every kv head; it only removes layers, hidden channels, MLP neurons and query heads, the
// same number of query heads inside every kv group — kanana-facts.md §5). Torch-free, so
// the GUI previews parameter and FLOP counts of a target while it is being edited.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/json.h"
#include "base/status.h"
#include "model/config.h"

namespace kanana::surgery {

// Unset fields keep the source's value.
struct TargetShape {
  std::optional<int64_t> num_hidden_layers;
  std::optional<int64_t> hidden_size;
  std::optional<int64_t> intermediate_size;
  std::optional<int64_t> num_attention_heads;  // a multiple of num_key_value_heads
  std::optional<int64_t> heads_per_group;      // the same thing per kv group (q heads / kv heads)
  std::optional<int64_t> num_key_value_heads;  // when given, must equal the source's (all kv heads kept)
  // true: the result ties input and output embeddings; an untied source is tied by
  // averaging embed_tokens and lm_head (Kanana at 4.5B → 2.1B). false on a tied source is
  // an error (pruning does not untie).
  std::optional<bool> tie_word_embeddings;

  bool empty() const;
};

// The pruned config.json for `target`, or an error naming the field before anything is
// computed: a head count that does not split evenly over the kv groups, a size above the
// source's, a size of zero (removes everything), a changed kv head count.
Result<model::LlamaConfig> target_config(const model::LlamaConfig& source, const TargetShape& target);

// The shape after step `step` (1-based) of an iterative schedule of `steps` steps from
// `source` to `target` (two configs of one model family): every dimension moves a fraction
// step/steps of the way, rounded to whole layers, channels, neurons and heads per kv group
// (Minitron: d_s − i·(d_s − d_t)/T). The last step is `target` itself.
model::LlamaConfig schedule_config(const model::LlamaConfig& source, const model::LlamaConfig& target, int64_t step,
                                   int64_t steps);

// {"num_hidden_layers": 5, "hidden_size": 192, "intermediate_size": 512,
//  "num_attention_heads": 4 | "heads_per_group": 1, "tie_word_embeddings": true}
// (short aliases "layers", "hidden", "intermediate", "heads" are accepted). Unknown keys are errors.
Result<TargetShape> parse_target_shape(const Json& json, const std::string& origin);
Json target_shape_to_json(const TargetShape& target);

struct ShapeStats {
  int64_t parameters = 0;
  int64_t embedding_parameters = 0;
  int64_t non_embedding_parameters = 0;
  double flops_per_token = 0;  // forward, at `context` tokens of context
};
ShapeStats shape_stats(const model::LlamaConfig& config, int64_t context = 0);

// "hidden 256, intermediate 704, layers 6, heads 8q/4kv (2 per group), head_dim 32, vocab 8000, tied"
std::string describe_shape(const model::LlamaConfig& config);

}  // namespace kanana::surgery
