// Logit distillation loss (Kanana/Minitron: forward KL on the final logits only,
// kanana-facts.md §5), computed in fp32 whatever the logits' dtype.
//
//   p = softmax(teacher / T), q = softmax(student / T)         per position
//   kl   = mean over counted positions of Σ_v p_v (log p_v − log q_v)
//   loss = T² · kl        (Hinton et al.: keeps gradient magnitudes comparable across T)
//
// Top-k (to save memory: only the teacher's k largest logits per position are kept): p is the
// teacher's softmax renormalised over its top-k tokens and q the student's full softmax
// read at those tokens, i.e. Σ_{v ∈ top-k} p_v (log p_v − log q_v) — still >= 0, and equal to
// the full KL when k = vocab.
#pragma once

#include <torch/torch.h>

namespace kanana::surgery {

// The teacher's side of the loss, small enough to keep: all logits, or the top-k of them.
struct TeacherLogits {
  torch::Tensor logits;   // (batch, seq, vocab) when top_k == 0
  torch::Tensor values;   // (batch, seq, k) top-k logits
  torch::Tensor indices;  // (batch, seq, k) int64
  bool top_k() const { return values.defined(); }
};

// Keeps what the loss needs of teacher logits (batch, seq, vocab); top_k 0 = all.
TeacherLogits teacher_targets(const torch::Tensor& teacher_logits, int64_t top_k);

struct DistillLoss {
  torch::Tensor loss;  // scalar fp32: T² · kl (differentiable in the student logits)
  torch::Tensor kl;    // scalar fp32, mean per counted position, at temperature T
  int64_t positions = 0;
};

// student_logits (batch, seq, vocab); mask (batch, seq) bool of counted positions, undefined = all.
DistillLoss distill_kl(const torch::Tensor& student_logits, const TeacherLogits& teacher, double temperature,
                       const torch::Tensor& mask = {});

}  // namespace kanana::surgery
