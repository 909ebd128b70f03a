// Activation checkpointing for training: while a scope is active on this thread and autograd
// is recording, each decoder layer's forward keeps only its input; the layer's activations
// are recomputed during backward (one extra forward per layer, in exchange for memory that
// no longer grows with the number of layers). Results and gradients are identical to the
// plain forward. Inference (no grad, or a KV cache) is unaffected.
//
//   model::ActivationCheckpointing scope(recipe.runtime.activation_checkpointing);
//   auto out = model->forward(ids);   // decoder layers checkpointed
//   loss.backward();
#pragma once

namespace kanana::model {

class ActivationCheckpointing {
 public:
  explicit ActivationCheckpointing(bool enabled);
  ~ActivationCheckpointing();
  ActivationCheckpointing(const ActivationCheckpointing&) = delete;
  ActivationCheckpointing& operator=(const ActivationCheckpointing&) = delete;

  static bool enabled();  // on this thread

 private:
  bool previous_;
};

}  // namespace kanana::model
