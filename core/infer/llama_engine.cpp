// The Torch-free Llama forward (see llama_engine.h). Each step mirrors core/model: llama.cpp
// (decoder layer), attention.cpp (GQA, fp32 softmax, scaling head_dim^-0.5), rope.cpp
// (inv_freq in fp32, cos/sin of cat(freqs, freqs), rotate_half), rms_norm.cpp and mlp.cpp.
#include "infer/llama_engine.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <thread>

#include "base/files.h"
#include "base/process_memory.h"
#include "infer/kernels.h"
#include "infer/widen.h"
#include "safetensors/reader.h"
#include "safetensors/writer.h"

namespace kanana::infer {

namespace fs = std::filesystem;

struct LlamaEngine::Layer {
  std::vector<float> attn_norm, mlp_norm;  // (hidden)
  QuantMatrix q, k, v, o, gate, up, down;
  // Present only with attention_bias / mlp_bias.
  std::vector<float> q_bias, k_bias, v_bias, o_bias, gate_bias, up_bias, down_bias;
};

LlamaEngine::LlamaEngine() = default;
LlamaEngine::~LlamaEngine() = default;

namespace {

// Reads tensors of one checkpoint by name with their expected shape, converting as they go.
class TensorSource {
 public:
  TensorSource(const st::CheckpointReader& reader, std::string origin, ThreadPool& pool)
      : reader_(reader), origin_(std::move(origin)), pool_(pool) {}

  Result<std::span<const uint8_t>> raw(const std::string& name, const std::vector<int64_t>& shape,
                                       st::DType* dtype) const {
    auto info = reader_.info(name);
    if (!info.is_ok()) return not_found(origin_ + ": missing tensor '" + name + "'");
    if (info->shape != shape) {
      return invalid_argument(origin_ + ": tensor '" + name + "' has shape " + st::shape_string(info->shape) +
                              " but config.json implies " + st::shape_string(shape));
    }
    if (!widens_to_f32(info->dtype))
      return invalid_argument(origin_ + ": tensor '" + name + "' is " + st::dtype_name(info->dtype) +
                              "; the engine reads F32, BF16 or F16 checkpoints");
    *dtype = info->dtype;
    return reader_.bytes(name);
  }

  Result<std::vector<float>> vector(const std::string& name, int64_t n) const {
    st::DType dtype;
    KANANA_ASSIGN_OR_RETURN(auto bytes, raw(name, {n}, &dtype));
    std::vector<float> out(static_cast<size_t>(n));
    widen_to_f32(bytes.data(), dtype, n, out.data());
    for (int64_t i = 0; i < n; ++i)
      if (!std::isfinite(out[size_t(i)]))
        return invalid_argument(origin_ + ": tensor '" + name + "' element " + std::to_string(i) + " is not finite");
    reader_.release_pages(name);
    return out;
  }

  // A (rows, cols) weight saved by LlamaEngine::save in `format`: U8 rows in the layout of
  // weights.h plus "<name>.scales", copied into place (QuantMatrix::from_parts checks sizes,
  // padding and scales).
  Result<QuantMatrix> stored(const std::string& name, int64_t rows, int64_t cols, WeightFormat format) const {
    auto info = reader_.info(name);
    if (!info.is_ok()) return not_found(origin_ + ": missing tensor '" + name + "'");
    if (info->dtype != st::DType::U8 || info->shape.size() != 2 || info->shape[0] != rows)
      return invalid_argument(origin_ + ": tensor '" + name + "' is " + st::dtype_name(info->dtype) + " " +
                              st::shape_string(info->shape) + "; an engine checkpoint stores it as U8 [" +
                              std::to_string(rows) + ", row bytes]");
    KANANA_ASSIGN_OR_RETURN(auto data, reader_.bytes(name));
    std::span<const uint8_t> scales;
    const std::string scale_name = name + ".scales";
    if (format == WeightFormat::kInt8 || format == WeightFormat::kQ4) {
      auto scale_info = reader_.info(scale_name);
      if (!scale_info.is_ok()) return not_found(origin_ + ": missing tensor '" + scale_name + "'");
      const st::DType want = format == WeightFormat::kInt8 ? st::DType::F32 : st::DType::F16;
      if (scale_info->dtype != want)
        return invalid_argument(origin_ + ": tensor '" + scale_name + "' is " + st::dtype_name(scale_info->dtype) +
                                ", " + weight_format_name(format) + " scales are " + st::dtype_name(want));
      KANANA_ASSIGN_OR_RETURN(scales, reader_.bytes(scale_name));
    }
    auto m = QuantMatrix::from_parts(rows, cols, format, data, scales, name);
    if (!m.is_ok()) return m.status().with_context(origin_);
    reader_.release_pages(name);
    if (!scales.empty()) reader_.release_pages(scale_name);
    return m;
  }

  // A (rows, cols) weight in `format`, rows converted in parallel from the mapped bytes.
  Result<QuantMatrix> matrix(const std::string& name, int64_t rows, int64_t cols, WeightFormat format) const {
    st::DType dtype;
    KANANA_ASSIGN_OR_RETURN(auto bytes, raw(name, {rows, cols}, &dtype));
    KANANA_ASSIGN_OR_RETURN(QuantMatrix m, QuantMatrix::allocate(rows, cols, format, name));
    const size_t esize = st::dtype_size(dtype);
    std::atomic<int64_t> first_bad{rows};
    pool_.parallel_for(0, rows, [&](int64_t b, int64_t e) {
      std::vector<float> row(static_cast<size_t>(cols));  // one row per chunk: load-time only
      for (int64_t r = b; r < e; ++r) {
        widen_to_f32(bytes.data() + size_t(r) * size_t(cols) * esize, dtype, cols, row.data());
        if (!m.quantize_row(r, row.data()).is_ok()) {
          int64_t cur = first_bad.load();
          while (r < cur && !first_bad.compare_exchange_weak(cur, r)) {
          }
          return;
        }
      }
    });
    if (const int64_t bad = first_bad.load(); bad < rows) {  // re-run the lowest for its message
      std::vector<float> row(static_cast<size_t>(cols));
      widen_to_f32(bytes.data() + size_t(bad) * size_t(cols) * esize, dtype, cols, row.data());
      Status status = m.quantize_row(bad, row.data());
      return status.is_ok() ? internal_error(origin_ + ": '" + name + "' row " + std::to_string(bad) + " failed once")
                            : status.with_context(origin_);
    }
    reader_.release_pages(name);
    return m;
  }

 private:
  const st::CheckpointReader& reader_;
  std::string origin_;
  ThreadPool& pool_;
};

// inv_freq (head_dim / 2) and the cos/sin factor, the fp32 arithmetic of model/rope.cpp.
Result<std::vector<float>> rope_inv_freq(const model::LlamaConfig& c, double* attention_scaling) {
  const int64_t dim = c.head_dim;
  auto default_inv = [&](double base) {
    std::vector<float> f(static_cast<size_t>(dim / 2));
    for (int64_t i = 0; i < dim / 2; ++i)
      f[size_t(i)] = 1.0f / std::pow(float(base), float(2 * i) / float(dim));
    return f;
  };
  *attention_scaling = 1.0;
  if (!c.rope_scaling || c.rope_scaling->rope_type == "default") return default_inv(c.rope_theta);
  const model::RopeScaling& s = *c.rope_scaling;
  if (s.rope_type == "linear") {
    auto f = default_inv(c.rope_theta);
    for (float& v : f) v = float(v / s.factor);
    return f;
  }
  if (s.rope_type == "llama3") {
    auto f = default_inv(c.rope_theta);
    const float factor = float(s.factor);
    const float old_context = float(*s.original_max_position_embeddings);
    const float low_wavelen = float(double(old_context) / s.low_freq_factor);
    const float high_wavelen = float(double(old_context) / s.high_freq_factor);
    for (float& inv : f) {
      const float wavelen = float(2 * M_PI) / inv;
      const float scaled = wavelen > low_wavelen ? inv / factor : inv;
      const float smooth = float((old_context / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor));
      const float smoothed = (1 - smooth) * scaled / factor + smooth * scaled;
      inv = (wavelen >= high_wavelen && wavelen <= low_wavelen) ? smoothed : scaled;
    }
    return f;
  }
  if (s.rope_type == "yarn") {
    double factor = s.factor;
    int64_t original_max = c.max_position_embeddings;
    if (s.original_max_position_embeddings) {
      original_max = *s.original_max_position_embeddings;
      factor = double(c.max_position_embeddings) / double(original_max);
    }
    auto get_mscale = [](double scale, double mscale) { return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0; };
    if (s.attention_factor) *attention_scaling = *s.attention_factor;
    else if (s.mscale && s.mscale_all_dim && *s.mscale != 0.0 && *s.mscale_all_dim != 0.0)
      *attention_scaling = get_mscale(factor, *s.mscale) / get_mscale(factor, *s.mscale_all_dim);
    else *attention_scaling = get_mscale(factor, 1.0);
    const double beta_fast = s.beta_fast && *s.beta_fast != 0.0 ? *s.beta_fast : 32.0;
    const double beta_slow = s.beta_slow && *s.beta_slow != 0.0 ? *s.beta_slow : 1.0;
    auto correction_dim = [&](double rotations) {
      return (dim * std::log(original_max / (rotations * 2.0 * M_PI))) / (2.0 * std::log(c.rope_theta));
    };
    double low = correction_dim(beta_fast), high = correction_dim(beta_slow);
    if (s.truncate) {
      low = std::floor(low);
      high = std::ceil(high);
    }
    low = std::max(low, 0.0);
    high = std::min(high, double(dim - 1));
    if (low == high) high += 0.001;
    std::vector<float> f(static_cast<size_t>(dim / 2));
    for (int64_t i = 0; i < dim / 2; ++i) {
      const float pos_freq = std::pow(float(c.rope_theta), float(2 * i) / float(dim));
      const float extrapolation = 1.0f / pos_freq, interpolation = 1.0f / (float(factor) * pos_freq);
      const float ramp = std::clamp(float((float(i) - low) / (high - low)), 0.f, 1.f);
      const float extrapolation_factor = 1 - ramp;
      f[size_t(i)] = interpolation * (1 - extrapolation_factor) + extrapolation * extrapolation_factor;
    }
    return f;
  }
  return invalid_argument("config.json: rope_scaling.rope_type '" + s.rope_type +
                          "' is not supported by the CPU engine (default, linear, llama3, yarn are)");
}

void rms_norm(const float* x, const float* weight, int64_t n, double eps, float* out) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += double(x[i]) * x[i];
  const float inv = float(1.0 / std::sqrt(sum / double(n) + eps));
  for (int64_t i = 0; i < n; ++i) out[i] = weight[i] * (x[i] * inv);
}

// Eight independent partial sums, so the compiler vectorises the loop without reassociating.
float dot(const float* a, const float* b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
  float sum = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

void add_bias(float* y, const std::vector<float>& bias, int64_t n, int64_t width) {
  if (bias.empty()) return;
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < width; ++i) y[r * width + i] += bias[size_t(i)];
}

}  // namespace

Result<std::unique_ptr<LlamaEngine>> LlamaEngine::load(const fs::path& dir, const EngineOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<LlamaEngine> e(new LlamaEngine());
  e->options_ = options;
  e->dir_ = dir;
  KANANA_ASSIGN_OR_RETURN(e->config_, model::read_llama_config(dir));
  const model::LlamaConfig& c = e->config_;
  if (c.model_type != "llama" || c.bidirectional)
    return invalid_argument((dir / "config.json").string() + ": model_type '" + c.model_type +
                            "' is not a causal Llama; the CPU engine runs LlamaForCausalLM checkpoints");
  if (c.hidden_act != "silu")
    return invalid_argument((dir / "config.json").string() + ": hidden_act '" + c.hidden_act + "' (the engine runs silu)");
  if (options.prefill_chunk < 1) return invalid_argument("engine: prefill_chunk must be at least 1");
  if (options.slots < 1) return invalid_argument("engine: slots must be at least 1");
  e->context_ = options.context > 0 ? options.context : std::min<int64_t>(c.max_position_embeddings, 4096);
  e->pool_ = std::make_unique<ThreadPool>(options.threads);
  KANANA_RETURN_IF_ERROR(e->load_tensors(dir));

  double attention_scaling = 1.0;
  auto inv_freq = rope_inv_freq(c, &attention_scaling);
  if (!inv_freq.is_ok()) return inv_freq.status().with_context(dir.string());
  const int64_t half = c.head_dim / 2;
  e->rope_cos_.resize(size_t(e->context_ * half));
  e->rope_sin_.resize(size_t(e->context_ * half));
  for (int64_t p = 0; p < e->context_; ++p)
    for (int64_t i = 0; i < half; ++i) {
      const float angle = float(p) * (*inv_freq)[size_t(i)];  // fp32 product, as HF
      e->rope_cos_[size_t(p * half + i)] = float(std::cos(double(angle)) * attention_scaling);
      e->rope_sin_[size_t(p * half + i)] = float(std::sin(double(angle)) * attention_scaling);
    }
  e->allocate_state();
  e->stats_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  e->stats_.peak_resident_bytes = process_memory().peak_resident_bytes;
  return e;
}

std::vector<LlamaEngine::TensorSlot> LlamaEngine::tensor_slots() {
  const model::LlamaConfig& c = config_;
  const int64_t H = c.hidden_size, Q = c.q_width(), KV = c.kv_width(), I = c.intermediate_size;
  std::vector<TensorSlot> out;
  auto mat = [&](QuantMatrix& m, std::string name, int64_t rows, int64_t cols) {
    out.push_back({std::move(name), &m, nullptr, rows, cols});
  };
  auto vec = [&](std::vector<float>& v, std::string name, int64_t n) { out.push_back({std::move(name), nullptr, &v, n, 1}); };
  mat(embed_, "model.embed_tokens.weight", c.vocab_size, H);
  for (int64_t i = 0; i < int64_t(layers_.size()); ++i) {
    Layer& L = layers_[size_t(i)];
    const std::string p = "model.layers." + std::to_string(i) + ".";
    mat(L.q, p + "self_attn.q_proj.weight", Q, H);
    mat(L.k, p + "self_attn.k_proj.weight", KV, H);
    mat(L.v, p + "self_attn.v_proj.weight", KV, H);
    mat(L.o, p + "self_attn.o_proj.weight", H, Q);
    mat(L.gate, p + "mlp.gate_proj.weight", I, H);
    mat(L.up, p + "mlp.up_proj.weight", I, H);
    mat(L.down, p + "mlp.down_proj.weight", H, I);
    if (c.attention_bias) {
      vec(L.q_bias, p + "self_attn.q_proj.bias", Q);
      vec(L.k_bias, p + "self_attn.k_proj.bias", KV);
      vec(L.v_bias, p + "self_attn.v_proj.bias", KV);
      vec(L.o_bias, p + "self_attn.o_proj.bias", H);
    }
    if (c.mlp_bias) {
      vec(L.gate_bias, p + "mlp.gate_proj.bias", I);
      vec(L.up_bias, p + "mlp.up_proj.bias", I);
      vec(L.down_bias, p + "mlp.down_proj.bias", H);
    }
    vec(L.attn_norm, p + "input_layernorm.weight", H);
    vec(L.mlp_norm, p + "post_attention_layernorm.weight", H);
  }
  vec(final_norm_, "model.norm.weight", H);
  if (!c.tie_word_embeddings) mat(lm_head_, "lm_head.weight", c.vocab_size, H);
  return out;
}

Status LlamaEngine::load_tensors(const fs::path& dir) {
  KANANA_ASSIGN_OR_RETURN(auto reader, st::CheckpointReader::open(dir));
  for (const auto& f : reader->files()) stats_.checkpoint_bytes += f->file_size();
  const WeightFormat fmt = options_.weights;
  bool stored = false;  // written by save(): copy, don't convert
  if (auto it = reader->metadata().find(st::kEngineWeightsKey); it != reader->metadata().end()) {
    auto format = parse_weight_format(it->second);
    if (!format.is_ok())
      return data_loss(dir.string() + ": unknown engine weight format '" + it->second + "' in the header");
    if (*format != fmt)
      return invalid_argument(dir.string() + " holds " + weight_format_name(*format) +
                              " weights saved by the engine; load it as " + weight_format_name(*format) + ", not " +
                              weight_format_name(fmt));
    stored = true;
  }
  // Conversion is load-time work that decides the time to first token: it uses every core,
  // whatever thread count decoding was given.
  std::unique_ptr<ThreadPool> all_cores;
  ThreadPool* convert = pool_.get();
  if (int(std::thread::hardware_concurrency()) > pool_->size()) {
    all_cores = std::make_unique<ThreadPool>(0, /*spin_us=*/0);
    convert = all_cores.get();
  }
  const TensorSource src(*reader, dir.string(), *convert);
  layers_.resize(size_t(config_.num_hidden_layers));
  uint64_t bytes = 0;
  for (TensorSlot& slot : tensor_slots()) {
    if (slot.matrix) {
      KANANA_ASSIGN_OR_RETURN(*slot.matrix, stored ? src.stored(slot.name, slot.rows, slot.cols, fmt)
                                                   : src.matrix(slot.name, slot.rows, slot.cols, fmt));
      bytes += slot.matrix->bytes();
    } else {
      KANANA_ASSIGN_OR_RETURN(*slot.vector, src.vector(slot.name, slot.rows));
      bytes += slot.vector->size() * 4;
    }
  }
  stats_.weight_bytes = bytes;
  return Status::ok();
}

Result<std::optional<WeightFormat>> stored_weight_format(const fs::path& dir) {
  KANANA_ASSIGN_OR_RETURN(auto reader, st::CheckpointReader::open(dir));
  auto it = reader->metadata().find(st::kEngineWeightsKey);
  if (it == reader->metadata().end()) return std::optional<WeightFormat>();
  auto format = parse_weight_format(it->second);
  if (!format.is_ok()) return data_loss(dir.string() + ": unknown engine weight format '" + it->second + "' in the header");
  return std::optional<WeightFormat>(*format);
}

Result<std::unique_ptr<LlamaEngine>> load_engine_if_asked(const fs::path& dir, std::string_view weights, int threads) {
  EngineOptions eo;
  eo.threads = threads;
  if (!weights.empty()) {
    KANANA_ASSIGN_OR_RETURN(eo.weights, parse_weight_format(weights));
  } else {
    auto stored = stored_weight_format(dir);
    if (!stored.is_ok() || !stored->has_value()) return std::unique_ptr<LlamaEngine>();
    eo.weights = **stored;
  }
  return LlamaEngine::load(dir, eo);
}

Status LlamaEngine::save(const fs::path& out, bool overwrite) const {
  KANANA_RETURN_IF_ERROR(check_output_target(out, overwrite, "--out"));
  KANANA_RETURN_IF_ERROR(check_not_input(out, {dir_}, "--out"));
  KANANA_ASSIGN_OR_RETURN(auto staging, AtomicDirectory::create(out));
  const fs::path tmp = staging->path();
  // save() only reads the weights; tensor_slots() hands out the pointers load_tensors() fills.
  const std::vector<TensorSlot> list = const_cast<LlamaEngine*>(this)->tensor_slots();
  std::vector<st::TensorInfo> layout;
  for (const TensorSlot& s : list) {
    if (s.vector) {
      layout.push_back({.name = s.name, .dtype = st::DType::F32, .shape = {int64_t(s.vector->size())}});
      continue;
    }
    const QuantMatrix& m = *s.matrix;
    layout.push_back({.name = s.name, .dtype = st::DType::U8, .shape = {m.rows(), int64_t(m.row_stride_bytes())}});
    if (m.format() == WeightFormat::kInt8)
      layout.push_back({.name = s.name + ".scales", .dtype = st::DType::F32, .shape = {m.rows()}});
    if (m.format() == WeightFormat::kQ4)
      layout.push_back({.name = s.name + ".scales", .dtype = st::DType::F16, .shape = {m.rows(), m.blocks_per_row()}});
  }
  const std::map<std::string, std::string> metadata = {{"format", "kanana-engine"},
                                                       {st::kEngineWeightsKey, weight_format_name(options_.weights)}};
  KANANA_ASSIGN_OR_RETURN(auto writer, st::SafetensorsWriter::open(tmp / "model.safetensors", layout, metadata));
  for (const TensorSlot& s : list) {
    if (s.vector) {
      KANANA_RETURN_IF_ERROR(writer->write_bytes(
          s.name, {reinterpret_cast<const uint8_t*>(s.vector->data()), s.vector->size() * sizeof(float)}));
      continue;
    }
    const QuantMatrix& m = *s.matrix;
    KANANA_RETURN_IF_ERROR(writer->write_bytes(s.name, {m.row_data(0), size_t(m.rows()) * m.row_stride_bytes()}));
    if (m.scale_data()) KANANA_RETURN_IF_ERROR(writer->write_bytes(s.name + ".scales", {m.scale_data(), m.scale_bytes()}));
  }
  KANANA_RETURN_IF_ERROR(writer->commit());
  // Everything else of the source folder that describes the model: config, tokenizer,
  // generation config, chat template (not its weights, sharding index or optimizer state).
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || entry.path().extension() == ".safetensors" ||
        name.ends_with(".safetensors.index.json") || name.starts_with("."))
      continue;
    fs::copy_file(entry.path(), tmp / name, ec);
    if (ec) return unavailable(entry.path().string() + ": cannot copy it to " + tmp.string() + ": " + ec.message());
  }
  if (ec) return unavailable(dir_.string() + ": cannot list the folder: " + ec.message());
  return staging->commit();
}

void LlamaEngine::allocate_state() {
  const model::LlamaConfig& c = config_;
  const size_t S = size_t(options_.slots);
  batch_rows_ = std::max(options_.prefill_chunk, options_.slots);
  const size_t B = size_t(batch_rows_);
  positions_.assign(S, 0);
  row_slot_.assign(B, 0);
  row_pos_.assign(B, 0);
  step_ids_.assign(B, 0);
  const size_t cache = S * size_t(c.num_hidden_layers) * size_t(c.kv_width()) * size_t(context_);
  k_cache_.assign(cache, 0.f);
  v_cache_.assign(cache, 0.f);
  x_.assign(B * size_t(c.hidden_size), 0.f);
  h_.assign(B * size_t(c.hidden_size), 0.f);
  q_.assign(B * size_t(c.q_width()), 0.f);
  k_.assign(B * size_t(c.kv_width()), 0.f);
  v_.assign(B * size_t(c.kv_width()), 0.f);
  att_.assign(B * size_t(c.q_width()), 0.f);
  gate_.assign(B * size_t(c.intermediate_size), 0.f);
  up_.assign(B * size_t(c.intermediate_size), 0.f);
  scores_.assign(size_t(c.num_attention_heads) * size_t(context_), 0.f);
  logits_.assign(size_t(c.vocab_size), 0.f);
  if (S > 1) {
    head_in_.assign(S * size_t(c.hidden_size), 0.f);
    step_which_.assign(S, 0);
    batch_logits_.assign(S * size_t(c.vocab_size), 0.f);
  }
  stats_.kv_cache_bytes = 2 * cache * 4;
  stats_.scratch_bytes = 4 * (x_.size() + h_.size() + q_.size() + k_.size() + v_.size() + att_.size() +
                              gate_.size() + up_.size() + scores_.size() + logits_.size() + rope_cos_.size() +
                              rope_sin_.size() + head_in_.size() + batch_logits_.size());
}

Status LlamaEngine::check_tokens(std::span<const int32_t> tokens, int64_t slot, int64_t* total) const {
  const int64_t n = int64_t(tokens.size());
  if (n == 0) return invalid_argument("engine: slot " + std::to_string(slot) + " has no tokens to run");
  const int64_t position = positions_[size_t(slot)];
  if (position + n > context_)
    return out_of_range("engine: " + std::to_string(position) + " cached + " + std::to_string(n) +
                        " new tokens exceed the context of " + std::to_string(context_) + " positions");
  for (int64_t i = 0; i < n; ++i)
    if (tokens[size_t(i)] < 0 || tokens[size_t(i)] >= config_.vocab_size)
      return invalid_argument("engine: token " + std::to_string(i) + " has id " + std::to_string(tokens[size_t(i)]) +
                              ", outside the vocabulary of " + std::to_string(config_.vocab_size));
  *total += n;
  return Status::ok();
}

Result<std::span<const float>> LlamaEngine::forward(std::span<const int32_t> tokens, float* all_logits) {
  if (tokens.empty()) return invalid_argument("engine: forward() needs at least one token");
  const int64_t n = int64_t(tokens.size());
  int64_t total = 0;
  KANANA_RETURN_IF_ERROR(check_tokens(tokens, 0, &total));
  const model::LlamaConfig& c = config_;
  const int64_t H = c.hidden_size;
  const QuantMatrix& head = c.tie_word_embeddings ? embed_ : lm_head_;
  for (int64_t done = 0; done < n; done += options_.prefill_chunk) {
    const int64_t m = std::min(options_.prefill_chunk, n - done);
    for (int64_t r = 0; r < m; ++r) {
      row_slot_[size_t(r)] = 0;
      row_pos_[size_t(r)] = positions_[0] + r;
    }
    run_rows(tokens.data() + done, m);
    float* chunk_logits = all_logits ? all_logits + done * c.vocab_size : nullptr;
    if (chunk_logits != nullptr && m > 1) {
      matmul(head, h_.data(), m, chunk_logits, pool_.get());
      std::memcpy(logits_.data(), chunk_logits + (m - 1) * c.vocab_size, size_t(c.vocab_size) * 4);
    } else if (chunk_logits != nullptr || done + m == n) {  // only the last row's logits are returned
      matvec(head, h_.data() + (m - 1) * H, logits_.data(), pool_.get());
      if (chunk_logits != nullptr) std::memcpy(chunk_logits, logits_.data(), size_t(c.vocab_size) * 4);
    }
    positions_[0] += m;
  }
  return std::span<const float>(logits_);
}

Result<std::span<const float>> LlamaEngine::step(std::span<const SlotTokens> entries) {
  if (entries.empty()) return invalid_argument("engine: step() needs at least one sequence");
  const model::LlamaConfig& c = config_;
  const int64_t H = c.hidden_size, S = slots();
  int64_t total = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const SlotTokens& e = entries[i];
    if (e.slot < 0 || e.slot >= S)
      return invalid_argument("engine: slot " + std::to_string(e.slot) + " is outside 0.." + std::to_string(S - 1));
    for (size_t j = 0; j < i; ++j)
      if (entries[j].slot == e.slot)
        return invalid_argument("engine: slot " + std::to_string(e.slot) + " appears twice in one step");
    KANANA_RETURN_IF_ERROR(check_tokens(e.tokens, e.slot, &total));
  }
  if (total > batch_rows_)
    return invalid_argument("engine: a step of " + std::to_string(total) + " tokens exceeds the " +
                            std::to_string(batch_rows_) + " rows the engine was sized for");
  // Rows: every entry's tokens in order.
  int64_t r = 0;
  for (const SlotTokens& e : entries)
    for (size_t i = 0; i < e.tokens.size(); ++i, ++r) {
      step_ids_[size_t(r)] = e.tokens[i];
      row_slot_[size_t(r)] = e.slot;
      row_pos_[size_t(r)] = positions_[size_t(e.slot)] + int64_t(i);
    }
  run_rows(step_ids_.data(), total);
  for (const SlotTokens& e : entries) positions_[size_t(e.slot)] += int64_t(e.tokens.size());

  // The head for the entries that want logits, in one pass over its weights.
  const QuantMatrix& head = c.tie_word_embeddings ? embed_ : lm_head_;
  const int64_t V = c.vocab_size;
  if (S == 1) {  // one entry
    if (entries[0].logits) matvec(head, h_.data() + (total - 1) * H, logits_.data(), pool_.get());
    return std::span<const float>(logits_);
  }
  int64_t wanted = 0, end = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    end += int64_t(entries[i].tokens.size());
    if (!entries[i].logits) continue;
    std::memcpy(head_in_.data() + wanted * H, h_.data() + (end - 1) * H, size_t(H) * 4);
    step_which_[size_t(wanted++)] = int64_t(i);
  }
  if (wanted > 0) matmul(head, head_in_.data(), wanted, batch_logits_.data(), pool_.get());
  // Row k of the product belongs to entry step_which_[k] >= k: move from the last one down.
  for (int64_t k = wanted - 1; k >= 0; --k)
    if (const int64_t to = step_which_[size_t(k)]; to != k)
      std::memcpy(batch_logits_.data() + to * V, batch_logits_.data() + k * V, size_t(V) * 4);
  return std::span<const float>(batch_logits_.data(), entries.size() * size_t(V));
}

// Row r of the pass is slot row_slot_[r] at position row_pos_[r].
void LlamaEngine::run_rows(const int32_t* tokens, int64_t n) {
  const model::LlamaConfig& c = config_;
  const int64_t H = c.hidden_size, Q = c.q_width(), KV = c.kv_width(), I = c.intermediate_size;
  const int64_t hd = c.head_dim, half = hd / 2;
  ThreadPool* pool = pool_.get();
  auto linear = [&](const QuantMatrix& w, const float* in, float* out) {
    if (n == 1) matvec(w, in, out, pool);
    else matmul(w, in, n, out, pool);
  };
  for (int64_t r = 0; r < n; ++r) embed_.dequantize_row(tokens[r], x_.data() + r * H);

  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const Layer& L = layers_[size_t(l)];
    for (int64_t r = 0; r < n; ++r) rms_norm(x_.data() + r * H, L.attn_norm.data(), H, c.rms_norm_eps, h_.data() + r * H);
    linear(L.q, h_.data(), q_.data());
    linear(L.k, h_.data(), k_.data());
    linear(L.v, h_.data(), v_.data());
    add_bias(q_.data(), L.q_bias, n, Q);
    add_bias(k_.data(), L.k_bias, n, KV);
    add_bias(v_.data(), L.v_bias, n, KV);
    // RoPE (rotate_half convention) on q and k, then k and v into the row's slot of the cache.
    for (int64_t r = 0; r < n; ++r) {
      const int64_t pos = row_pos_[size_t(r)];
      const float* cs = rope_cos_.data() + pos * half;
      const float* sn = rope_sin_.data() + pos * half;
      auto rotate = [&](float* v) {
        for (int64_t i = 0; i < half; ++i) {
          const float a = v[i], b = v[i + half];
          v[i] = a * cs[i] - b * sn[i];
          v[i + half] = b * cs[i] + a * sn[i];
        }
      };
      for (int64_t h = 0; h < c.num_attention_heads; ++h) rotate(q_.data() + r * Q + h * hd);
      const size_t slot_layer = size_t(row_slot_[size_t(r)]) * size_t(c.num_hidden_layers) + size_t(l);
      for (int64_t g = 0; g < c.num_key_value_heads; ++g) {
        float* kr = k_.data() + r * KV + g * hd;
        rotate(kr);
        const size_t at = ((slot_layer * c.num_key_value_heads + g) * context_ + pos) * hd;
        std::memcpy(k_cache_.data() + at, kr, hd * 4);
        std::memcpy(v_cache_.data() + at, v_.data() + r * KV + g * hd, hd * 4);
      }
    }
    attention(l, n);
    linear(L.o, att_.data(), h_.data());
    add_bias(h_.data(), L.o_bias, n, H);
    for (int64_t i = 0; i < n * H; ++i) x_[size_t(i)] += h_[size_t(i)];

    for (int64_t r = 0; r < n; ++r) rms_norm(x_.data() + r * H, L.mlp_norm.data(), H, c.rms_norm_eps, h_.data() + r * H);
    linear(L.gate, h_.data(), gate_.data());
    linear(L.up, h_.data(), up_.data());
    add_bias(gate_.data(), L.gate_bias, n, I);
    add_bias(up_.data(), L.up_bias, n, I);
    for (int64_t i = 0; i < n * I; ++i) {
      const float g = gate_[size_t(i)];
      gate_[size_t(i)] = g / (1.0f + std::exp(-g)) * up_[size_t(i)];
    }
    linear(L.down, gate_.data(), h_.data());
    add_bias(h_.data(), L.down_bias, n, H);
    for (int64_t i = 0; i < n * H; ++i) x_[size_t(i)] += h_[size_t(i)];
  }

  for (int64_t r = 0; r < n; ++r) rms_norm(x_.data() + r * H, final_norm_.data(), H, c.rms_norm_eps, h_.data() + r * H);
}

// Causal GQA attention of the pass's n query rows, each over its slot's cache, heads split over
// the pool: att[r, h] = softmax(q[r, h] . K[slot, g]^T * head_dim^-0.5) V[slot, g] over
// positions 0 .. row_pos_[r].
void LlamaEngine::attention(int64_t l, int64_t n) {
  const model::LlamaConfig& c = config_;
  const int64_t hd = c.head_dim, Q = c.q_width(), groups = c.kv_groups();
  const float scale = float(1.0 / std::sqrt(double(hd)));
  pool_->parallel_for(0, c.num_attention_heads, [&](int64_t h0, int64_t h1) {
    for (int64_t h = h0; h < h1; ++h) {
      const int64_t g = h / groups;
      float* s = scores_.data() + h * context_;
      for (int64_t r = 0; r < n; ++r) {
        const size_t slot_layer = size_t(row_slot_[size_t(r)]) * size_t(c.num_hidden_layers) + size_t(l);
        const size_t base = (slot_layer * c.num_key_value_heads + g) * context_ * hd;
        const float* K = k_cache_.data() + base;
        const float* V = v_cache_.data() + base;
        const float* q = q_.data() + r * Q + h * hd;
        const int64_t len = row_pos_[size_t(r)] + 1;
        float m = -INFINITY;
        for (int64_t t = 0; t < len; ++t) {
          const float* k = K + t * hd;
          s[t] = dot(q, k, hd) * scale;
          m = std::max(m, s[t]);
        }
        float sum = 0.f;
        for (int64_t t = 0; t < len; ++t) {
          s[t] = std::exp(s[t] - m);
          sum += s[t];
        }
        const float inv = 1.0f / sum;
        float* out = att_.data() + r * Q + h * hd;
        std::fill(out, out + hd, 0.f);
        for (int64_t t = 0; t < len; ++t) {
          const float p = s[t] * inv;
          const float* v = V + t * hd;
          for (int64_t i = 0; i < hd; ++i) out[i] += p * v[i];
        }
      }
    }
  }, /*align=*/1);
}

}  // namespace kanana::infer
