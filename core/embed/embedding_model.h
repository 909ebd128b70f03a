// The maths of Kanana's embedding model on LibTorch: tokenising a text with its instruction
// prefix, right-padded batches with a separate pooling mask, the bidirectional decoder pass,
// masked mean pooling and L2 normalisation; and loading / converting checkpoints.
//
// Layout (kakaocorp/kanana-nano-2.1b-embedding, transformers class Kanana2VecModel): a
// LlamaModel under the prefix "model." (model.embed_tokens, model.layers.N.*, model.norm) with
// is_causal = False and no lm_head; config.json has model_type "kanana2vec". Here the decoder is
// a model::LlamaForCausalLM whose config has bidirectional = true; when the checkpoint has no
// lm_head the module is built with tied embeddings so no random head is allocated (the head is
// never used for embeddings).
//
// Pooling follows Kanana2VecModel: the text is "<instruction> <text>" tokenised with BOS; the
// pooling mask is the attention mask with the first len(BOS + instruction) positions zeroed,
// so the instruction conditions every text token (bidirectional attention) but is not averaged.
// Without an instruction BOS is pooled too, as there.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "model/checkpoint.h"
#include "model/llama.h"
#include "tokenizer/tokenizer.h"

namespace kanana::embed {

// One tokenised text: ids = [BOS] + instruction + text; the first prefix_len ids are not pooled.
struct EmbedInput {
  std::vector<int32_t> ids;
  int64_t prefix_len = 0;
};

// `instruction` is the formatted prefix (format_instruction(task)) or empty. The instruction
// and the text (trimmed, preceded by one space as Kanana2Vec joins them) are tokenised
// separately so the pooled span is exact; the text is cut so ids.size() <= max_length.
// Error when nothing of the text remains to pool (empty text, or an instruction >= max_length).
Result<EmbedInput> tokenize_for_embedding(const tok::Tokenizer& tokenizer, std::string_view text,
                                          std::string_view instruction, int64_t max_length);

struct EmbedBatch {
  torch::Tensor input_ids;       // (batch, seq) int64, right-padded
  torch::Tensor attention_mask;  // (batch, seq) int64, 1 = real token
  torch::Tensor pool_mask;       // (batch, seq) int64, 1 = real token outside the prefix
};
EmbedBatch make_embed_batch(const std::vector<const EmbedInput*>& rows, int32_t pad_id, torch::Device device);

// sum_s(hidden * mask) / sum_s(mask) in fp32: (batch, seq, hidden), (batch, seq) -> (batch, hidden).
// Rows with an all-zero mask give zeros (never NaN).
torch::Tensor masked_mean_pool(const torch::Tensor& hidden, const torch::Tensor& pool_mask);

// Decoder pass (bidirectional iff model->config().bidirectional, padding masked) and pooling;
// fp32 (batch, hidden), L2-normalised when `normalize`. Differentiable (used for training).
torch::Tensor embed_forward(model::LlamaForCausalLM& model, const EmbedBatch& batch, bool normalize = true);

struct LoadedEmbeddingModel {
  model::LlamaConfig config;            // as in config.json
  model::LlamaForCausalLM model{nullptr};
  std::vector<std::string> warnings;
};
// Loads a kanana2vec checkpoint (see the layout above). An lm_head in the file is loaded if the
// config is untied (our own checkpoints have none). Error for a non-bidirectional config.
Result<LoadedEmbeddingModel> load_embedding_model(const std::filesystem::path& dir,
                                                  const model::LoadOptions& options = {});

// The embedding layout of a causal LM (LLM2Vec's first step): the same decoder weights, a
// config with model_type "kanana2vec", architectures ["Kanana2VecModel"], bidirectional
// attention and no lm_head (tied). Copies the parameters into a new module on the same
// dtype/device; gradients are not copied.
Result<model::LlamaForCausalLM> to_embedding_layout(model::LlamaForCausalLM& causal);

// The padding id of batches: the tokenizer's pad, else EOS (Kanana2Vec pads with EOS), else 0.
int32_t embedding_pad_id(const tok::Tokenizer& tokenizer);

// The tokenizer for a model folder: `explicit_path` if given, else the folder, else
// <folder>/../../tokenizer (a checkpoint inside a training run).
Result<std::shared_ptr<const tok::Tokenizer>> load_model_tokenizer(const std::filesystem::path& model_dir,
                                                                   const std::filesystem::path& explicit_path = {});

}  // namespace kanana::embed
