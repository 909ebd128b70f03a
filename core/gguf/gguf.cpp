// GGUF writer and validating reader (format: gguf.h).
#include "gguf/gguf.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "base/files.h"

namespace kanana::gguf {

namespace {

constexpr size_t kMaxDims = 4;  // GGML_MAX_DIMS

size_t scalar_size(ValueType t) {
  switch (t) {
    case ValueType::kUint8: case ValueType::kInt8: case ValueType::kBool: return 1;
    case ValueType::kUint16: case ValueType::kInt16: return 2;
    case ValueType::kUint32: case ValueType::kInt32: case ValueType::kFloat32: return 4;
    case ValueType::kUint64: case ValueType::kInt64: case ValueType::kFloat64: return 8;
    default: return 0;  // string, array
  }
}

bool is_integer(ValueType t) {
  return t == ValueType::kUint8 || t == ValueType::kInt8 || t == ValueType::kUint16 || t == ValueType::kInt16 ||
         t == ValueType::kUint32 || t == ValueType::kInt32 || t == ValueType::kUint64 || t == ValueType::kInt64;
}
bool is_unsigned(ValueType t) {
  return t == ValueType::kUint8 || t == ValueType::kUint16 || t == ValueType::kUint32 || t == ValueType::kUint64;
}
bool is_float(ValueType t) { return t == ValueType::kFloat32 || t == ValueType::kFloat64; }

// Does `v` fit integer type `t`? (u64 values travel as their bit pattern.)
bool fits(ValueType t, int64_t v) {
  switch (t) {
    case ValueType::kUint8: return v >= 0 && v <= 0xFF;
    case ValueType::kInt8: return v >= -128 && v <= 127;
    case ValueType::kUint16: return v >= 0 && v <= 0xFFFF;
    case ValueType::kInt16: return v >= -32768 && v <= 32767;
    case ValueType::kUint32: return v >= 0 && v <= 0xFFFFFFFFLL;
    case ValueType::kInt32: return v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max();
    case ValueType::kBool: return v == 0 || v == 1;
    default: return true;
  }
}

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

// ---- encoding -----------------------------------------------------------------------------

struct Encoder {
  std::string buf;
  template <typename T>
  void put(T v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    buf.append(b, sizeof(T));
  }
  void put_string(std::string_view s) {
    put<uint64_t>(s.size());
    buf.append(s);
  }
  void put_scalar_int(ValueType t, int64_t v) {
    switch (scalar_size(t)) {
      case 1: put<uint8_t>(static_cast<uint8_t>(v)); break;
      case 2: put<uint16_t>(static_cast<uint16_t>(v)); break;
      case 4: put<uint32_t>(static_cast<uint32_t>(v)); break;
      default: put<uint64_t>(static_cast<uint64_t>(v)); break;
    }
  }
  void put_float(ValueType t, double v) {
    if (t == ValueType::kFloat32) put<float>(static_cast<float>(v));
    else put<double>(v);
  }
  void put_value(const Value& v) {
    if (v.type == ValueType::kString) return put_string(v.s);
    if (is_float(v.type)) return put_float(v.type, v.f);
    if (v.type != ValueType::kArray) return put_scalar_int(v.type, is_unsigned(v.type) ? int64_t(v.u) : v.i);
    put<uint32_t>(static_cast<uint32_t>(v.array_type));
    put<uint64_t>(v.array_size());
    if (v.array_type == ValueType::kString) for (const auto& s : v.strings) put_string(s);
    else if (is_float(v.array_type)) for (double f : v.floats) put_float(v.array_type, f);
    else for (int64_t i : v.ints) put_scalar_int(v.array_type, i);
  }
};

Status check_value(const std::string& key, const Value& v) {
  const std::string where = "GGUF key '" + key + "'";
  if (!is_known_value_type(static_cast<uint32_t>(v.type))) return invalid_argument(where + ": unknown value type");
  if (v.type != ValueType::kArray) {
    if (is_integer(v.type) && !is_unsigned(v.type) && !fits(v.type, v.i)) return invalid_argument(where + ": value out of range");
    if (is_unsigned(v.type) && v.type != ValueType::kUint64 && !fits(v.type, int64_t(v.u))) {
      return invalid_argument(where + ": value out of range");
    }
    if (v.type == ValueType::kBool && !fits(v.type, v.i)) return invalid_argument(where + ": bool must be 0 or 1");
    return Status::ok();
  }
  if (v.array_type == ValueType::kArray) return invalid_argument(where + ": nested arrays are not supported");
  if (!is_known_value_type(static_cast<uint32_t>(v.array_type))) return invalid_argument(where + ": unknown element type");
  if (is_integer(v.array_type) || v.array_type == ValueType::kBool) {
    if (!v.floats.empty() || !v.strings.empty()) return invalid_argument(where + ": integer array holds other values");
    for (size_t i = 0; i < v.ints.size(); ++i) {
      if (!fits(v.array_type, v.ints[i])) {
        return invalid_argument(where + ": element " + std::to_string(i) + " does not fit " + value_type_name(v.array_type));
      }
    }
  } else if (is_float(v.array_type)) {
    if (!v.ints.empty() || !v.strings.empty()) return invalid_argument(where + ": float array holds other values");
  } else if (!v.ints.empty() || !v.floats.empty()) {
    return invalid_argument(where + ": string array holds other values");
  }
  return Status::ok();
}

// ---- decoding -----------------------------------------------------------------------------

// Reads the header region of a mapping with bounds checks; every error says what was being
// read and where, so a truncated or corrupted file names the key or tensor.
class Decoder {
 public:
  Decoder(const uint8_t* data, uint64_t size, std::string origin)
      : data_(data), size_(size), origin_(std::move(origin)) {}

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }

  Status error(const std::string& what) const {
    return data_loss(origin_ + ": " + what + " (at byte " + std::to_string(pos_) + " of " + std::to_string(size_) + ")");
  }
  Status need(uint64_t n, const std::string& what) const {
    if (n > remaining()) return error("file ends inside " + what + "; the file is truncated or corrupt");
    return Status::ok();
  }
  template <typename T>
  Result<T> get(const std::string& what) {
    KANANA_RETURN_IF_ERROR(need(sizeof(T), what));
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  Result<std::string> get_string(const std::string& what) {
    KANANA_ASSIGN_OR_RETURN(uint64_t n, get<uint64_t>(what + " (length)"));
    if (n > remaining()) {
      return error(what + " claims " + std::to_string(n) + " bytes but only " + std::to_string(remaining()) +
                   " remain; the file is truncated or corrupt");
    }
    std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return s;
  }
  Result<int64_t> get_int(ValueType t, const std::string& what) {
    switch (t) {
      case ValueType::kUint8: { KANANA_ASSIGN_OR_RETURN(auto v, get<uint8_t>(what)); return int64_t(v); }
      case ValueType::kInt8: { KANANA_ASSIGN_OR_RETURN(auto v, get<int8_t>(what)); return int64_t(v); }
      case ValueType::kBool: {
        KANANA_ASSIGN_OR_RETURN(auto v, get<uint8_t>(what));
        if (v > 1) return error(what + ": bool value " + std::to_string(v) + " is not 0 or 1");
        return int64_t(v);
      }
      case ValueType::kUint16: { KANANA_ASSIGN_OR_RETURN(auto v, get<uint16_t>(what)); return int64_t(v); }
      case ValueType::kInt16: { KANANA_ASSIGN_OR_RETURN(auto v, get<int16_t>(what)); return int64_t(v); }
      case ValueType::kUint32: { KANANA_ASSIGN_OR_RETURN(auto v, get<uint32_t>(what)); return int64_t(v); }
      case ValueType::kInt32: { KANANA_ASSIGN_OR_RETURN(auto v, get<int32_t>(what)); return int64_t(v); }
      case ValueType::kUint64: { KANANA_ASSIGN_OR_RETURN(auto v, get<uint64_t>(what)); return int64_t(v); }
      default: { KANANA_ASSIGN_OR_RETURN(auto v, get<int64_t>(what)); return v; }
    }
  }
  Result<double> get_float(ValueType t, const std::string& what) {
    if (t == ValueType::kFloat32) {
      KANANA_ASSIGN_OR_RETURN(float v, get<float>(what));
      return double(v);
    }
    return get<double>(what);
  }
  Result<ValueType> get_type(const std::string& what) {
    KANANA_ASSIGN_OR_RETURN(uint32_t t, get<uint32_t>(what));
    if (!is_known_value_type(t)) return error(what + ": unknown value type " + std::to_string(t));
    return static_cast<ValueType>(t);
  }

  Result<Value> get_value(const std::string& what) {
    Value v;
    KANANA_ASSIGN_OR_RETURN(v.type, get_type(what + " type"));
    if (v.type == ValueType::kString) {
      KANANA_ASSIGN_OR_RETURN(v.s, get_string(what));
    } else if (is_float(v.type)) {
      KANANA_ASSIGN_OR_RETURN(v.f, get_float(v.type, what));
    } else if (v.type != ValueType::kArray) {
      KANANA_ASSIGN_OR_RETURN(int64_t i, get_int(v.type, what));
      if (is_unsigned(v.type)) v.u = uint64_t(i);
      else v.i = i;
    } else {
      KANANA_ASSIGN_OR_RETURN(v.array_type, get_type(what + " element type"));
      if (v.array_type == ValueType::kArray) return error(what + ": nested arrays are not supported");
      KANANA_ASSIGN_OR_RETURN(uint64_t n, get<uint64_t>(what + " element count"));
      // Each element takes at least its scalar size (8 for a string's length): a count that
      // cannot fit in what remains is refused before anything is allocated.
      const uint64_t min_each = v.array_type == ValueType::kString ? 8 : scalar_size(v.array_type);
      if (n > remaining() / min_each) {
        return error(what + " claims " + std::to_string(n) + " elements but only " + std::to_string(remaining()) +
                     " bytes remain; the file is truncated or corrupt");
      }
      for (uint64_t k = 0; k < n; ++k) {
        const std::string elem = what + "[" + std::to_string(k) + "]";
        if (v.array_type == ValueType::kString) {
          if (k == 0) v.strings.reserve(n);
          KANANA_ASSIGN_OR_RETURN(std::string s, get_string(elem));
          v.strings.push_back(std::move(s));
        } else if (is_float(v.array_type)) {
          if (k == 0) v.floats.reserve(n);
          KANANA_ASSIGN_OR_RETURN(double f, get_float(v.array_type, elem));
          v.floats.push_back(f);
        } else {
          if (k == 0) v.ints.reserve(n);
          KANANA_ASSIGN_OR_RETURN(int64_t i, get_int(v.array_type, elem));
          v.ints.push_back(i);
        }
      }
    }
    return v;
  }

 private:
  const uint8_t* data_;
  uint64_t size_;
  std::string origin_;
  uint64_t pos_ = 0;
};

Result<uint32_t> alignment_of(const Value& v, const std::string& origin) {
  if (v.type != ValueType::kUint32 || v.u == 0 || (v.u & (v.u - 1)) != 0) {
    return invalid_argument(origin + ": key '" + std::string(kAlignmentKey) +
                            "' must be a u32 power of two, got " + v.describe());
  }
  return static_cast<uint32_t>(v.u);
}

}  // namespace

// ---- values -------------------------------------------------------------------------------

std::string value_type_name(ValueType type) {
  switch (type) {
    case ValueType::kUint8: return "u8";
    case ValueType::kInt8: return "i8";
    case ValueType::kUint16: return "u16";
    case ValueType::kInt16: return "i16";
    case ValueType::kUint32: return "u32";
    case ValueType::kInt32: return "i32";
    case ValueType::kFloat32: return "f32";
    case ValueType::kBool: return "bool";
    case ValueType::kString: return "string";
    case ValueType::kArray: return "array";
    case ValueType::kUint64: return "u64";
    case ValueType::kInt64: return "i64";
    case ValueType::kFloat64: return "f64";
  }
  return "type " + std::to_string(static_cast<uint32_t>(type));
}

bool is_known_value_type(uint32_t type) { return type <= static_cast<uint32_t>(ValueType::kFloat64); }

Value Value::array_of(ValueType element) {
  Value x;
  x.type = ValueType::kArray;
  x.array_type = element;
  return x;
}

Value Value::string_array(std::vector<std::string> v) {
  Value x = array_of(ValueType::kString);
  x.strings = std::move(v);
  return x;
}

Value Value::int_array(ValueType element, std::vector<int64_t> v) {
  Value x = array_of(element);
  x.ints = std::move(v);
  return x;
}

Value Value::float_array(ValueType element, std::vector<double> v) {
  Value x = array_of(element);
  x.floats = std::move(v);
  return x;
}

size_t Value::array_size() const {
  if (array_type == ValueType::kString) return strings.size();
  if (is_float(array_type)) return floats.size();
  return ints.size();
}

Result<uint64_t> Value::as_uint() const {
  if (is_unsigned(type)) return u;
  if (is_integer(type) && i >= 0) return uint64_t(i);
  return invalid_argument("expected a non-negative integer, got " + describe());
}

std::string Value::describe() const {
  switch (type) {
    case ValueType::kString: return "string \"" + (s.size() > 60 ? s.substr(0, 60) + "..." : s) + "\"";
    case ValueType::kArray: return "array of " + std::to_string(array_size()) + " " + value_type_name(array_type);
    case ValueType::kFloat32: case ValueType::kFloat64: return value_type_name(type) + " " + std::to_string(f);
    case ValueType::kBool: return i ? "bool true" : "bool false";
    default: return value_type_name(type) + " " + (is_unsigned(type) ? std::to_string(u) : std::to_string(i));
  }
}

uint64_t TensorInfo::elements() const {
  uint64_t n = 1;
  for (uint64_t d : ne) n *= d;
  return n;
}

Result<uint64_t> tensor_nbytes(const std::string& name, GgmlType type, std::span<const uint64_t> ne) {
  const auto traits = ggml_type_traits(static_cast<uint32_t>(type));
  if (!traits) return invalid_argument("tensor '" + name + "': unknown ggml type " + std::to_string(uint32_t(type)));
  if (ne.empty() || ne.size() > kMaxDims) {
    return invalid_argument("tensor '" + name + "': " + std::to_string(ne.size()) + " dimensions (1 to 4 allowed)");
  }
  for (size_t d = 0; d < ne.size(); ++d) {
    if (ne[d] == 0 || ne[d] > (uint64_t(1) << 62)) {
      return invalid_argument("tensor '" + name + "': dimension " + std::to_string(d) + " is " + std::to_string(ne[d]));
    }
  }
  if (ne[0] % traits->block_size != 0) {
    return invalid_argument("tensor '" + name + "': ne[0] = " + std::to_string(ne[0]) + " is not a multiple of the " +
                            traits->name + " block size " + std::to_string(traits->block_size));
  }
  uint64_t bytes = ne[0] / traits->block_size * traits->type_size;
  for (size_t d = 1; d < ne.size(); ++d) {
    if (bytes > std::numeric_limits<uint64_t>::max() / ne[d] / 2) {
      return invalid_argument("tensor '" + name + "': its size overflows 64 bits");
    }
    bytes *= ne[d];
  }
  return bytes;
}

// ---- writer -------------------------------------------------------------------------------

GgufWriter::GgufWriter() = default;
GgufWriter::~GgufWriter() = default;

Status GgufWriter::add(std::string key, Value value) {
  if (out_) return failed_precondition("GGUF key '" + key + "' added after open()");
  if (key.empty()) return invalid_argument("GGUF key is empty");
  if (key_index_.count(key)) return already_exists("GGUF key '" + key + "' added twice");
  KANANA_RETURN_IF_ERROR(check_value(key, value));
  if (key == kAlignmentKey) {
    KANANA_ASSIGN_OR_RETURN(alignment_, alignment_of(value, "GGUF writer"));
  }
  key_index_.emplace(key, kvs_.size());
  kvs_.push_back({std::move(key), std::move(value)});
  return Status::ok();
}

Status GgufWriter::add_tensor(std::string name, GgmlType type, std::vector<uint64_t> ne) {
  if (out_) return failed_precondition("GGUF tensor '" + name + "' added after open()");
  if (tensor_index_.count(name)) return already_exists("GGUF tensor '" + name + "' added twice");
  KANANA_ASSIGN_OR_RETURN(uint64_t nbytes, tensor_nbytes(name, type, ne));
  tensor_index_.emplace(name, tensors_.size());
  tensors_.push_back({std::move(name), type, std::move(ne), 0, nbytes});
  return Status::ok();
}

Status GgufWriter::open(const std::filesystem::path& path) {
  if (out_) return failed_precondition("GGUF writer opened twice");
  // Offsets are fixed now, so the alignment may no longer change.
  data_bytes_ = 0;
  for (auto& t : tensors_) {
    t.offset = data_bytes_;
    data_bytes_ = align_up(data_bytes_ + t.nbytes, alignment_);
  }
  Encoder e;
  e.put<uint32_t>(kMagic);
  e.put<uint32_t>(kVersion);
  e.put<uint64_t>(tensors_.size());
  e.put<uint64_t>(kvs_.size());
  for (const auto& kv : kvs_) {
    e.put_string(kv.key);
    e.put<uint32_t>(static_cast<uint32_t>(kv.value.type));
    e.put_value(kv.value);
  }
  for (const auto& t : tensors_) {
    e.put_string(t.name);
    e.put<uint32_t>(static_cast<uint32_t>(t.ne.size()));
    for (uint64_t d : t.ne) e.put<uint64_t>(d);
    e.put<uint32_t>(static_cast<uint32_t>(t.type));
    e.put<uint64_t>(t.offset);
  }
  e.buf.resize(align_up(e.buf.size(), alignment_), '\0');
  KANANA_ASSIGN_OR_RETURN(out_, AtomicFileWriter::open(path));
  return out_->write(e.buf);
}

Status GgufWriter::write_tensor(const std::string& name, std::span<const uint8_t> data) {
  if (!out_) return failed_precondition("GGUF tensor '" + name + "' written before open()");
  if (next_tensor_ >= tensors_.size()) return invalid_argument("GGUF tensor '" + name + "' was not declared");
  const TensorInfo& t = tensors_[next_tensor_];
  if (t.name != name) {
    return invalid_argument("GGUF tensor '" + name + "' written out of order (expected '" + t.name + "')");
  }
  if (data.size() != t.nbytes) {
    return invalid_argument("GGUF tensor '" + name + "': " + std::to_string(data.size()) + " bytes given, " +
                            std::to_string(t.nbytes) + " declared (" + ggml_type_name(t.type) + ")");
  }
  KANANA_RETURN_IF_ERROR(out_->write(data.data(), data.size()));
  const uint64_t padded = align_up(t.nbytes, alignment_);
  static const char zeros[256] = {};
  for (uint64_t left = padded - t.nbytes; left > 0;) {
    const uint64_t n = std::min<uint64_t>(left, sizeof zeros);
    KANANA_RETURN_IF_ERROR(out_->write(zeros, n));
    left -= n;
  }
  data_written_ += padded;
  ++next_tensor_;
  return Status::ok();
}

Status GgufWriter::commit() {
  if (!out_) return failed_precondition("GGUF writer committed before open()");
  if (next_tensor_ != tensors_.size()) {
    return failed_precondition("GGUF tensor '" + tensors_[next_tensor_].name + "' was declared but never written");
  }
  Status st = out_->commit();
  out_.reset();
  return st;
}

// ---- reader -------------------------------------------------------------------------------

GgufFile::~GgufFile() = default;

Result<std::unique_ptr<GgufFile>> GgufFile::open(const std::filesystem::path& path) {
  KANANA_ASSIGN_OR_RETURN(auto mapped, MappedFile::open(path));
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->file_ = mapped;
  const std::string origin = path.string();
  Decoder d(mapped->data(), mapped->size(), origin);

  KANANA_ASSIGN_OR_RETURN(uint32_t magic, d.get<uint32_t>("the magic number"));
  if (magic != kMagic) return invalid_argument(origin + ": not a GGUF file (no \"GGUF\" magic)");
  KANANA_ASSIGN_OR_RETURN(f->version_, d.get<uint32_t>("the version"));
  if (f->version_ < 2 || f->version_ > 3) {
    return invalid_argument(origin + ": GGUF version " + std::to_string(f->version_) + " is not supported (2 or 3)");
  }
  KANANA_ASSIGN_OR_RETURN(uint64_t n_tensors, d.get<uint64_t>("the tensor count"));
  KANANA_ASSIGN_OR_RETURN(uint64_t n_kv, d.get<uint64_t>("the metadata count"));
  // A key-value needs at least 8 (key length) + 4 (type) + 1 bytes, a tensor info 8 + 4 + 8 + 4 + 8.
  if (n_kv > d.remaining() / 13) {
    return d.error("the header claims " + std::to_string(n_kv) + " metadata keys, more than the file can hold");
  }
  if (n_tensors > d.remaining() / 32) {
    return d.error("the header claims " + std::to_string(n_tensors) + " tensors, more than the file can hold");
  }

  f->kvs_.reserve(n_kv);
  for (uint64_t k = 0; k < n_kv; ++k) {
    const std::string label = "metadata key #" + std::to_string(k);
    KANANA_ASSIGN_OR_RETURN(std::string key, d.get_string(label + " name"));
    KANANA_ASSIGN_OR_RETURN(Value value, d.get_value("the value of key '" + key + "'"));
    if (f->key_index_.count(key)) return d.error("key '" + key + "' appears twice");
    if (key == kAlignmentKey) {
      KANANA_ASSIGN_OR_RETURN(f->alignment_, alignment_of(value, origin));
    }
    f->key_index_.emplace(key, f->kvs_.size());
    f->kvs_.push_back({std::move(key), std::move(value)});
  }

  f->tensors_.reserve(n_tensors);
  for (uint64_t k = 0; k < n_tensors; ++k) {
    KANANA_ASSIGN_OR_RETURN(std::string name, d.get_string("the name of tensor #" + std::to_string(k)));
    const std::string what = "tensor '" + name + "'";
    if (f->tensor_index_.count(name)) return d.error(what + " appears twice");
    KANANA_ASSIGN_OR_RETURN(uint32_t n_dims, d.get<uint32_t>(what + " dimension count"));
    if (n_dims == 0 || n_dims > kMaxDims) {
      return d.error(what + " has " + std::to_string(n_dims) + " dimensions (1 to 4 allowed)");
    }
    TensorInfo t;
    t.name = name;
    for (uint32_t i = 0; i < n_dims; ++i) {
      KANANA_ASSIGN_OR_RETURN(uint64_t ne, d.get<uint64_t>(what + " ne[" + std::to_string(i) + "]"));
      t.ne.push_back(ne);
    }
    KANANA_ASSIGN_OR_RETURN(uint32_t type, d.get<uint32_t>(what + " type"));
    if (!ggml_type_traits(type)) return d.error(what + " has unknown ggml type " + std::to_string(type));
    t.type = static_cast<GgmlType>(type);
    KANANA_ASSIGN_OR_RETURN(t.offset, d.get<uint64_t>(what + " offset"));
    auto nbytes = tensor_nbytes(name, t.type, t.ne);
    if (!nbytes.is_ok()) return d.error(nbytes.status().message());
    t.nbytes = *nbytes;
    f->tensor_index_.emplace(name, f->tensors_.size());
    f->tensors_.push_back(std::move(t));
  }

  f->data_offset_ = align_up(d.pos(), f->alignment_);
  const uint64_t size = mapped->size();
  const uint64_t data_size = f->data_offset_ <= size ? size - f->data_offset_ : 0;
  if (!f->tensors_.empty() && f->data_offset_ > size) {
    return data_loss(origin + ": the file ends before its data section (" + std::to_string(size) + " bytes); it is truncated");
  }
  std::vector<const TensorInfo*> by_offset;
  for (const auto& t : f->tensors_) {
    const std::string what = origin + ": tensor '" + t.name + "'";
    if (t.offset % f->alignment_ != 0) {
      return invalid_argument(what + ": offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
                              std::to_string(f->alignment_));
    }
    if (t.offset > data_size || t.nbytes > data_size - t.offset) {
      return data_loss(what + " (" + ggml_type_name(t.type) + ", " + std::to_string(t.nbytes) + " bytes at data offset " +
                       std::to_string(t.offset) + ") runs past the end of the file (data section " +
                       std::to_string(data_size) + " bytes): the file is truncated or its header lies about the tensor's size");
    }
    by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const TensorInfo& a = *by_offset[i - 1];
    const TensorInfo& b = *by_offset[i];
    if (a.offset + a.nbytes > b.offset) {
      return invalid_argument(origin + ": tensor '" + a.name + "' (" + std::to_string(a.nbytes) + " bytes at " +
                              std::to_string(a.offset) + ") overlaps tensor '" + b.name + "' at " + std::to_string(b.offset) +
                              ": the header lies about a tensor's size or offset");
    }
  }
  return f;
}

const Value* GgufFile::find(std::string_view key) const {
  auto it = key_index_.find(key);
  return it == key_index_.end() ? nullptr : &kvs_[it->second].value;
}

const TensorInfo* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::span<const uint8_t> GgufFile::tensor_data(const TensorInfo& t) const {
  return {file_->data() + data_offset_ + t.offset, t.nbytes};
}

Result<std::vector<float>> GgufFile::tensor_as_f32(const std::string& name) const {
  const TensorInfo* t = find_tensor(name);
  if (!t) return not_found(file_->path().string() + ": no tensor '" + name + "'");
  const int64_t n = static_cast<int64_t>(t->ne[0]);
  const uint64_t rows = t->elements() / t->ne[0];
  const uint64_t rb = row_bytes(t->type, n);
  std::vector<float> out(t->elements());
  const auto data = tensor_data(*t);
  for (uint64_t r = 0; r < rows; ++r) {
    KANANA_RETURN_IF_ERROR(dequantize_row(t->type, data.data() + r * rb, n, out.data() + r * n, name));
  }
  return out;
}

}  // namespace kanana::gguf
