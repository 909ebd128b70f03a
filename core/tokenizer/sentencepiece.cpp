// SentencePieceTokenizer over the dlmopen-loaded bridge (spm_bridge/spm_bridge.h).
#include "tokenizer/sentencepiece.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

#include "base/files.h"
#include "tokenizer/fingerprint.h"
#include "tokenizer/spm_bridge/spm_bridge.h"

namespace kanana::tok {
namespace {

// The bridge's entry points, resolved once per process.
struct Bridge {
  std::string path;
  int (*abi_version)();
  const char* (*last_error)();
  void (*free_buffer)(void*);
  void* (*load)(const char*, size_t);
  void (*destroy)(void*);
  int (*encode)(const void*, const char*, size_t, int32_t**, size_t*);
  int (*decode)(const void*, const int32_t*, size_t, char**, size_t*);
  int32_t (*vocab_size)(const void*);
  int (*id_to_piece)(const void*, int32_t, const char**, size_t*);
  int32_t (*piece_to_id)(const void*, const char*, size_t);
  int32_t (*special_id)(const void*, int);
  int (*piece_type)(const void*, int32_t);
  int (*train)(const char*, size_t, int, char**, size_t*);
};

std::filesystem::path default_bridge_path() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&default_bridge_path), &info) != 0 && info.dli_fname != nullptr)
    return std::filesystem::path(info.dli_fname).parent_path() / "libkanana_spm_bridge.so";
  return "libkanana_spm_bridge.so";
}

template <typename F>
Status resolve(void* lib, const char* name, F* out) {
  void* sym = dlsym(lib, name);
  if (sym == nullptr) return unavailable(std::string("SentencePiece bridge lacks symbol ") + name);
  *out = reinterpret_cast<F>(sym);
  return Status::ok();
}

Result<const Bridge*> load_bridge() {
  static std::once_flag once;
  static Bridge bridge;
  static Status status;
  std::call_once(once, [] {
    const char* env = std::getenv("KANANA_SPM_BRIDGE");
    bridge.path = (env != nullptr && *env != '\0') ? std::string(env) : default_bridge_path().string();
    if (!std::filesystem::exists(bridge.path)) {
      status = unavailable("SentencePiece bridge not found at " + bridge.path +
                           " (build target kanana_spm_bridge, or set KANANA_SPM_BRIDGE to its path)");
      return;
    }
    // A fresh link-map namespace: the bridge's SentencePiece and its protobuf never meet
    // LibTorch's protobuf (DESIGN.md).
    void* lib = dlmopen(LM_ID_NEWLM, bridge.path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      const char* err = dlerror();
      status = unavailable("cannot load SentencePiece bridge " + bridge.path + ": " + (err ? err : "unknown error"));
      return;
    }
    Status s;
    const auto r = [&](Status next) {
      if (s.is_ok() && !next.is_ok()) s = next;
    };
    r(resolve(lib, "kanana_spm_abi_version", &bridge.abi_version));
    r(resolve(lib, "kanana_spm_last_error", &bridge.last_error));
    r(resolve(lib, "kanana_spm_free", &bridge.free_buffer));
    r(resolve(lib, "kanana_spm_load", &bridge.load));
    r(resolve(lib, "kanana_spm_destroy", &bridge.destroy));
    r(resolve(lib, "kanana_spm_encode", &bridge.encode));
    r(resolve(lib, "kanana_spm_decode", &bridge.decode));
    r(resolve(lib, "kanana_spm_vocab_size", &bridge.vocab_size));
    r(resolve(lib, "kanana_spm_id_to_piece", &bridge.id_to_piece));
    r(resolve(lib, "kanana_spm_piece_to_id", &bridge.piece_to_id));
    r(resolve(lib, "kanana_spm_special_id", &bridge.special_id));
    r(resolve(lib, "kanana_spm_piece_type", &bridge.piece_type));
    r(resolve(lib, "kanana_spm_train", &bridge.train));
    if (s.is_ok() && bridge.abi_version() != KANANA_SPM_BRIDGE_ABI)
      s = unavailable("SentencePiece bridge " + bridge.path + " has ABI " + std::to_string(bridge.abi_version()) +
                      ", expected " + std::to_string(KANANA_SPM_BRIDGE_ABI) + " (rebuild kanana_spm_bridge)");
    status = s;
  });
  if (!status.is_ok()) return status;
  return &bridge;
}

const Bridge& bridge() { return *load_bridge().value(); }  // only after a successful load

bool is_user_special(std::string_view piece) {
  return piece.size() >= 5 && piece.substr(0, 2) == "<|" && piece.substr(piece.size() - 2) == "|>";
}

}  // namespace

Result<std::string> sentencepiece_bridge_path() {
  KANANA_ASSIGN_OR_RETURN(const Bridge* b, load_bridge());
  return b->path;
}

SentencePieceTokenizer::~SentencePieceTokenizer() {
  if (handle_ != nullptr) bridge().destroy(handle_);
}

Result<std::shared_ptr<SentencePieceTokenizer>> load_sentencepiece(const std::string& model_bytes,
                                                                       const std::string& origin) {
  KANANA_ASSIGN_OR_RETURN(const Bridge* b, load_bridge());
  void* handle = b->load(model_bytes.data(), model_bytes.size());
  if (handle == nullptr)
    return data_loss(origin + ": not a SentencePiece model: " + b->last_error());
  std::shared_ptr<SentencePieceTokenizer> t(new SentencePieceTokenizer());
  t->handle_ = handle;
  t->vocab_size_ = b->vocab_size(handle);
  const auto opt = [](int32_t id) { return id >= 0 ? std::optional<int32_t>(id) : std::nullopt; };
  t->bos_ = opt(b->special_id(handle, KANANA_SPM_BOS));
  t->eos_ = opt(b->special_id(handle, KANANA_SPM_EOS));
  t->pad_ = opt(b->special_id(handle, KANANA_SPM_PAD));
  t->unk_ = opt(b->special_id(handle, KANANA_SPM_UNK));
  t->special_.assign(static_cast<size_t>(t->vocab_size_), 0);
  for (int32_t id = 0; id < t->vocab_size_; ++id) {
    const int type = b->piece_type(handle, id);
    t->special_[id] = (type & (KANANA_SPM_CONTROL | KANANA_SPM_UNKNOWN)) != 0 ||
                      (type == 0 && is_user_special(t->id_to_piece(id)));
  }
  t->fingerprint_ = fingerprint_bytes(model_bytes);
  return t;
}

Result<std::shared_ptr<SentencePieceTokenizer>> load_sentencepiece_file(const std::filesystem::path& path) {
  KANANA_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  return load_sentencepiece(bytes, path.string());
}

std::vector<int32_t> SentencePieceTokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  std::vector<int32_t> out;
  if (options.add_bos && bos_) out.push_back(*bos_);
  int32_t* ids = nullptr;
  size_t count = 0;
  // Encoding only fails on allocation failure inside the bridge; the ids are then empty.
  if (bridge().encode(handle_, text.data(), text.size(), &ids, &count) == 0) {
    out.insert(out.end(), ids, ids + count);
    bridge().free_buffer(ids);
  }
  if (options.add_eos && eos_) out.push_back(*eos_);
  return out;
}

std::string SentencePieceTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  std::vector<int32_t> kept;
  kept.reserve(ids.size());
  for (int32_t id : ids) {
    if (id < 0 || id >= vocab_size_) continue;
    if (skip_special && special_[id]) continue;
    kept.push_back(id);
  }
  char* text = nullptr;
  size_t size = 0;
  if (bridge().decode(handle_, kept.data(), kept.size(), &text, &size) != 0) return {};
  std::string out(text, size);
  bridge().free_buffer(text);
  return out;
}

std::string SentencePieceTokenizer::id_to_piece(int32_t id) const {
  const char* piece = nullptr;
  size_t size = 0;
  if (bridge().id_to_piece(handle_, id, &piece, &size) != 0) return {};
  return std::string(piece, size);
}

std::optional<int32_t> SentencePieceTokenizer::piece_to_id(std::string_view piece) const {
  const int32_t id = bridge().piece_to_id(handle_, piece.data(), piece.size());
  if (id < 0) return std::nullopt;
  return id;
}

bool SentencePieceTokenizer::is_special(int32_t id) const {
  return id >= 0 && id < vocab_size_ && special_[id] != 0;
}

bool SentencePieceTokenizer::is_byte(int32_t id) const {
  return (bridge().piece_type(handle_, id) & KANANA_SPM_BYTE) != 0;
}

Status SentencePieceTokenizer::set_special_tokens(const SpecialTokenNames& names) {
  const auto set = [&](const std::optional<std::string>& piece, std::optional<int32_t>* slot, const char* what) -> Status {
    if (!piece) return Status::ok();
    if (piece->empty()) {
      slot->reset();
      return Status::ok();
    }
    const auto id = piece_to_id(*piece);
    if (!id) return not_found(std::string(what) + " token '" + *piece + "' is not in the SentencePiece vocabulary");
    *slot = *id;
    return Status::ok();
  };
  KANANA_RETURN_IF_ERROR(set(names.bos, &bos_, "bos"));
  KANANA_RETURN_IF_ERROR(set(names.eos, &eos_, "eos"));
  KANANA_RETURN_IF_ERROR(set(names.pad, &pad_, "pad"));
  return Status::ok();
}

Result<std::string> train_sentencepiece(const SentencePieceTrainOptions& o) {
  if (o.input.empty()) return invalid_argument("tokenizer training needs at least one --input file");
  if (o.output.empty()) return invalid_argument("tokenizer training needs an output path");
  if (o.vocab_size < 2) return invalid_argument("vocab_size must be at least 2, got " + std::to_string(o.vocab_size));
  if (o.model_type != "unigram" && o.model_type != "bpe" && o.model_type != "char" && o.model_type != "word")
    return invalid_argument("model_type must be unigram, bpe, char or word, got '" + o.model_type + "'");
  if (!(o.character_coverage > 0.0 && o.character_coverage <= 1.0))
    return invalid_argument("character_coverage must be in (0, 1], got " + std::to_string(o.character_coverage));
  std::string inputs;
  for (const auto& p : o.input) {
    if (!std::filesystem::is_regular_file(p)) return not_found(p.string() + ": training input file not found");
    if (p.string().find(',') != std::string::npos)
      return invalid_argument(p.string() + ": SentencePiece cannot take input paths containing ','");
    inputs += (inputs.empty() ? "" : ",") + p.string();
  }
  const auto symbols = [](const std::vector<std::string>& list, const char* what) -> Result<std::string> {
    std::string joined;
    for (const auto& s : list) {
      if (s.empty() || s.find(',') != std::string::npos)
        return invalid_argument(std::string(what) + " '" + s + "' must be non-empty and contain no ','");
      joined += (joined.empty() ? "" : ",") + s;
    }
    return joined;
  };
  KANANA_ASSIGN_OR_RETURN(std::string user_symbols, symbols(o.user_defined_symbols, "user-defined symbol"));
  KANANA_ASSIGN_OR_RETURN(std::string control_symbols, symbols(o.control_symbols, "control symbol"));

  std::string buffer;
  const auto add = [&](const std::string& key, const std::string& value) {
    buffer += key;
    buffer.push_back('\0');
    buffer += value;
    buffer.push_back('\0');
  };
  const auto b = [](bool v) { return std::string(v ? "true" : "false"); };
  add("input", inputs);
  add("vocab_size", std::to_string(o.vocab_size));
  add("model_type", o.model_type);
  add("character_coverage", std::to_string(o.character_coverage));
  add("byte_fallback", b(o.byte_fallback));
  add("split_digits", b(o.split_digits));
  if (!user_symbols.empty()) add("user_defined_symbols", user_symbols);
  if (!control_symbols.empty()) add("control_symbols", control_symbols);
  if (o.input_sentence_size > 0) add("input_sentence_size", std::to_string(o.input_sentence_size));
  add("shuffle_input_sentence", "true");
  add("max_sentence_length", std::to_string(o.max_sentence_length));
  add("normalization_rule_name", o.normalization_rule_name);
  add("add_dummy_prefix", b(o.add_dummy_prefix));
  add("hard_vocab_limit", b(o.hard_vocab_limit));
  add("num_threads", std::to_string(std::max(1, o.num_threads)));
  add("unk_id", std::to_string(o.unk_id));
  add("bos_id", std::to_string(o.bos_id));
  add("eos_id", std::to_string(o.eos_id));
  add("pad_id", std::to_string(o.pad_id));

  KANANA_ASSIGN_OR_RETURN(const Bridge* br, load_bridge());
  char* model = nullptr;
  size_t size = 0;
  if (br->train(buffer.data(), buffer.size(), o.verbose ? 1 : 0, &model, &size) != 0)
    return invalid_argument("SentencePiece training failed: " + std::string(br->last_error()));
  std::string bytes(model, size);
  br->free_buffer(model);
  // Self-test before writing: a model that does not load is never left on disk.
  KANANA_ASSIGN_OR_RETURN(auto check, load_sentencepiece(bytes, o.output.string()));
  (void)check;
  KANANA_RETURN_IF_ERROR(write_file_atomic(o.output, bytes));
  return o.output.string();
}

}  // namespace kanana::tok
