// LlamaEngine: a Hugging Face Llama-layout checkpoint (config.json + model.safetensors or a
// sharded index) run on the CPU without LibTorch, the forward of core/model's LlamaForCausalLM
// (RMSNorm, RoPE incl. llama3/linear/yarn rope_scaling, GQA attention, SwiGLU MLP) with every
// linear layer, the embedding rows and the (tied) output head in one weight format (weights.h).
//
// Loading memory-maps the checkpoint and converts it tensor by tensor, rows in parallel on all
// cores, straight from the mapped bf16/f16/f32 bytes into the chosen format;
// each tensor's file pages are dropped once converted, so the peak is about the converted
// weights plus one tensor of file pages (never more than the bf16 file for int8/q4).
//
// Numerics: fp32 activations and accumulation; an fp32 KV cache preallocated for `context`
// positions, laid out (layer, kv_head, position, head_dim) so each head streams its keys.
// Prompts run in chunks of up to `prefill_chunk` rows through the matmul kernel (each weight
// block decoded once for 4 rows); decode runs one row through the matvec kernels; both split
// output rows (and attention heads) over the pool. All scratch is sized at load time: forward()
// allocates nothing.
//
// Threading contract: one caller at a time (the pool is not re-entrant).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "infer/thread_pool.h"
#include "infer/weights.h"
#include "model/config.h"

namespace kanana::infer {

struct EngineOptions {
  WeightFormat weights = WeightFormat::kQ4;  // every linear layer, the embeddings and the head
  int threads = 0;                           // compute threads; <= 0: all cores (loading uses all)
  int64_t context = 0;                       // KV cache positions; 0 = min(max_position_embeddings, 4096)
  int64_t prefill_chunk = 32;                // prompt rows per matmul pass (scratch grows with it)
};

// What loading measured; memory in bytes.
struct EngineLoadStats {
  double seconds = 0;             // open + convert every tensor
  uint64_t checkpoint_bytes = 0;  // the safetensors files
  uint64_t weight_bytes = 0;      // converted weights in memory (QuantMatrix::bytes + norms)
  uint64_t kv_cache_bytes = 0;
  uint64_t scratch_bytes = 0;
  uint64_t peak_resident_bytes = 0;  // VmHWM right after loading
};

// Engine checkpoints. save() writes the converted weights as they are in memory (the layouts of
// weights.h: each matrix as U8 rows "<name>" plus its scales "<name>.scales", F32 for int8 rows,
// F16 for q4 blocks; norms and biases F32), with the format under st::kEngineWeightsKey in the
// header, next to a copy of config.json and the tokenizer/generation files. Loading such a
// folder copies the bytes straight into place: no widening or quantizing, so a q4 2.1B model
// loads in about the time its 1.2 GB take to read instead of being quantized from bf16 again.
// The format such a folder stores; nullopt for an ordinary (f32/bf16/f16) checkpoint.
Result<std::optional<WeightFormat>> stored_weight_format(const std::filesystem::path& dir);

class LlamaEngine {
 public:
  // A folder written by save() loads in its stored format: `options.weights` must name that
  // format (an error says which), so use stored_weight_format() first when the caller has no
  // preference.
  static Result<std::unique_ptr<LlamaEngine>> load(const std::filesystem::path& dir,
                                                   const EngineOptions& options = {});
  ~LlamaEngine();
  LlamaEngine(const LlamaEngine&) = delete;
  LlamaEngine& operator=(const LlamaEngine&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  const model::LlamaConfig& config() const { return config_; }
  const EngineOptions& options() const { return options_; }
  const EngineLoadStats& load_stats() const { return stats_; }
  int threads() const { return pool_->size(); }
  int64_t context() const { return context_; }
  int64_t position() const { return position_; }  // tokens in the KV cache
  void reset() { position_ = 0; }                  // forget the cache (the memory stays)

  // Writes the weights in their loaded format to `out` (see stored_weight_format) with the
  // source folder's config.json and every other non-weight file of it (tokenizer, generation
  // config, chat template). Published atomically: the folder appears complete or not at all. An
  // existing `out` is refused unless `overwrite`, and is then replaced only once the new one is
  // complete.
  Status save(const std::filesystem::path& out, bool overwrite = false) const;

  // Runs `tokens` at positions position() .. position() + n - 1, appending them to the cache.
  // Returns the logits after the last token (vocab floats, valid until the next call). With
  // `all_logits` (n * vocab floats) every position's logits are written there too (perplexity).
  // Errors (nothing changes): an id outside the vocabulary, or the context would overflow.
  Result<std::span<const float>> forward(std::span<const int32_t> tokens, float* all_logits = nullptr);

 private:
  struct Layer;
  // One tensor of the checkpoint and where it lives in the engine: a matrix (rows x cols) or a
  // vector (rows floats). The one list of names load_tensors() reads and save() writes.
  struct Slot {
    std::string name;
    QuantMatrix* matrix = nullptr;
    std::vector<float>* vector = nullptr;
    int64_t rows = 0, cols = 0;
  };
  LlamaEngine();
  std::vector<Slot> slots();
  Status load_tensors(const std::filesystem::path& dir);
  void allocate_state();
  void run_chunk(const int32_t* tokens, int64_t n, float* all_logits);
  void attention(int64_t layer, int64_t n);

  std::filesystem::path dir_;
  model::LlamaConfig config_;
  EngineOptions options_;
  EngineLoadStats stats_;
  std::unique_ptr<ThreadPool> pool_;
  int64_t context_ = 0;
  int64_t position_ = 0;

  std::vector<Layer> layers_;
  QuantMatrix embed_;           // (vocab, hidden) rows, also the head when tied
  QuantMatrix lm_head_;         // (vocab, hidden), empty when tied
  std::vector<float> final_norm_;
  std::vector<float> rope_cos_, rope_sin_;  // (context, head_dim / 2)

  std::vector<float> k_cache_, v_cache_;  // (layers, kv_heads, context, head_dim)
  // Scratch for up to prefill_chunk rows.
  std::vector<float> x_, h_, q_, k_, v_, att_, gate_, up_, scores_, logits_;
};

}  // namespace kanana::infer
