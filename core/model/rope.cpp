// inv_freq for every rope_scaling kind, mirroring transformers' _compute_*_parameters in
// fp32 tensor ops so the same rounding happens as in Python.
#include "model/rope.h"

#include <algorithm>
#include <cmath>

namespace kanana::model {
namespace {

torch::Tensor default_inv_freq(double base, int64_t dim) {
  auto exponent = torch::arange(0, dim, 2, torch::kInt64).to(torch::kFloat32) / static_cast<double>(dim);
  return 1.0 / torch::pow(base, exponent);  // (dim / 2)
}

double yarn_get_mscale(double scale, double mscale) {
  if (scale <= 1.0) return 1.0;
  return 0.1 * mscale * std::log(scale) + 1.0;
}

RopeFrequencies yarn(const LlamaConfig& c, const RopeScaling& s) {
  const double base = c.rope_theta;
  const int64_t dim = c.head_dim;
  double factor = s.factor;
  int64_t original_max = c.max_position_embeddings;
  // DeepSeek-V3 style configs: the factor used for the default attention scale is the ratio.
  if (s.original_max_position_embeddings) {
    original_max = *s.original_max_position_embeddings;
    factor = static_cast<double>(c.max_position_embeddings) / static_cast<double>(original_max);
  }
  double attention_factor;
  if (s.attention_factor) {
    attention_factor = *s.attention_factor;
  } else if (s.mscale && s.mscale_all_dim && *s.mscale != 0.0 && *s.mscale_all_dim != 0.0) {
    attention_factor = yarn_get_mscale(factor, *s.mscale) / yarn_get_mscale(factor, *s.mscale_all_dim);
  } else {
    attention_factor = yarn_get_mscale(factor, 1.0);
  }
  const double beta_fast = s.beta_fast && *s.beta_fast != 0.0 ? *s.beta_fast : 32.0;
  const double beta_slow = s.beta_slow && *s.beta_slow != 0.0 ? *s.beta_slow : 1.0;
  auto correction_dim = [&](double rotations) {
    return (dim * std::log(original_max / (rotations * 2.0 * M_PI))) / (2.0 * std::log(base));
  };
  double low = correction_dim(beta_fast), high = correction_dim(beta_slow);
  if (s.truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, static_cast<double>(dim - 1));
  if (low == high) high += 0.001;  // avoid a zero-width ramp
  auto pos_freqs = torch::pow(base, torch::arange(0, dim, 2, torch::kInt64).to(torch::kFloat32) / static_cast<double>(dim));
  auto inv_extrapolation = 1.0 / pos_freqs;
  auto inv_interpolation = 1.0 / (factor * pos_freqs);
  auto ramp = ((torch::arange(dim / 2, torch::kFloat32) - low) / (high - low)).clamp(0, 1);
  auto extrapolation_factor = 1 - ramp;
  RopeFrequencies f;
  f.inv_freq = inv_interpolation * (1 - extrapolation_factor) + inv_extrapolation * extrapolation_factor;
  f.attention_scaling = attention_factor;
  return f;
}

RopeFrequencies llama3(const LlamaConfig& c, const RopeScaling& s) {
  auto inv_freq = default_inv_freq(c.rope_theta, c.head_dim);
  const double factor = s.factor;
  const double old_context = static_cast<double>(*s.original_max_position_embeddings);
  const double low_freq_wavelen = old_context / s.low_freq_factor;
  const double high_freq_wavelen = old_context / s.high_freq_factor;
  auto wavelen = 2 * M_PI / inv_freq;
  // Long wavelengths are interpolated, short ones kept, the middle band smoothly blended.
  auto inv_freq_llama = torch::where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq);
  auto smooth = (old_context / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
  auto smoothed = (1 - smooth) * inv_freq_llama / factor + smooth * inv_freq_llama;
  auto is_medium = (wavelen >= high_freq_wavelen).logical_and(wavelen <= low_freq_wavelen);
  return {torch::where(is_medium, smoothed, inv_freq_llama), 1.0};
}

}  // namespace

RopeFrequencies compute_rope_frequencies(const LlamaConfig& c, int64_t seq_len) {
  torch::NoGradGuard no_grad;
  if (!c.rope_scaling || c.rope_scaling->rope_type == "default") {
    return {default_inv_freq(c.rope_theta, c.head_dim), 1.0};
  }
  const RopeScaling& s = *c.rope_scaling;
  if (s.rope_type == "linear") return {default_inv_freq(c.rope_theta, c.head_dim) / s.factor, 1.0};
  if (s.rope_type == "llama3") return llama3(c, s);
  if (s.rope_type == "yarn") return yarn(c, s);
  // dynamic NTK: the base grows with the sequence once it exceeds the trained length.
  const int64_t max_pos = c.max_position_embeddings;
  seq_len = std::max(seq_len, max_pos);
  const double dim = static_cast<double>(c.head_dim);
  const double base = c.rope_theta * std::pow((s.factor * seq_len / max_pos) - (s.factor - 1), dim / (dim - 2));
  return {default_inv_freq(base, c.head_dim), 1.0};
}

RotaryEmbedding::RotaryEmbedding(const LlamaConfig& config)
    : config_(config), freq_(compute_rope_frequencies(config)) {}

std::pair<torch::Tensor, torch::Tensor> RotaryEmbedding::cos_sin(const torch::Tensor& position_ids,
                                                                 torch::ScalarType dtype) {
  torch::Tensor inv_freq;
  const bool dynamic = config_.rope_scaling && config_.rope_scaling->rope_type == "dynamic";
  if (dynamic) {
    const int64_t seq_len = position_ids.max().item<int64_t>() + 1;
    inv_freq = compute_rope_frequencies(config_, seq_len).inv_freq.to(position_ids.device());
  } else {
    if (!inv_freq_on_device_.defined() || inv_freq_on_device_.device() != position_ids.device()) {
      inv_freq_on_device_ = freq_.inv_freq.to(position_ids.device());
    }
    inv_freq = inv_freq_on_device_;
  }
  // (batch, seq, 1) * (dim/2) -> (batch, seq, dim/2), in fp32 like HF (autocast disabled).
  auto freqs = position_ids.to(torch::kFloat32).unsqueeze(-1) * inv_freq;
  auto emb = torch::cat({freqs, freqs}, -1);  // (batch, seq, head_dim)
  auto cos = emb.cos(), sin = emb.sin();
  if (freq_.attention_scaling != 1.0) {
    cos = cos * freq_.attention_scaling;
    sin = sin * freq_.attention_scaling;
  }
  return {cos.to(dtype), sin.to(dtype)};
}

torch::Tensor rotate_half(const torch::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

torch::Tensor apply_rotary(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  auto c = cos.unsqueeze(1), s = sin.unsqueeze(1);  // (batch, 1, seq, head_dim)
  return x * c + rotate_half(x) * s;
}

}  // namespace kanana::model
