// The causal-LM forward pass over packed rows with attention kept inside each conversation
// ("document masking"): query i may attend to key j only when j ≤ i and both positions belong
// to the same segment. Together with per-conversation position ids this makes a packed row
// compute exactly what each conversation would compute alone (checked by test_posttrain_tasks).
//
// The model's own forward takes only a key-padding mask, so this runs the same modules in the
// same order (embeddings, RoPE from the given positions, decoder layers — checkpointed when
// activation checkpointing is on — final norm, output projection) with a block-diagonal mask.
#pragma once

#include <torch/torch.h>

#include "model/llama.h"

namespace kanana::posttrain {

// (batch, 1, seq, seq) bool: causal and same segment; padding (segment −1) sees only itself.
torch::Tensor segment_attention_mask(const torch::Tensor& segments);

// input_ids, position_ids, segments: (batch, seq) int64 -> logits (batch, seq, vocab).
torch::Tensor packed_forward(model::LlamaForCausalLM& model, const torch::Tensor& input_ids,
                             const torch::Tensor& position_ids, const torch::Tensor& segments);

}  // namespace kanana::posttrain
