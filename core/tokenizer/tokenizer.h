// The tokenizer interface every other module uses. Implementations: SentencePiece models
// (loaded through an isolated bridge, see sentencepiece.h) and Hugging Face tokenizer.json
// byte-level BPE (Llama 3, Qwen). Nothing outside core/tokenizer knows which one it has.
//
// Thread safety: all const methods may be called concurrently.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace kanana::tok {

struct EncodeOptions {
  bool add_bos = false;          // prepend the model's BOS id (if it has one)
  bool add_eos = false;          // append EOS
  bool parse_special = true;     // "<|eot_id|>" in the text becomes its special id
};

// bos/eos/pad token texts from tokenizer_config.json (see set_special_tokens of each kind).
struct SpecialTokenNames {
  std::optional<std::string> bos, eos, pad;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  virtual std::vector<int32_t> encode(std::string_view text, const EncodeOptions& options = {}) const = 0;
  // Invalid ids are rendered as nothing; skip_special drops control/special tokens.
  virtual std::string decode(const std::vector<int32_t>& ids, bool skip_special = false) const = 0;

  virtual int32_t vocab_size() const = 0;
  virtual std::string id_to_piece(int32_t id) const = 0;
  virtual std::optional<int32_t> piece_to_id(std::string_view piece) const = 0;
  virtual bool is_special(int32_t id) const = 0;

  virtual std::optional<int32_t> bos_id() const = 0;
  virtual std::optional<int32_t> eos_id() const = 0;
  virtual std::optional<int32_t> pad_id() const = 0;

  // "sentencepiece" or "hf-bpe"; a hash of the model file for manifests and lineage.
  virtual std::string kind() const = 0;
  virtual std::string fingerprint() const = 0;
};

// Load from a file (tokenizer.json, *.model) or a model folder containing one
// (tokenizer.json is preferred over tokenizer.model). tokenizer_config.json beside it,
// when present, supplies bos/eos/pad names.
Result<std::shared_ptr<const Tokenizer>> load_tokenizer(const std::filesystem::path& path);

// The tokenizer a model folder is used with: the folder itself when it holds tokenizer files,
// else (for a training checkpoint, <run>/checkpoints/step-N) the run's tokenizer/ copy. A folder
// that does not exist is reported as missing (a checkpoint deleted by keep_last or by hand),
// not as a folder without a tokenizer.
Result<std::filesystem::path> model_tokenizer_path(const std::filesystem::path& model_dir);

// Copies a tokenizer into `to_dir` as tokenizer.json / tokenizer.model, with the
// tokenizer_config.json and special_tokens_map.json found beside it. `from` is a tokenizer file
// (a *.model file becomes tokenizer.model) or a folder (load_tokenizer()'s choice of file).
// This makes a model folder self-contained: every checkpoint carries its tokenizer.
Status copy_tokenizer_files(const std::filesystem::path& from, const std::filesystem::path& to_dir);

// Turns a stream of ids into text pieces that are always complete UTF-8: bytes of a
// character split across tokens are held back until the character is complete.
class StreamDecoder {
 public:
  explicit StreamDecoder(std::shared_ptr<const Tokenizer> tokenizer, bool skip_special = true);
  // Returns the new text made printable by `id` (possibly empty).
  std::string push(int32_t id);
  // Whatever is still held back (invalid trailing bytes become U+FFFD); resets the stream.
  std::string flush();
  size_t emitted_bytes() const { return emitted_bytes_; }

 private:
  std::shared_ptr<const Tokenizer> tokenizer_;
  bool skip_special_;
  std::vector<int32_t> ids_;      // ids not yet fully turned into text, plus one of context
  size_t prefix_offset_ = 0;      // ids_[prefix_offset_:read_offset_] is already emitted context
  size_t read_offset_ = 0;
  size_t emitted_bytes_ = 0;      // total bytes returned so far
};

}  // namespace kanana::tok
