// Hugging Face tokenizer.json byte-level BPE (Llama 3, Qwen 2/3): added tokens matched first
// (with their lstrip/rstrip/single_word/normalized flags), an optional NFC normalizer, the
// Split pre-tokenizer regex (pretokenizer.h) followed by ByteLevel, rank-ordered BPE merges
// (with ignore_merges), and the ByteLevel decoder. Behaviour follows the Rust `tokenizers`
// crate; tests compare ids with the @lenml/tokenizers JavaScript port on thousands of lines.
//
// Input that is not valid UTF-8 is first decoded lossily (each maximal invalid subpart
// becomes U+FFFD, as Rust's String::from_utf8_lossy does): `tokenizers` itself only ever
// sees valid strings.
#pragma once

#include <array>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer.h"

namespace kanana::tok {

class HfBpeTokenizer;

// Parse tokenizer.json text; `origin` (a file name) goes into error messages.
Result<std::shared_ptr<HfBpeTokenizer>> load_hf_bpe(const std::string& json_text, const std::string& origin);
Result<std::shared_ptr<HfBpeTokenizer>> load_hf_bpe_file(const std::filesystem::path& path);

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool special = false;
  bool lstrip = false, rstrip = false, single_word = false, normalized = false;
};

class HfBpeTokenizer final : public Tokenizer {
 public:
  std::vector<int32_t> encode(std::string_view text, const EncodeOptions& options = {}) const override;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special = false) const override;
  int32_t vocab_size() const override { return static_cast<int32_t>(pieces_.size()); }
  std::string id_to_piece(int32_t id) const override;
  std::optional<int32_t> piece_to_id(std::string_view piece) const override;
  bool is_special(int32_t id) const override;
  std::optional<int32_t> bos_id() const override { return bos_; }
  std::optional<int32_t> eos_id() const override { return eos_; }
  std::optional<int32_t> pad_id() const override { return pad_; }
  std::string kind() const override { return "hf-bpe"; }
  std::string fingerprint() const override { return fingerprint_; }

  // bos/eos/pad by token text (tokenizer_config.json): nullopt leaves a slot as it is, ""
  // clears it (the model has no such token), and a text not in the vocabulary is an error.
  Status set_special_tokens(const SpecialTokenNames& names);
  const std::vector<AddedToken>& added_tokens() const { return added_; }
  bool uses_nfc() const { return nfc_; }

  // The BPE ids of one pre-token (raw bytes, before the byte-to-unicode mapping).
  void encode_word(std::string_view word, std::vector<int32_t>* out) const;

 private:
  friend Result<std::shared_ptr<HfBpeTokenizer>> load_hf_bpe(const std::string&, const std::string&);
  struct Segment {
    std::string_view text;
    int32_t added_id = -1;  // >= 0: the segment is this added token
  };
  void split_added(std::string_view text, bool normalized_pass, bool parse_special,
                   std::vector<Segment>* out) const;
  void encode_plain(std::string_view text, std::vector<int32_t>* out) const;

  // Vocabulary: pieces_[id] is the tokenizer.json string, bytes_[id] what it decodes to.
  std::vector<std::string> pieces_;
  std::vector<std::string> bytes_;
  std::vector<uint8_t> special_;
  std::unordered_map<std::string, int32_t> piece_ids_;   // tokenizer.json string -> id
  std::unordered_map<std::string, int32_t> byte_ids_;    // raw bytes -> id (model vocab only)
  std::array<int32_t, 256> single_byte_{};               // id of each one-byte token, -1 if none
  // Merge (left id, right id) -> rank and merged id.
  struct Merge {
    int32_t rank, id;
  };
  std::unordered_map<uint64_t, Merge> merges_;
  bool ignore_merges_ = false;
  bool nfc_ = false;
  SplitPattern pattern_;
  std::vector<AddedToken> added_;       // sorted by content length, longest first
  std::array<bool, 256> added_first_{};  // first bytes of added tokens
  std::optional<int32_t> bos_, eos_, pad_;
  std::string fingerprint_;

  // Pre-token -> ids cache (bounded; cleared when full).
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

}  // namespace kanana::tok
