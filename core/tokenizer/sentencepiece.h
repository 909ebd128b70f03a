// SentencePiece models (.model files) behind the Tokenizer interface, and training new ones.
// All SentencePiece code runs inside libkanana_spm_bridge.so, loaded into its own link-map
// namespace with dlmopen (DESIGN.md: Debian's SentencePiece and LibTorch crash in one
// namespace). The bridge is found next to libkanana_tokenizer.so or at $KANANA_SPM_BRIDGE.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace kanana::tok {

struct SentencePieceTrainOptions {
  std::vector<std::filesystem::path> input;   // text files, one sentence per line
  std::filesystem::path output;               // the .model file to write (atomically)
  int vocab_size = 8000;
  std::string model_type = "unigram";         // "unigram" | "bpe" | "char" | "word"
  double character_coverage = 0.9995;         // 0.9995 for Korean/CJK-rich text, 1.0 for small alphabets
  bool byte_fallback = false;                 // unknown characters become <0xXX> byte pieces
  bool split_digits = false;                  // each digit its own piece
  std::vector<std::string> user_defined_symbols;  // always one piece, matched in raw text
  std::vector<std::string> control_symbols;       // ids reserved, never produced from text
  int64_t input_sentence_size = 0;            // sample this many sentences (0 = all)
  int max_sentence_length = 16384;            // bytes; longer lines are skipped by the trainer
  std::string normalization_rule_name = "nmt_nfkc";  // "identity" keeps text as is
  bool add_dummy_prefix = true;
  bool hard_vocab_limit = true;               // false: vocab_size is a soft limit
  int num_threads = 2;
  int unk_id = 0, bos_id = 1, eos_id = 2, pad_id = -1;  // -1 disables the piece
  bool verbose = false;                       // SentencePiece's own training log on stderr
};

// Train and write options.output; returns the path written. The model is checked by loading it.
Result<std::string> train_sentencepiece(const SentencePieceTrainOptions& options);

class SentencePieceTokenizer;

// Load a serialized model (the bytes of a .model file); `origin` names it in errors.
Result<std::shared_ptr<SentencePieceTokenizer>> load_sentencepiece(const std::string& model_bytes,
                                                                       const std::string& origin);
Result<std::shared_ptr<SentencePieceTokenizer>> load_sentencepiece_file(const std::filesystem::path& path);

// Special tokens of the project's own SentencePiece models are user-defined symbols spelled
// "<|name|>" (see chat_template.h); they count as special like control pieces do.
class SentencePieceTokenizer final : public Tokenizer {
 public:
  ~SentencePieceTokenizer() override;

  std::vector<int32_t> encode(std::string_view text, const EncodeOptions& options = {}) const override;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special = false) const override;
  int32_t vocab_size() const override { return vocab_size_; }
  std::string id_to_piece(int32_t id) const override;
  std::optional<int32_t> piece_to_id(std::string_view piece) const override;
  bool is_special(int32_t id) const override;
  std::optional<int32_t> bos_id() const override { return bos_; }
  std::optional<int32_t> eos_id() const override { return eos_; }
  std::optional<int32_t> pad_id() const override { return pad_; }
  std::string kind() const override { return "sentencepiece"; }
  std::string fingerprint() const override { return fingerprint_; }

  std::optional<int32_t> unk_id() const { return unk_; }
  bool is_byte(int32_t id) const;
  // bos/eos/pad by token text (tokenizer_config.json): nullopt leaves a slot as it is, ""
  // clears it (the model has no such token), and a text not in the vocabulary is an error.
  Status set_special_tokens(const SpecialTokenNames& names);

 private:
  friend Result<std::shared_ptr<SentencePieceTokenizer>> load_sentencepiece(const std::string&,
                                                                                 const std::string&);
  SentencePieceTokenizer() = default;
  void* handle_ = nullptr;  // bridge-side SentencePieceProcessor
  int32_t vocab_size_ = 0;
  std::optional<int32_t> bos_, eos_, pad_, unk_;
  std::vector<uint8_t> special_;  // per id: control, unknown or "<|...|>" user symbol
  std::string fingerprint_;
};

// Where the bridge was loaded from, or why it could not be (for `kanana doctor`-style output).
Result<std::string> sentencepiece_bridge_path();

}  // namespace kanana::tok
