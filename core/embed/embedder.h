// Text embeddings behind a Torch-free interface, for the RAG index, the Playground and the
// `kanana embed` command. The implementation (embedding_model.h) is Kanana's embedding layout
// (kakaocorp/kanana-nano-2.1b-embedding, "kanana2vec"): the Llama decoder with bidirectional
// attention, masked mean pooling over the text's tokens, an instruction prefix for queries that
// conditions the text but is not pooled, and L2-normalised output.
//
// Queries and passages are embedded differently: a query gets the task instruction
// ("Instruct: <task>\nQuery: <text>"), a passage is embedded as it is. Both sides of a
// comparison must come from the same model (compare fingerprint()).
//
// Thread safety: one Embedder is used from one thread at a time; load a second one (or
// serialise calls) to embed from several threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/progress.h"
#include "base/status.h"

namespace kanana::embed {

// The task description Kanana's model card uses for retrieval queries.
inline constexpr const char* kRetrievalInstruction =
    "Given a question, retrieve passages that answer the question";

// "Instruct: <task>\nQuery:" (Kanana2Vec's query prefix); "" for an empty task.
std::string format_instruction(std::string_view task);

// Row-major (rows, dim) float32 vectors.
struct EmbeddingMatrix {
  int64_t rows = 0;
  int64_t dim = 0;
  std::vector<float> values;  // rows * dim
  const float* row(int64_t i) const { return values.data() + i * dim; }
};

struct EmbedderOptions {
  // tokenizer.json / *.model / folder; empty: the model folder, then <run>/tokenizer for a
  // checkpoint inside a training run (<run>/checkpoints/step-N).
  std::filesystem::path tokenizer;
  std::string dtype = "float32";   // compute dtype: float32 | bfloat16 | float16
  int64_t max_length = 512;        // tokens per text including BOS and instruction; longer texts lose their end
  int64_t batch_size = 16;         // texts per forward pass (sorted by length to limit padding)
  bool normalize = true;           // L2-normalise (Kanana's retrieval uses cosine = dot product)
};

class Embedder {
 public:
  virtual ~Embedder() = default;

  // One vector per text. `task` is the query instruction's task description (empty for
  // passages, see format_instruction). An empty text (after trimming) is an error naming its
  // index. `progress` counts texts; `cancel` is checked between batches.
  virtual Result<EmbeddingMatrix> embed(const std::vector<std::string>& texts, std::string_view task = {},
                                        Progress* progress = nullptr, const CancelToken* cancel = nullptr) = 0;
  // Token count of a text as the model sees it (no BOS, no instruction): chunkers use this.
  virtual int64_t count_tokens(std::string_view text) const = 0;

  virtual int64_t dim() const = 0;
  virtual int64_t max_length() const = 0;
  // Identifies model weights + tokenizer: vectors with different fingerprints are not comparable.
  virtual std::string fingerprint() const = 0;
  virtual const std::filesystem::path& model_dir() const = 0;
  // Loading notes (e.g. "no lm_head in the checkpoint"), for logs.
  virtual const std::vector<std::string>& warnings() const = 0;
};

// Loads a kanana2vec checkpoint folder (config.json with model_type "kanana2vec" + safetensors
// with "model.*" tensors; an lm_head is not needed). A causal LM ("llama") is refused: its
// attention was never trained to be bidirectional (train one with a "contrastive" recipe).
Result<std::unique_ptr<Embedder>> load_embedder(const std::filesystem::path& model_dir,
                                                const EmbedderOptions& options = {});

}  // namespace kanana::embed
