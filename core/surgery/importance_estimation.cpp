// Streaming importance estimation over a calibration set (see importance_estimation.h).
#include "base/hash.h"
#include "surgery/importance_estimation.h"

#include <cmath>
#include <cstdio>

#include "data/reader.h"
#include "model/activation_capture.h"
#include "model/linear.h"
#include "shards/shard.h"
#include "tokenizer/tokenizer.h"

namespace kanana::surgery {
namespace {

namespace fs = std::filesystem;

std::string hex(uint64_t v) { return "fnv1a64:" + hex64(v); }

// ----- calibration sources -----

class PackCalibration final : public CalibrationSource {
 public:
  static Result<std::unique_ptr<CalibrationSource>> open(const CalibrationSpec& spec) {
    const auto split = spec.pack_validation_split ? shards::Split::kValidation : shards::Split::kTrain;
    KANANA_ASSIGN_OR_RETURN(auto set, shards::ShardSet::open(spec.pack, split));
    if (spec.seq_len < 1) return invalid_argument("calibration seq_len must be at least 1");
    if (spec.samples < 1) return invalid_argument("calibration samples must be at least 1");
    const uint64_t tokens = set->num_tokens();
    const uint64_t windows = tokens > uint64_t(spec.seq_len) ? (tokens - 1) / uint64_t(spec.seq_len) : 0;
    if (windows == 0)
      return invalid_argument("calibration pack " + spec.pack.string() + " has " + std::to_string(tokens) + " tokens in its " +
                              shards::split_name(split) + " split; one row needs seq_len + 1 = " +
                              std::to_string(spec.seq_len + 1));
    auto p = std::unique_ptr<PackCalibration>(new PackCalibration());
    p->set_ = set;
    p->seq_len_ = spec.seq_len;
    p->windows_ = windows;
    p->rows_ = std::min<int64_t>(spec.samples, int64_t(windows));
    p->description_ = spec.pack.string() + " (" + shards::split_name(split) + ", " + std::to_string(p->rows_) + " × " +
                      std::to_string(spec.seq_len) + " tokens)";
    return std::unique_ptr<CalibrationSource>(std::move(p));
  }

  Result<bool> next(int64_t max_rows, CalibrationBatch* batch) override {
    const int64_t n = std::min(max_rows, rows_ - next_);
    if (n <= 0) return false;
    std::vector<int32_t> buf(size_t(seq_len_ + 1));
    auto ids = torch::empty({n, seq_len_ + 1}, torch::kInt64);  // (n, seq + 1)
    auto acc = ids.accessor<int64_t, 2>();
    for (int64_t r = 0; r < n; ++r) {
      // Evenly spaced windows cover the whole split, not just its first documents.
      const uint64_t w = uint64_t(next_ + r) * windows_ / uint64_t(rows_);
      KANANA_RETURN_IF_ERROR(set_->copy_tokens(w * uint64_t(seq_len_), uint64_t(seq_len_ + 1), buf.data()));
      for (int64_t i = 0; i <= seq_len_; ++i) acc[r][i] = buf[size_t(i)];
    }
    next_ += n;
    batch->ids = ids;
    batch->mask = torch::Tensor();
    return true;
  }
  int64_t total_rows() const override { return rows_; }
  std::string description() const override { return description_; }
  Status rewind() override {
    next_ = 0;
    return Status::ok();
  }

 private:
  std::shared_ptr<const shards::ShardSet> set_;
  int64_t seq_len_ = 0, rows_ = 0, next_ = 0;
  uint64_t windows_ = 0;
  std::string description_;
};

class TextCalibration final : public CalibrationSource {
 public:
  TextCalibration(std::vector<fs::path> inputs, std::shared_ptr<const tok::Tokenizer> tokenizer, int64_t samples,
                  int64_t seq_len, std::string text_field)
      : inputs_(std::move(inputs)), tok_(std::move(tokenizer)), samples_(samples), seq_len_(seq_len),
        text_field_(std::move(text_field)) {}

  Status rewind() override {
    data::ReaderOptions o;
    o.text_field = text_field_;
    o.text_unit = data::TextUnit::kParagraph;
    KANANA_ASSIGN_OR_RETURN(reader_, data::CorpusReader::open(inputs_, o));
    done_ = 0;
    return Status::ok();
  }

  Result<bool> next(int64_t max_rows, CalibrationBatch* batch) override {
    std::vector<std::vector<int32_t>> rows;
    tok::EncodeOptions eo;
    eo.add_bos = tok_->bos_id().has_value();
    while (int64_t(rows.size()) < max_rows && done_ < samples_) {
      data::Document doc;
      std::vector<data::BadLine> bad;
      KANANA_ASSIGN_OR_RETURN(bool more, reader_->next_document(&doc, &bad));
      if (!bad.empty())
        return invalid_argument(bad[0].file + ":" + std::to_string(bad[0].line) + ": " + bad[0].reason);
      if (!more) break;
      auto ids = tok_->encode(doc.text, eo);
      if (ids.size() < 2) continue;  // nothing to predict
      if (int64_t(ids.size()) > seq_len_ + 1) ids.resize(size_t(seq_len_ + 1));
      for (int32_t id : ids)
        if (id < 0) return data_loss("the tokenizer produced a negative id for a document of " + reader_->files()[0].string());
      rows.push_back(std::move(ids));
      ++done_;
    }
    if (rows.empty()) return false;
    size_t width = 0;
    for (const auto& r : rows) width = std::max(width, r.size());
    auto ids = torch::zeros({int64_t(rows.size()), int64_t(width)}, torch::kInt64);   // (rows, width)
    auto mask = torch::zeros({int64_t(rows.size()), int64_t(width)}, torch::kInt64);  // 1 = real token
    auto ia = ids.accessor<int64_t, 2>();
    auto ma = mask.accessor<int64_t, 2>();
    for (size_t r = 0; r < rows.size(); ++r)
      for (size_t i = 0; i < rows[r].size(); ++i) {
        ia[int64_t(r)][int64_t(i)] = rows[r][i];
        ma[int64_t(r)][int64_t(i)] = 1;
      }
    batch->ids = ids;
    batch->mask = mask;
    return true;
  }
  int64_t total_rows() const override { return samples_; }
  std::string description() const override {
    std::string files;
    for (const auto& f : inputs_) files += (files.empty() ? "" : ", ") + f.filename().string();
    return files + " (up to " + std::to_string(samples_) + " documents × " + std::to_string(seq_len_) + " tokens, " +
           tok_->kind() + " tokenizer)";
  }

 private:
  std::vector<fs::path> inputs_;
  std::shared_ptr<const tok::Tokenizer> tok_;
  int64_t samples_, seq_len_;
  std::string text_field_;
  std::unique_ptr<data::CorpusReader> reader_;
  int64_t done_ = 0;
};

class TensorCalibration final : public CalibrationSource {
 public:
  TensorCalibration(torch::Tensor ids, std::string description) : ids_(std::move(ids)), description_(std::move(description)) {}
  Result<bool> next(int64_t max_rows, CalibrationBatch* batch) override {
    const int64_t n = std::min<int64_t>(max_rows, ids_.size(0) - next_);
    if (n <= 0) return false;
    batch->ids = ids_.narrow(0, next_, n).to(torch::kInt64);
    batch->mask = torch::Tensor();
    next_ += n;
    return true;
  }
  int64_t total_rows() const override { return ids_.size(0); }
  std::string description() const override { return description_; }
  Status rewind() override {
    next_ = 0;
    return Status::ok();
  }

 private:
  torch::Tensor ids_;
  std::string description_;
  int64_t next_ = 0;
};

// ----- statistics -----

// Running batch aggregation of per-sample vectors, one row per slot (layer or norm).
class SlotAccumulator {
 public:
  SlotAccumulator() = default;
  SlotAccumulator(int64_t slots, int64_t width, Aggregation batch, torch::Device device)
      : acc_(torch::zeros({slots, width}, torch::TensorOptions().dtype(torch::kFloat64).device(device))),
        batch_(batch) {}
  // per_sample (rows, width), already reduced over the sequence.
  void add(int64_t slot, const torch::Tensor& per_sample) {
    auto r = per_sample.to(torch::kFloat64);
    auto row = acc_[slot];
    switch (batch_) {
      case Aggregation::kL2: row.add_(r.square().sum(0)); break;
      case Aggregation::kMean:
      case Aggregation::kSum: row.add_(r.abs().sum(0)); break;
      case Aggregation::kMax: row.copy_(torch::maximum(row, r.abs().amax(0))); break;
    }
  }
  // (slots, width) final scores after `rows` samples.
  torch::Tensor finish(int64_t rows) const {
    switch (batch_) {
      case Aggregation::kL2: return acc_.sqrt();
      case Aggregation::kMean: return acc_ / double(std::max<int64_t>(rows, 1));
      default: return acc_.clone();
    }
  }

 private:
  torch::Tensor acc_;
  Aggregation batch_ = Aggregation::kL2;
};

class ImportanceObserver final : public model::ActivationObserver {
 public:
  ImportanceObserver(const model::LlamaConfig& c, const ImportanceOptions& o, torch::Device device)
      : options_(o),
        layers_(c.num_hidden_layers),
        heads_(c.num_hidden_layers, c.num_attention_heads, o.batch, device),
        neurons_(c.num_hidden_layers, c.intermediate_size, o.batch, device),
        channels_(2 * c.num_hidden_layers + 1, c.hidden_size, o.batch, device) {}

  // For the next forward: real-token mask (rows, seq) float, or undefined when all are real.
  void set_batch(torch::Tensor valid, int64_t seq) {
    valid_ = valid.defined() ? valid.unsqueeze(-1) : torch::Tensor();  // (rows, seq, 1)
    lengths_ = valid.defined() ? valid.sum(1, /*keepdim=*/true).clamp_min(1.0) : torch::Tensor();  // (rows, 1)
    seq_ = seq;
  }

  void attention(int64_t layer, const torch::Tensor& x, const torch::Tensor& heads) override {
    heads_.add(layer, reduce_sequence(heads.to(torch::kFloat32).norm(2, -1)));  // (rows, seq, heads)
    add_channels(2 * layer, x);
  }
  void mlp(int64_t layer, const torch::Tensor& x, const torch::Tensor& inter) override {
    neurons_.add(layer, reduce_sequence(inter.to(torch::kFloat32)));  // (rows, seq, intermediate)
    add_channels(2 * layer + 1, x);
  }
  void final_norm(const torch::Tensor& x) { add_channels(2 * layers_, x); }

  SlotAccumulator& heads() { return heads_; }
  SlotAccumulator& neurons() { return neurons_; }
  SlotAccumulator& channels() { return channels_; }

 private:
  void add_channels(int64_t slot, const torch::Tensor& x) {
    if (!options_.sum_channels_over_layers && slot != 0) return;
    channels_.add(slot, reduce_sequence(x.to(torch::kFloat32)));
  }
  // v (rows, seq, width) fp32 -> (rows, width) over real tokens.
  torch::Tensor reduce_sequence(const torch::Tensor& v) const {
    auto m = valid_.defined() ? v * valid_ : v;
    switch (options_.sequence) {
      case Aggregation::kMean: return valid_.defined() ? m.sum(1) / lengths_ : m.mean(1);
      case Aggregation::kSum: return m.sum(1);
      case Aggregation::kL2: return m.square().sum(1).sqrt();
      case Aggregation::kMax: return m.abs().amax(1);
    }
    return m.mean(1);
  }

  ImportanceOptions options_;
  int64_t layers_;
  SlotAccumulator heads_, neurons_, channels_;
  torch::Tensor valid_, lengths_;
  int64_t seq_ = 0;
};

// Sum of next-token cross-entropies over the counted positions, with the head applied in
// row chunks so (rows × vocab) logits never exist for a whole batch at once.
double ce_sum(const torch::Tensor& hidden, const torch::Tensor& head, const torch::Tensor& targets,
              const torch::Tensor& counted) {
  auto h = hidden.reshape({-1, hidden.size(-1)});  // (rows·seq, hidden)
  auto t = targets.reshape({-1});
  if (counted.defined()) {
    auto idx = counted.reshape({-1}).nonzero().squeeze(1);
    h = h.index_select(0, idx);
    t = t.index_select(0, idx);
  }
  const int64_t n = h.size(0);
  const int64_t chunk = std::max<int64_t>(1, (int64_t(1) << 24) / std::max<int64_t>(head.size(0), 1));
  double total = 0;
  for (int64_t b = 0; b < n; b += chunk) {
    const int64_t len = std::min(chunk, n - b);
    auto logits = model::project(h.narrow(0, b, len), head).to(torch::kFloat32);  // (len, vocab)
    total += torch::nn::functional::cross_entropy(
                 logits, t.narrow(0, b, len), torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                 .item<double>();
  }
  return total;
}

std::vector<double> to_vector(const torch::Tensor& t) {
  auto c = t.to(torch::kCPU, torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

std::vector<std::vector<double>> to_matrix(const torch::Tensor& t) {
  std::vector<std::vector<double>> m;
  for (int64_t i = 0; i < t.size(0); ++i) m.push_back(to_vector(t[i]));
  return m;
}

}  // namespace

Result<std::unique_ptr<CalibrationSource>> open_text_calibration(const std::vector<fs::path>& inputs,
                                                                 std::shared_ptr<const tok::Tokenizer> tokenizer,
                                                                 int64_t samples, int64_t seq_len,
                                                                 const std::string& text_field) {
  if (inputs.empty()) return invalid_argument("no calibration text files given");
  if (!tokenizer) return invalid_argument("calibration text needs a tokenizer");
  if (seq_len < 1) return invalid_argument("calibration seq_len must be at least 1");
  if (samples < 1) return invalid_argument("calibration samples must be at least 1");
  auto src = std::make_unique<TextCalibration>(inputs, std::move(tokenizer), samples, seq_len, text_field);
  KANANA_RETURN_IF_ERROR(src->rewind());
  return std::unique_ptr<CalibrationSource>(std::move(src));
}

Result<std::unique_ptr<CalibrationSource>> open_calibration(const CalibrationSpec& spec) {
  const bool has_pack = !spec.pack.empty(), has_text = !spec.text.empty();
  if (has_pack == has_text)
    return invalid_argument("calibration data: give either a token pack folder or text files with a tokenizer");
  if (has_pack) return PackCalibration::open(spec);
  if (spec.tokenizer.empty()) return invalid_argument("calibration text needs a tokenizer (tokenizer.json / .model)");
  KANANA_ASSIGN_OR_RETURN(auto tok, tok::load_tokenizer(spec.tokenizer));
  return open_text_calibration(spec.text, tok, spec.samples, spec.seq_len, spec.text_field);
}

std::unique_ptr<CalibrationSource> tensor_calibration(torch::Tensor ids, std::string description) {
  return std::make_unique<TensorCalibration>(std::move(ids), std::move(description));
}

ModelFingerprint model_fingerprint(model::LlamaForCausalLM& m) {
  torch::NoGradGuard no_grad;
  Json cfg = model::llama_config_to_json(m->config());
  cfg.erase("torch_dtype");
  cfg.erase("use_cache");
  std::string structure = cfg.dump();
  uint64_t weights = kFingerprintSeed;
  for (const auto& item : m->named_parameters(/*recurse=*/true)) {
    const auto& p = item.value();
    structure += "\n" + item.key() + ":";
    for (int64_t d : p.sizes()) structure += std::to_string(d) + ",";
    // A fixed strided sample: cheap on 2B-parameter models, and any retraining moves it.
    auto flat = p.detach().reshape({-1});
    const int64_t n = flat.numel(), k = std::min<int64_t>(n, 1024);
    if (k == 0) continue;
    auto idx = torch::arange(k, torch::TensorOptions().dtype(torch::kInt64).device(flat.device())) * (n / k);
    auto sample = flat.index_select(0, idx).to(torch::kCPU, torch::kFloat32).contiguous();
    weights = fnv1a64(item.key().data(), item.key().size(), weights);
    weights = fnv1a64(sample.data_ptr<float>(), size_t(k) * sizeof(float), weights);
  }
  return {hex(fnv1a64(structure.data(), structure.size(), kFingerprintSeed)), hex(weights)};
}

Result<ImportanceScores> estimate_importance(model::LlamaForCausalLM& model, CalibrationSource& source,
                                             const ImportanceOptions& options, Progress* progress,
                                             const CancelToken* cancel) {
  const model::LlamaConfig& config = model->config();
  if (config.bidirectional)
    return invalid_argument("importance estimation needs a causal language model; this one is bidirectional (" +
                            config.model_type + ")");
  if (options.batch_size < 1) return invalid_argument("importance batch_size must be at least 1");
  ImportanceScores scores;
  scores.config = config;
  scores.options = options;
  scores.calibration = source.description();
  scores.model = model_fingerprint(model);
  const int64_t L = config.num_hidden_layers;
  const torch::Device device = model->device();
  try {
    torch::NoGradGuard no_grad;
    const bool was_training = model->is_training();
    model->eval();
    ImportanceObserver observer(config, options, device);
    auto fopt = torch::TensorOptions().dtype(torch::kFloat64).device(device);
    auto cos_sum = torch::zeros({L}, fopt);
    std::vector<double> layer_ce(size_t(L), 0.0);
    double base_ce = 0, counted = 0;
    int64_t rows_done = 0, real_tokens = 0;
    auto& inner = model->model;
    const auto head = model->output_embedding_weight();

    KANANA_RETURN_IF_ERROR(source.rewind());
    CalibrationBatch batch;
    while (true) {
      if (cancel && cancel->is_cancelled()) return cancelled("importance estimation cancelled");
      KANANA_ASSIGN_OR_RETURN(bool more, source.next(options.batch_size, &batch));
      if (!more) break;
      const int64_t rows = batch.ids.size(0), seq = batch.ids.size(1) - 1;
      if (seq < 1) return invalid_argument("calibration rows need at least 2 tokens");
      const int64_t max_id = batch.ids.max().item<int64_t>();
      if (max_id >= config.vocab_size || batch.ids.min().item<int64_t>() < 0)
        return invalid_argument("calibration token id " + std::to_string(max_id) + " is outside the model's vocabulary (" +
                                std::to_string(config.vocab_size) + " tokens): " + source.description() +
                                " was made with another tokenizer");
      auto ids = batch.ids.to(device);
      auto input = ids.narrow(1, 0, seq);                 // (rows, seq)
      auto targets = ids.narrow(1, 1, seq);               // (rows, seq)
      torch::Tensor in_mask, valid, target_mask;          // (rows, seq)
      if (batch.mask.defined()) {
        auto mask = batch.mask.to(device);
        in_mask = mask.narrow(1, 0, seq);
        target_mask = in_mask.logical_and(mask.narrow(1, 1, seq));
        // Statistics over the positions that have a next token, as in an unpadded row (whose
        // last token is only a target): batching and padding then change no score.
        valid = target_mask.to(torch::kFloat32);
      }
      real_tokens += target_mask.defined() ? target_mask.sum().item<int64_t>() : rows * seq;

      torch::Tensor position_ids;
      if (in_mask.defined()) {
        position_ids = model::position_ids_from_mask(in_mask, seq);
      } else {
        position_ids = torch::arange(seq, torch::TensorOptions().dtype(torch::kInt64).device(device))
                           .unsqueeze(0).expand({rows, seq});
      }
      auto allowed = model::build_attention_mask(in_mask, rows, seq, 0, /*causal=*/true, device);
      auto h = inner->embed_tokens->forward(input);  // (rows, seq, hidden)
      auto [cos, sin] = inner->rotary().cos_sin(position_ids, h.scalar_type());
      observer.set_batch(valid, seq);
      std::vector<torch::Tensor> layer_inputs;       // input of every layer (for the dropped-layer loss)
      {
        model::ActivationCapture capture(&observer);
        for (int64_t l = 0; l < L; ++l) {
          auto* layer = inner->layers[size_t(l)]->as<model::LlamaDecoderLayer>();
          if (options.layer_loss) layer_inputs.push_back(h);
          auto out = layer->forward(h, cos, sin, allowed, nullptr);
          // Block importance: 1 − cos(x_in, x_out) per real token.
          auto a = h.to(torch::kFloat32), b = out.to(torch::kFloat32);
          auto c = (a * b).sum(-1) / (a.norm(2, -1) * b.norm(2, -1) + 1e-8);  // (rows, seq)
          cos_sum[l] += (valid.defined() ? (c * valid).sum() : c.sum()).to(torch::kFloat64);
          h = out;
        }
        auto final_h = inner->norm->forward(h);
        observer.final_norm(final_h);
        base_ce += ce_sum(final_h, head, targets, target_mask);
      }
      counted += target_mask.defined() ? double(target_mask.sum().item<int64_t>()) : double(rows * seq);
      if (options.layer_loss) {
        for (int64_t drop = 0; drop < L; ++drop) {
          auto x = layer_inputs[size_t(drop)];
          for (int64_t l = drop + 1; l < L; ++l)
            x = inner->layers[size_t(l)]->as<model::LlamaDecoderLayer>()->forward(x, cos, sin, allowed, nullptr);
          layer_ce[size_t(drop)] += ce_sum(inner->norm->forward(x), head, targets, target_mask);
        }
      }
      rows_done += rows;
      if (progress) {
        char note[64];
        std::snprintf(note, sizeof note, "loss %.4f", counted > 0 ? base_ce / counted : 0.0);
        progress->update(rows_done, source.total_rows(), note);
      }
    }
    if (was_training) model->train();
    if (rows_done == 0) return invalid_argument("the calibration set " + source.description() + " yielded no rows");

    scores.samples = rows_done;
    scores.tokens = real_tokens;
    scores.base_loss = counted > 0 ? base_ce / counted : 0.0;
    scores.heads = to_matrix(observer.heads().finish(rows_done));
    scores.neurons = to_matrix(observer.neurons().finish(rows_done));
    scores.channels = to_vector(observer.channels().finish(rows_done).sum(0));
    scores.block_importance = to_vector(1.0 - cos_sum / double(std::max<int64_t>(real_tokens, 1)));
    if (options.layer_loss)
      for (double ce : layer_ce) scores.layer_loss.push_back(counted > 0 ? ce / counted : 0.0);
    if (progress) progress->finish("base loss " + std::to_string(scores.base_loss));
  } catch (const std::exception& e) {
    return internal_error(std::string("importance estimation failed: ") + e.what());
  }
  KANANA_RETURN_IF_ERROR(scores.validate("importance scores"));
  return scores;
}

}  // namespace kanana::surgery
