// Forward-KL logit distillation (see distill_loss.h).
#include "surgery/distill_loss.h"

namespace kanana::surgery {

TeacherLogits teacher_targets(const torch::Tensor& teacher_logits, int64_t top_k) {
  TeacherLogits t;
  if (top_k <= 0 || top_k >= teacher_logits.size(-1)) {
    t.logits = teacher_logits;
    return t;
  }
  auto [values, indices] = teacher_logits.topk(top_k, /*dim=*/-1, /*largest=*/true, /*sorted=*/false);
  t.values = values;
  t.indices = indices;
  return t;
}

DistillLoss distill_kl(const torch::Tensor& student_logits, const TeacherLogits& teacher, double temperature,
                       const torch::Tensor& mask) {
  const double inv_t = 1.0 / temperature;
  auto log_q = torch::log_softmax(student_logits.to(torch::kFloat32) * inv_t, -1);  // (b, s, vocab)
  torch::Tensor per_position;                                                        // (b, s)
  if (teacher.top_k()) {
    auto log_p = torch::log_softmax(teacher.values.to(torch::kFloat32) * inv_t, -1);  // (b, s, k)
    auto log_q_k = log_q.gather(-1, teacher.indices);                                 // (b, s, k)
    per_position = (log_p.exp() * (log_p - log_q_k)).sum(-1);
  } else {
    auto log_p = torch::log_softmax(teacher.logits.to(torch::kFloat32) * inv_t, -1);  // (b, s, vocab)
    per_position = (log_p.exp() * (log_p - log_q)).sum(-1);
  }
  DistillLoss out;
  if (mask.defined()) {
    auto m = mask.to(torch::kFloat32);
    out.positions = int64_t(m.sum().item<double>());
    out.kl = (per_position * m).sum() / m.sum().clamp_min(1.0);
  } else {
    out.positions = per_position.numel();
    out.kl = per_position.mean();
  }
  out.loss = out.kl * (temperature * temperature);
  return out;
}

}  // namespace kanana::surgery
