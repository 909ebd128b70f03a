// How a Hugging Face Llama checkpoint maps onto llama.cpp's GGUF "llama" architecture, as
// llama.cpp's own converter (convert_hf_to_gguf.py, LlamaModel) does it: the architecture keys,
// the tensor names, the q/k row permutation for llama.cpp's rotary layout, and the Llama 3
// rope-scaling factors it stores as the `rope_freqs.weight` tensor. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "gguf/gguf.h"
#include "model/config.h"

namespace kanana::gguf {

// Refuses (before anything is written) what llama.cpp's llama architecture cannot run or the
// exporter does not convert: another model_type/architecture, a bidirectional embedding model,
// biases, an activation other than silu, dynamic rope scaling. `origin` names config.json.
Status check_llama_exportable(const model::LlamaConfig& config, const std::string& origin);

// One GGUF tensor and where it comes from.
struct LlamaTensorPlan {
  std::string gguf_name;          // "blk.0.attn_q.weight"
  std::string hf_name;            // "model.layers.0.self_attn.q_proj.weight"; empty: computed (rope_freqs)
  std::vector<int64_t> hf_shape;  // (rows, cols) of a matrix, (n) of a vector
  GgmlType type = GgmlType::kF32; // vectors stay F32 whatever the export type
  int64_t rope_heads = 0;         // > 0: rows permuted for llama.cpp's rotary layout, this many heads
  std::vector<uint64_t> ne() const;  // GGUF order (innermost first)
};

// Every tensor in the order the exporter writes them. A tied head has no `output.weight`
// (llama.cpp then reuses token_embd). `type` applies to the matrices.
std::vector<LlamaTensorPlan> plan_llama_tensors(const model::LlamaConfig& config, GgmlType type);

// general.* and llama.* keys (no tokenizer keys); `name` becomes general.name.
std::vector<KeyValue> llama_architecture_metadata(const model::LlamaConfig& config, GgmlType type,
                                                  const std::string& name);

// llama.cpp's LLAMA_FTYPE for a file whose matrices are `type` (general.file_type).
uint32_t llama_file_type(GgmlType type);

// HF stores each rotary head's dimensions as [first halves | second halves] (rotate_half);
// llama.cpp's rope pairs neighbouring dimensions. Row `row` of the permuted matrix (rows =
// heads * head_dim) is source row rope_permuted_source_row(row, rows, heads):
// within a head, destination 2i + j comes from j * head_dim/2 + i.
int64_t rope_permuted_source_row(int64_t row, int64_t rows, int64_t heads);

// rope_freqs for Llama 3 rope scaling (head_dim/2 factors that divide the frequencies), empty
// for any other rope kind.
std::vector<float> llama3_rope_factors(const model::LlamaConfig& config);

}  // namespace kanana::gguf
