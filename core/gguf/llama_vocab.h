// The tokenizer of a checkpoint folder as GGUF `tokenizer.*` keys, the way llama.cpp's
// converter writes them (convert_hf_to_gguf.py _set_vocab_gpt2 / _set_vocab_sentencepiece and
// gguf-py's SpecialVocab):
//
//  - tokenizer.json byte-level BPE -> tokenizer.ggml.model "gpt2", pre "llama-bpe" (Llama 3's
//    Split regex) or "qwen2" (Qwen's), tokens, token_type (added tokens: CONTROL when special
//    or "<|...|>", else USER_DEFINED), merges ("a b").
//  - tokenizer.model (SentencePiece) -> model "llama", pre "default", tokens, scores,
//    token_type (the piece types), add_space_prefix.
//  - bos/eos/unk/pad ids (tokenizer_config.json names, then config.json ids, then the
//    SentencePiece trainer spec), add_bos/add_eos, tokenizer.chat_template.
//
// The workbench itself prefers tokenizer.json over tokenizer.model (tokenizer/tokenizer.h), so
// this does too: the GGUF then tokenizes as the workbench does. Torch-free.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "gguf/gguf.h"
#include "model/config.h"

namespace kanana::gguf {

// llama_token_type / SentencePiece piece types.
enum TokenType : int32_t {
  kTokenNormal = 1, kTokenUnknown = 2, kTokenControl = 3, kTokenUserDefined = 4, kTokenUnused = 5, kTokenByte = 6,
};

struct LlamaVocab {
  std::string summary;             // "gpt2/llama-bpe, 128256 tokens, 280147 merges" for reports
  std::vector<KeyValue> metadata;  // tokenizer.* keys
};

// Reads tokenizer.json or tokenizer.model (+ tokenizer_config.json, chat_template.jinja) in
// `dir`; tokens are padded with "[PAD<i>]" (UNUSED) up to config.vocab_size. Errors name the
// file and field: no tokenizer, a pre-tokenizer llama.cpp does not implement, ids beyond
// vocab_size, malformed merges or protobuf.
Result<LlamaVocab> read_llama_vocab(const std::filesystem::path& dir, const model::LlamaConfig& config);

// The pieces of a SentencePiece ModelProto (a tokenizer.model file), read from its protobuf
// wire format without libsentencepiece, plus the special ids of its trainer spec.
struct SentencePieceModel {
  struct Piece {
    std::string text;
    float score = 0.f;
    int32_t type = kTokenNormal;
  };
  std::vector<Piece> pieces;
  int32_t unk_id = 0, bos_id = 1, eos_id = 2, pad_id = -1;  // TrainerSpec defaults
  bool add_dummy_prefix = true;                           // NormalizerSpec
};
Result<SentencePieceModel> parse_sentencepiece_model(std::string_view bytes, const std::string& origin);

}  // namespace kanana::gguf
