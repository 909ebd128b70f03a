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
// Several sequences (continuous batching, core/serve): with `slots` > 1 the engine keeps one KV
// region and position per slot, and step() runs rows of several slots -- decode rows and
// prefill chunks -- through each weight matrix together, so the weights are read once per
// step whatever the batch. Every row carries its own slot and position for RoPE and attention;
// since matmul of n rows is bit-identical to n matvecs (kernels.h) and attention, norms and
// the MLP are per row, a sequence's logits do not depend on what else is in the step or on how
// its prompt was chunked. forward() is slot 0.
//
// Threading contract: one caller at a time (the pool is not re-entrant).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
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
  int64_t slots = 1;                         // sequences with their own KV cache (`context` positions each)
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

class LlamaEngine;
// How callers with a LibTorch path pick the engine (chat, the Playground, annotation
// candidates): `weights` names a format (f32|bf16|int8|q4) -> the engine in it; "" -> the
// engine only when `dir` is a `model quantize` folder (its stored format), else nullptr, and
// the caller runs LibTorch. `threads` <= 0: all cores.
Result<std::unique_ptr<LlamaEngine>> load_engine_if_asked(const std::filesystem::path& dir, std::string_view weights,
                                                          int threads);

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
  int64_t position() const { return positions_[0]; }  // tokens in slot 0's KV cache
  void reset() { positions_[0] = 0; }                  // forget slot 0's cache (the memory stays)

  // Writes the weights in their loaded format to `out` (see stored_weight_format) with the
  // source folder's config.json and every other non-weight file of it (tokenizer, generation
  // config, chat template). Published atomically: the folder appears complete or not at all. An
  // existing `out` is refused unless `overwrite`, and is then replaced only once the new one is
  // complete.
  Status save(const std::filesystem::path& out, bool overwrite = false) const;

  // Runs `tokens` at positions position() .. position() + n - 1 of slot 0, appending them to the cache.
  // Returns the logits after the last token (vocab floats, valid until the next call). With
  // `all_logits` (n * vocab floats) every position's logits are written there too (perplexity).
  // Errors (nothing changes): an id outside the vocabulary, or the context would overflow.
  Result<std::span<const float>> forward(std::span<const int32_t> tokens, float* all_logits = nullptr);

  // ---- several sequences ----
  int64_t slots() const { return int64_t(positions_.size()); }
  // The most rows one step() may carry: max(prefill_chunk, slots).
  int64_t batch_rows() const { return batch_rows_; }
  int64_t slot_position(int64_t slot) const { return positions_[size_t(slot)]; }
  void reset_slot(int64_t slot) { positions_[size_t(slot)] = 0; }

  struct SlotTokens {
    int64_t slot = 0;
    std::span<const int32_t> tokens;  // appended at slot_position(slot) ..
    bool logits = true;               // false: a prefill chunk that is not the prompt's last
  };
  // One pass over the weights for every entry's tokens. Returns entries.size() rows of vocab
  // floats: row i the logits after entry i's last token (unwritten when its `logits` is
  // false), valid until the next call. Errors (nothing changes): a slot out of range or named
  // twice, no tokens, more than batch_rows() tokens in all, a bad id, a full context.
  Result<std::span<const float>> step(std::span<const SlotTokens> entries);

 private:
  struct Layer;
  // One tensor of the checkpoint and where it lives in the engine: a matrix (rows x cols) or a
  // vector (rows floats). The one list of names load_tensors() reads and save() writes.
  struct TensorSlot {
    std::string name;
    QuantMatrix* matrix = nullptr;
    std::vector<float>* vector = nullptr;
    int64_t rows = 0, cols = 0;
  };
  LlamaEngine();
  std::vector<TensorSlot> tensor_slots();
  Status load_tensors(const std::filesystem::path& dir);
  void allocate_state();
  Status check_tokens(std::span<const int32_t> tokens, int64_t slot, int64_t* total) const;
  // Rows [0, n) at (row_slot_[r], row_pos_[r]); leaves the final-normed hidden rows in h_.
  void run_rows(const int32_t* tokens, int64_t n);
  void attention(int64_t layer, int64_t n);

  std::filesystem::path dir_;
  model::LlamaConfig config_;
  EngineOptions options_;
  EngineLoadStats stats_;
  std::unique_ptr<ThreadPool> pool_;
  int64_t context_ = 0;
  int64_t batch_rows_ = 0;
  std::vector<int64_t> positions_;  // per slot: tokens in its KV cache
  std::vector<int64_t> row_slot_, row_pos_;  // per row of the current pass (batch_rows)
  std::vector<int32_t> step_ids_;            // step(): the pass's token ids (batch_rows)
  std::vector<int64_t> step_which_;          // step(): entry of each gathered head row (slots)

  std::vector<Layer> layers_;
  QuantMatrix embed_;           // (vocab, hidden) rows, also the head when tied
  QuantMatrix lm_head_;         // (vocab, hidden), empty when tied
  std::vector<float> final_norm_;
  std::vector<float> rope_cos_, rope_sin_;  // (context, head_dim / 2)

  std::vector<float> k_cache_, v_cache_;  // (slots, layers, kv_heads, context, head_dim)
  // Scratch for up to batch_rows rows.
  std::vector<float> x_, h_, q_, k_, v_, att_, gate_, up_, scores_, logits_;
  std::vector<float> head_in_, batch_logits_;  // step(): (slots, hidden), (slots, vocab)
};

}  // namespace kanana::infer
