// GGUF (v3), the file format of llama.cpp, Ollama and LM Studio: a streaming writer and a
// reader that validates every field before anything is trusted. Torch-free.
//
// Layout (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md), all little-endian:
//   "GGUF" u32 version=3, u64 tensor_count, u64 kv_count
//   kv_count x { string key, u32 value_type, value }        string = u64 length + bytes
//       array value = u32 element_type, u64 count, count elements (no nested arrays here)
//   tensor_count x { string name, u32 n_dims, u64 ne[n_dims], u32 ggml_type, u64 offset }
//       ne[0] is the innermost (contiguous) dimension: a PyTorch (rows, cols) weight is
//       ne = {cols, rows}. offset is relative to the data section and a multiple of the
//       alignment (`general.alignment`, default 32).
//   zero padding to the alignment, then the data section (each tensor padded to the alignment).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "gguf/quants.h"

namespace kanana {
class AtomicFileWriter;
class MappedFile;
}  // namespace kanana

namespace kanana::gguf {

inline constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
inline constexpr uint32_t kVersion = 3;
inline constexpr uint32_t kDefaultAlignment = 32;
inline constexpr const char* kAlignmentKey = "general.alignment";

enum class ValueType : uint32_t {
  kUint8 = 0, kInt8 = 1, kUint16 = 2, kInt16 = 3, kUint32 = 4, kInt32 = 5, kFloat32 = 6,
  kBool = 7, kString = 8, kArray = 9, kUint64 = 10, kInt64 = 11, kFloat64 = 12,
};
// "u8", "i32", "f32", "string", "array", ... ("type 42" for values outside the enum).
std::string value_type_name(ValueType type);
bool is_known_value_type(uint32_t type);

// One metadata value. Scalars live in the member of their kind (unsigned in `u`, signed and
// bool in `i`, floats in `f`, strings in `s`); arrays keep their element type and fill the
// matching vector. Integer arrays keep every value exactly (u64 as its bit pattern in `ints`).
struct Value {
  ValueType type = ValueType::kUint32;
  ValueType array_type = ValueType::kUint8;  // element type when type == kArray
  uint64_t u = 0;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::vector<int64_t> ints;          // integer and bool arrays
  std::vector<double> floats;         // f32/f64 arrays
  std::vector<std::string> strings;   // string arrays

  static Value u8(uint8_t v) { return unsigned_of(ValueType::kUint8, v); }
  static Value u16(uint16_t v) { return unsigned_of(ValueType::kUint16, v); }
  static Value u32(uint32_t v) { return unsigned_of(ValueType::kUint32, v); }
  static Value u64(uint64_t v) { return unsigned_of(ValueType::kUint64, v); }
  static Value i8(int8_t v) { return signed_of(ValueType::kInt8, v); }
  static Value i16(int16_t v) { return signed_of(ValueType::kInt16, v); }
  static Value i32(int32_t v) { return signed_of(ValueType::kInt32, v); }
  static Value i64(int64_t v) { return signed_of(ValueType::kInt64, v); }
  static Value f32(float v) { Value x; x.type = ValueType::kFloat32; x.f = v; return x; }
  static Value f64(double v) { Value x; x.type = ValueType::kFloat64; x.f = v; return x; }
  static Value boolean(bool v) { return signed_of(ValueType::kBool, v ? 1 : 0); }
  static Value str(std::string v) { Value x; x.type = ValueType::kString; x.s = std::move(v); return x; }
  static Value string_array(std::vector<std::string> v);
  // element: an integer type or kBool; values must fit it (checked by the writer).
  static Value int_array(ValueType element, std::vector<int64_t> v);
  // element: kFloat32 or kFloat64.
  static Value float_array(ValueType element, std::vector<double> v);

  bool is_array() const { return type == ValueType::kArray; }
  size_t array_size() const;
  // The value as an unsigned integer when it is a non-negative integer scalar of any width.
  Result<uint64_t> as_uint() const;
  // Short rendering for errors and `kanana model info`-style listings (arrays: type and count).
  std::string describe() const;

 private:
  static Value unsigned_of(ValueType t, uint64_t v) { Value x; x.type = t; x.u = v; return x; }
  static Value signed_of(ValueType t, int64_t v) { Value x; x.type = t; x.i = v; return x; }
  static Value array_of(ValueType element);
};

struct KeyValue {
  std::string key;
  Value value;
};

struct TensorInfo {
  std::string name;
  GgmlType type = GgmlType::kF32;
  std::vector<uint64_t> ne;  // innermost first (GGUF order), 1 to 4 dimensions
  uint64_t offset = 0;       // in the data section
  uint64_t nbytes = 0;       // ggml_nbytes: ne[0] / block * type size * ne[1] * ...
  uint64_t elements() const;
};

// Bytes of a tensor of `type` with `ne`, or an error naming `name` when ne[0] is not a multiple
// of the type's block size, a dimension is zero or the size overflows.
Result<uint64_t> tensor_nbytes(const std::string& name, GgmlType type, std::span<const uint64_t> ne);

// Streaming writer. Declare every key and tensor first, then write each tensor's bytes in
// declaration order; commit() fsyncs and renames the temporary file onto the target, so a
// failed or abandoned write never leaves a file at `path` (the temporary is removed).
//
//   GgufWriter w;  w.add("general.architecture", Value::str("llama"));  w.add_tensor(...);
//   KANANA_RETURN_IF_ERROR(w.open(path));  for each: w.write_tensor(name, bytes);  w.commit();
class GgufWriter {
 public:
  GgufWriter();
  ~GgufWriter();
  GgufWriter(const GgufWriter&) = delete;
  GgufWriter& operator=(const GgufWriter&) = delete;

  // Keys are unique; `general.alignment` (a u32 power of two) sets the alignment and is
  // written like any other key (add it to have it in the file; 32 is assumed otherwise).
  Status add(std::string key, Value value);
  // ne innermost first; the tensor's size is checked against its type's block size here.
  Status add_tensor(std::string name, GgmlType type, std::vector<uint64_t> ne);

  // Writes the header, metadata and tensor infos to a temporary file next to `path`.
  Status open(const std::filesystem::path& path);
  // The next declared tensor; `data` must be exactly its nbytes.
  Status write_tensor(const std::string& name, std::span<const uint8_t> data);
  // Every tensor written -> padding, fsync, rename.
  Status commit();

  const std::vector<KeyValue>& metadata() const { return kvs_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  uint32_t alignment() const { return alignment_; }

 private:
  std::vector<KeyValue> kvs_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> key_index_, tensor_index_;
  uint32_t alignment_ = kDefaultAlignment;
  uint64_t data_bytes_ = 0;
  size_t next_tensor_ = 0;
  uint64_t data_written_ = 0;  // bytes of the data section written so far
  std::unique_ptr<AtomicFileWriter> out_;
};

// A GGUF file, memory-mapped and fully validated on open(): every string, array and count
// is checked against the bytes that remain before anything is allocated, value and tensor
// types must be known, keys and tensor names unique, each tensor's size must follow from its
// shape and type, and its data must lie inside the file, aligned, without overlapping
// another. Errors name the file and the key or tensor.
class GgufFile {
 public:
  static Result<std::unique_ptr<GgufFile>> open(const std::filesystem::path& path);
  ~GgufFile();

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  const std::vector<KeyValue>& metadata() const { return kvs_; }
  const Value* find(std::string_view key) const;
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find_tensor(std::string_view name) const;
  uint64_t data_offset() const { return data_offset_; }  // start of the data section
  // The stored bytes of a tensor (a view into the mapping).
  std::span<const uint8_t> tensor_data(const TensorInfo& tensor) const;
  // The tensor as fp32 (F32, F16, BF16, Q8_0, Q4_0); other types are refused by name.
  Result<std::vector<float>> tensor_as_f32(const std::string& name) const;

 private:
  GgufFile() = default;
  std::shared_ptr<MappedFile> file_;
  uint32_t version_ = 0;
  uint32_t alignment_ = kDefaultAlignment;
  std::vector<KeyValue> kvs_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> key_index_, tensor_index_;
  uint64_t data_offset_ = 0;
};

}  // namespace kanana::gguf
