#include "posttrain/packed_forward.h"

#include "model/activation_checkpointing_impl.h"
#include "model/linear.h"

namespace kanana::posttrain {

torch::Tensor segment_attention_mask(const torch::Tensor& segments) {
  const int64_t batch = segments.size(0), seq = segments.size(1);
  auto opts = torch::TensorOptions().device(segments.device()).dtype(torch::kInt64);
  auto pos = torch::arange(seq, opts);
  auto causal = (pos.view({1, seq}) <= pos.view({seq, 1})).view({1, seq, seq});  // [q][k]: k ≤ q
  auto same = segments.unsqueeze(2).eq(segments.unsqueeze(1));                    // (b, q, k)
  auto pad = segments.lt(0);
  // A padding query attends to itself only (finite softmax, result unused).
  auto self = torch::eye(seq, opts.dtype(torch::kBool)).view({1, seq, seq});
  auto allowed = causal.logical_and(same).logical_and(pad.unsqueeze(2).logical_not())
                     .logical_or(self.logical_and(pad.unsqueeze(2)));
  return allowed.view({batch, 1, seq, seq}).contiguous();
}

torch::Tensor packed_forward(model::LlamaForCausalLM& m, const torch::Tensor& input_ids, const torch::Tensor& position_ids,
                             const torch::Tensor& segments) {
  auto& base = m->model;
  const auto device = base->embed_tokens->weight.device();
  auto allowed = segment_attention_mask(segments.to(device));
  auto h = base->embed_tokens->forward(input_ids.to(device, torch::kInt64));
  auto [cos, sin] = base->rotary().cos_sin(position_ids.to(device, torch::kInt64), h.scalar_type());
  for (const auto& layer : *base->layers) {
    auto* l = layer->as<model::LlamaDecoderLayer>();
    if (model::detail::should_checkpoint(h)) {
      h = model::detail::checkpointed(
          [l, cos = cos, sin = sin, allowed](const torch::Tensor& x) { return l->forward(x, cos, sin, allowed, nullptr); }, h);
    } else {
      h = l->forward(h, cos, sin, allowed, nullptr);
    }
  }
  h = base->norm->forward(h);
  return model::project(h, m->output_embedding_weight());
}

}  // namespace kanana::posttrain
