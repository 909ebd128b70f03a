// load_embedder(): the Torch-free Embedder interface over the Kanana2Vec model.
#include "base/hash.h"
#include "embed/embedder.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <numeric>

#include "base/files.h"
#include "base/strings.h"
#include "embed/embedding_model.h"

namespace kanana::embed {
namespace {

namespace fs = std::filesystem;

// config.json + the tokenizer's fingerprint + every weight file's size and first MiB (its
// header and the start of the data): cheap, and differs between any two trained checkpoints.
Result<std::string> model_fingerprint(const fs::path& dir, const tok::Tokenizer& tokenizer) {
  KANANA_ASSIGN_OR_RETURN(std::string config, read_file(dir / "config.json"));
  uint64_t h = fnv1a64(config);
  h = fnv1a64(tokenizer.fingerprint(), h);
  std::vector<fs::path> weights;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".safetensors") weights.push_back(e.path());
  std::sort(weights.begin(), weights.end());
  for (const auto& w : weights) {
    std::ifstream in(w, std::ios::binary);
    std::string head(1 << 20, '\0');
    in.read(head.data(), std::streamsize(head.size()));
    head.resize(size_t(in.gcount()));
    h = fnv1a64(w.filename().string() + ":" + std::to_string(fs::file_size(w, ec)), h);
    h = fnv1a64(head, h);
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return std::string(buf);
}

class KananaEmbedder final : public Embedder {
 public:
  KananaEmbedder(fs::path dir, LoadedEmbeddingModel model, std::shared_ptr<const tok::Tokenizer> tokenizer,
                 EmbedderOptions options, std::string fingerprint)
      : dir_(std::move(dir)),
        model_(std::move(model)),
        tokenizer_(std::move(tokenizer)),
        options_(std::move(options)),
        fingerprint_(std::move(fingerprint)),
        pad_(embedding_pad_id(*tokenizer_)) {}

  Result<EmbeddingMatrix> embed(const std::vector<std::string>& texts, std::string_view task, Progress* progress,
                                const CancelToken* cancel) override {
    const std::string instruction = format_instruction(task);
    std::vector<EmbedInput> inputs(texts.size());
    for (size_t i = 0; i < texts.size(); ++i) {
      auto in = tokenize_for_embedding(*tokenizer_, texts[i], instruction, options_.max_length);
      if (!in.is_ok()) return invalid_argument("text " + std::to_string(i) + ": " + in.status().message());
      inputs[i] = std::move(*in);
    }
    // Longest first, so batches hold similar lengths and the first batch shows the peak memory.
    std::vector<size_t> order(inputs.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return inputs[a].ids.size() > inputs[b].ids.size(); });
    EmbeddingMatrix out;
    out.rows = int64_t(texts.size());
    out.dim = dim();
    out.values.assign(size_t(out.rows * out.dim), 0.0f);
    const size_t bs = size_t(std::max<int64_t>(1, options_.batch_size));
    try {
      torch::NoGradGuard no_grad;
      for (size_t start = 0; start < order.size(); start += bs) {
        if (cancel && cancel->is_cancelled()) return cancelled();
        std::vector<const EmbedInput*> rows;
        for (size_t i = start; i < std::min(order.size(), start + bs); ++i) rows.push_back(&inputs[order[i]]);
        auto batch = make_embed_batch(rows, pad_, model_.model->device());
        auto v = embed_forward(model_.model, batch, options_.normalize).to(torch::kCPU, torch::kFloat32).contiguous();
        const float* src = v.data_ptr<float>();
        for (size_t r = 0; r < rows.size(); ++r) {
          std::copy(src + r * size_t(out.dim), src + (r + 1) * size_t(out.dim),
                    out.values.begin() + int64_t(order[start + r]) * out.dim);
        }
        if (progress) progress->update(int64_t(std::min(order.size(), start + bs)), out.rows);
      }
    } catch (const std::exception& e) {
      return internal_error("embedding with " + dir_.string() + ": " + e.what());
    }
    return out;
  }

  int64_t count_tokens(std::string_view text) const override {
    tok::EncodeOptions eo;
    eo.parse_special = false;
    return int64_t(tokenizer_->encode(text, eo).size());
  }
  int64_t dim() const override { return model_.config.hidden_size; }
  int64_t max_length() const override { return options_.max_length; }
  std::string fingerprint() const override { return fingerprint_; }
  const fs::path& model_dir() const override { return dir_; }
  const std::vector<std::string>& warnings() const override { return model_.warnings; }

 private:
  fs::path dir_;
  LoadedEmbeddingModel model_;
  std::shared_ptr<const tok::Tokenizer> tokenizer_;
  EmbedderOptions options_;
  std::string fingerprint_;
  int32_t pad_;
};

}  // namespace

Result<std::unique_ptr<Embedder>> load_embedder(const fs::path& model_dir, const EmbedderOptions& options) {
  if (options.max_length < 2) return invalid_argument("max_length must be at least 2 tokens");
  model::LoadOptions lo;
  KANANA_ASSIGN_OR_RETURN(lo.dtype, model::parse_dtype(options.dtype));
  // The config first: a causal LM is refused before anything else is loaded.
  KANANA_ASSIGN_OR_RETURN(auto config, model::read_llama_config(model_dir));
  if (!config.bidirectional) return load_embedding_model(model_dir, lo).status();
  KANANA_ASSIGN_OR_RETURN(auto tokenizer, load_model_tokenizer(model_dir, options.tokenizer));
  KANANA_ASSIGN_OR_RETURN(auto loaded, load_embedding_model(model_dir, lo));
  if (tokenizer->vocab_size() > loaded.config.vocab_size) {
    return invalid_argument(model_dir.string() + ": the tokenizer has " + std::to_string(tokenizer->vocab_size()) +
                            " tokens but the model's vocab_size is " + std::to_string(loaded.config.vocab_size));
  }
  KANANA_ASSIGN_OR_RETURN(std::string fp, model_fingerprint(model_dir, *tokenizer));
  return std::unique_ptr<Embedder>(
      new KananaEmbedder(model_dir, std::move(loaded), std::move(tokenizer), options, std::move(fp)));
}

}  // namespace kanana::embed
