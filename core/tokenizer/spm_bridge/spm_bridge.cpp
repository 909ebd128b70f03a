// libkanana_spm_bridge.so: the only code that links Debian's SentencePiece. It turns the C++
// API into the plain-buffer C ABI of spm_bridge.h, catching every exception at the boundary.
#include "spm_bridge.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

namespace sentencepiece::logging {
void SetMinLogLevel(int v);  // exported by libsentencepiece, not declared in its headers
}

namespace {

thread_local std::string g_last_error;

int fail(const std::string& message) {
  g_last_error = message;
  return -1;
}

template <typename T>
T* copy_out(const T* data, size_t count) {
  T* out = static_cast<T*>(std::malloc(count * sizeof(T) + 1));
  if (out != nullptr && count > 0) std::memcpy(out, data, count * sizeof(T));
  return out;
}

const sentencepiece::SentencePieceProcessor* proc(const void* model) {
  return static_cast<const sentencepiece::SentencePieceProcessor*>(model);
}

}  // namespace

extern "C" {

int kanana_spm_abi_version(void) { return KANANA_SPM_BRIDGE_ABI; }
const char* kanana_spm_last_error(void) { return g_last_error.c_str(); }
const char* kanana_spm_library_version(void) { return "sentencepiece 0.1.97 (Debian)"; }
void kanana_spm_free(void* buffer) { std::free(buffer); }

void* kanana_spm_load(const char* model, size_t model_size) {
  try {
    auto p = std::make_unique<sentencepiece::SentencePieceProcessor>();
    const auto status = p->LoadFromSerializedProto(std::string_view(model, model_size));
    if (!status.ok()) {
      fail(status.ToString());
      return nullptr;
    }
    return p.release();
  } catch (const std::exception& e) {
    fail(e.what());
    return nullptr;
  }
}

void kanana_spm_destroy(void* model) { delete static_cast<sentencepiece::SentencePieceProcessor*>(model); }

int kanana_spm_encode(const void* model, const char* text, size_t text_size, int32_t** ids, size_t* count) {
  try {
    std::vector<int> out;
    const auto status = proc(model)->Encode(std::string_view(text, text_size), &out);
    if (!status.ok()) return fail(status.ToString());
    static_assert(sizeof(int) == sizeof(int32_t));
    *ids = reinterpret_cast<int32_t*>(copy_out(out.data(), out.size()));
    *count = out.size();
    return *ids ? 0 : fail("out of memory");
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}

int kanana_spm_decode(const void* model, const int32_t* ids, size_t count, char** text, size_t* text_size) {
  try {
    const int size = proc(model)->GetPieceSize();
    std::vector<int> in;
    in.reserve(count);
    for (size_t i = 0; i < count; ++i)
      if (ids[i] >= 0 && ids[i] < size) in.push_back(ids[i]);  // invalid ids decode to nothing
    std::string out;
    const auto status = proc(model)->Decode(in, &out);
    if (!status.ok()) return fail(status.ToString());
    *text = copy_out(out.data(), out.size());
    *text_size = out.size();
    return *text ? 0 : fail("out of memory");
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}

int32_t kanana_spm_vocab_size(const void* model) { return proc(model)->GetPieceSize(); }

int kanana_spm_id_to_piece(const void* model, int32_t id, const char** piece, size_t* piece_size) {
  if (id < 0 || id >= proc(model)->GetPieceSize()) return fail("id " + std::to_string(id) + " is out of range");
  const std::string& p = proc(model)->IdToPiece(id);
  *piece = p.data();
  *piece_size = p.size();
  return 0;
}

int32_t kanana_spm_piece_to_id(const void* model, const char* piece, size_t piece_size) {
  const std::string_view wanted(piece, piece_size);
  const int id = proc(model)->PieceToId(wanted);
  // PieceToId answers unk_id for unknown pieces; only an exact match counts.
  if (id < 0 || proc(model)->IdToPiece(id) != wanted) return -1;
  return id;
}

int32_t kanana_spm_special_id(const void* model, int which) {
  switch (which) {
    case KANANA_SPM_BOS: return proc(model)->bos_id();
    case KANANA_SPM_EOS: return proc(model)->eos_id();
    case KANANA_SPM_UNK: return proc(model)->unk_id();
    case KANANA_SPM_PAD: return proc(model)->pad_id();
    default: return -1;
  }
}

int kanana_spm_piece_type(const void* model, int32_t id) {
  if (id < 0 || id >= proc(model)->GetPieceSize()) return 0;
  int bits = 0;
  if (proc(model)->IsControl(id)) bits |= KANANA_SPM_CONTROL;
  if (proc(model)->IsByte(id)) bits |= KANANA_SPM_BYTE;
  if (proc(model)->IsUnknown(id)) bits |= KANANA_SPM_UNKNOWN;
  if (proc(model)->IsUnused(id)) bits |= KANANA_SPM_UNUSED;
  return bits;
}

int kanana_spm_train(const char* options, size_t options_size, int verbose, char** model, size_t* model_size) {
  try {
    std::unordered_map<std::string, std::string> kwargs;
    size_t pos = 0;
    while (pos < options_size) {
      const char* key = options + pos;
      const size_t key_len = strnlen(key, options_size - pos);
      pos += key_len + 1;
      if (pos > options_size) return fail("malformed option buffer");
      const char* value = options + pos;
      const size_t value_len = strnlen(value, options_size - pos);
      pos += value_len + 1;
      if (pos > options_size) return fail("malformed option buffer (option without value)");
      kwargs[std::string(key, key_len)] = std::string(value, value_len);
    }
    sentencepiece::logging::SetMinLogLevel(verbose ? 0 : 2);
    std::string serialized;
    const auto status = sentencepiece::SentencePieceTrainer::Train(kwargs, nullptr, &serialized);
    if (!status.ok()) return fail(status.ToString());
    if (serialized.empty()) return fail("the trainer produced an empty model");
    *model = copy_out(serialized.data(), serialized.size());
    *model_size = serialized.size();
    return *model ? 0 : fail("out of memory");
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}

}  // extern "C"
