// SafetensorsFile without LibTorch: maps one .safetensors file and validates its header
// completely on open(), so neither bytes() nor tensor() can ever read outside the mapping.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "base/files.h"
#include "safetensors/reader.h"

namespace kanana::st {

namespace {

// The reference implementation refuses larger headers; so do we (a hostile length must not
// make us allocate or parse gigabytes).
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

uint64_t read_le_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Parses the JSON header, rejecting duplicate top-level keys (which a plain parse would
// silently merge) and nesting deeper than the format uses.
Result<nlohmann::json> parse_header_json(std::string_view text, const std::string& where) {
  std::set<std::string> seen;
  std::string duplicate;
  bool too_deep = false;
  auto callback = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    if (event == E::key && depth == 1 && parsed.is_string()) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!seen.insert(key).second && duplicate.empty()) duplicate = key;
    }
    if ((event == E::object_start || event == E::array_start) && depth > 3) {
      too_deep = true;
      return false;
    }
    return true;
  };
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text.begin(), text.end(), callback);
  } catch (const nlohmann::json::exception& e) {
    return invalid_argument(where + ": header is not valid JSON: " + e.what());
  }
  if (!duplicate.empty()) return invalid_argument(where + ": tensor '" + duplicate + "' appears twice in the header");
  if (too_deep) return invalid_argument(where + ": header nests deeper than the safetensors format allows");
  if (!header.is_object()) return invalid_argument(where + ": header must be a JSON object");
  return header;
}

Result<uint64_t> read_u64(const nlohmann::json& value, const std::string& what) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_number_integer()) {
    const int64_t v = value.get<int64_t>();
    if (v < 0) return invalid_argument(what + " is negative (" + std::to_string(v) + ")");
    return static_cast<uint64_t>(v);
  }
  return invalid_argument(what + " must be a non-negative integer, got " + value.dump());
}

Result<TensorInfo> parse_entry(const std::string& name, const nlohmann::json& entry, const std::string& where) {
  const std::string ctx = where + ": tensor '" + name + "'";
  if (!entry.is_object()) return invalid_argument(ctx + ": entry must be an object with dtype, shape, data_offsets");
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!entry.contains(key)) return invalid_argument(ctx + ": missing field '" + key + "'");
  TensorInfo info;
  info.name = name;
  if (!entry["dtype"].is_string()) return invalid_argument(ctx + ": field 'dtype' must be a string");
  auto dtype = parse_dtype(entry["dtype"].get<std::string>());
  if (!dtype.is_ok()) return dtype.status().with_context(ctx);
  info.dtype = *dtype;

  const auto& shape = entry["shape"];
  if (!shape.is_array()) return invalid_argument(ctx + ": field 'shape' must be an array");
  uint64_t numel = 1;
  bool overflow = false, has_zero = false;
  for (size_t i = 0; i < shape.size(); ++i) {
    auto dim = read_u64(shape[i], "shape[" + std::to_string(i) + "]");
    if (!dim.is_ok()) return dim.status().with_context(ctx);
    if (*dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return invalid_argument(ctx + ": shape[" + std::to_string(i) + "] is too large");
    if (*dim == 0) has_zero = true;
    else if (numel > std::numeric_limits<uint64_t>::max() / *dim) overflow = true;
    numel *= *dim;  // wraps on overflow; only used when !overflow
    info.shape.push_back(static_cast<int64_t>(*dim));
  }
  // A zero dimension makes an empty tensor even next to huge ones; otherwise the element and
  // byte counts must fit in 64 bits (and numel in int64 for LibTorch).
  const uint64_t esize = dtype_size(info.dtype);
  if (has_zero) {
    numel = 0;
  } else if (overflow || numel > std::numeric_limits<uint64_t>::max() / esize ||
             numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return invalid_argument(ctx + ": shape " + shape.dump() + " overflows 64-bit byte counts");
  }

  const auto& offsets = entry["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2)
    return invalid_argument(ctx + ": field 'data_offsets' must be [begin, end]");
  auto begin = read_u64(offsets[0], "data_offsets[0]");
  if (!begin.is_ok()) return begin.status().with_context(ctx);
  auto end = read_u64(offsets[1], "data_offsets[1]");
  if (!end.is_ok()) return end.status().with_context(ctx);
  if (*end < *begin)
    return invalid_argument(ctx + ": data_offsets [" + std::to_string(*begin) + ", " + std::to_string(*end) +
                            "] end before begin");
  info.begin = *begin;
  info.end = *end;
  const uint64_t expected = numel * esize;
  if (info.end - info.begin != expected)
    return invalid_argument(ctx + ": data_offsets span " + std::to_string(info.end - info.begin) + " bytes but " +
                            dtype_name(info.dtype) + " " + shape.dump() + " needs " + std::to_string(expected));
  return info;
}

}  // namespace

const std::filesystem::path& SafetensorsFile::path() const { return file_->path(); }
uint64_t SafetensorsFile::file_size() const { return file_->size(); }

Result<std::shared_ptr<SafetensorsFile>> SafetensorsFile::open(const std::filesystem::path& path) {
  KANANA_ASSIGN_OR_RETURN(auto mapped, MappedFile::open(path));
  const std::string where = path.string();
  const uint64_t size = mapped->size();
  if (size < 8)
    return data_loss(where + ": truncated: " + std::to_string(size) + " bytes, a safetensors file needs at least 8");
  const uint64_t header_len = read_le_u64(mapped->data());
  if (header_len > kMaxHeaderBytes)
    return data_loss(where + ": header length " + std::to_string(header_len) + " exceeds the 100 MB limit (corrupt or not a safetensors file)");
  if (header_len > size - 8)
    return data_loss(where + ": header length " + std::to_string(header_len) + " is larger than the file (" +
                     std::to_string(size) + " bytes): truncated?");

  const std::string_view text(reinterpret_cast<const char*>(mapped->data()) + 8, header_len);
  KANANA_ASSIGN_OR_RETURN(auto header, parse_header_json(text, where));

  std::shared_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->file_ = mapped;
  file->data_offset_ = 8 + header_len;
  const uint64_t data_size = size - file->data_offset_;

  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it.value().is_object()) return invalid_argument(where + ": __metadata__ must be an object of strings");
      for (auto m = it.value().begin(); m != it.value().end(); ++m) {
        if (!m.value().is_string())
          return invalid_argument(where + ": __metadata__ value for '" + m.key() + "' must be a string");
        file->metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    KANANA_ASSIGN_OR_RETURN(auto info, parse_entry(it.key(), it.value(), where));
    file->tensors_.push_back(std::move(info));
  }

  // The data section must be covered exactly: sorted by offsets, each tensor starts where the
  // previous ended, the first at 0 and the last ends at the end of the file.
  std::sort(file->tensors_.begin(), file->tensors_.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t cursor = 0;
  for (const auto& t : file->tensors_) {
    if (t.begin < cursor)
      return invalid_argument(where + ": tensor '" + t.name + "' data_offsets [" + std::to_string(t.begin) + ", " +
                              std::to_string(t.end) + "] overlap the previous tensor (which ends at " +
                              std::to_string(cursor) + ")");
    if (t.begin > cursor)
      return invalid_argument(where + ": tensor '" + t.name + "' starts at " + std::to_string(t.begin) +
                              " leaving a hole after byte " + std::to_string(cursor) + " of the data section");
    if (t.end > data_size)
      return data_loss(where + ": tensor '" + t.name + "' data_offsets end " + std::to_string(t.end) +
                       " is past the data section (" + std::to_string(data_size) + " bytes): truncated?");
    cursor = t.end;
  }
  if (cursor != data_size)
    return data_loss(where + ": data section has " + std::to_string(data_size) + " bytes but the tensors cover " +
                     std::to_string(cursor) + " (trailing bytes or truncated header)");

  for (size_t i = 0; i < file->tensors_.size(); ++i) file->by_name_[file->tensors_[i].name] = i;
  return file;
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

Result<std::span<const uint8_t>> SafetensorsFile::bytes(const std::string& name) const {
  const TensorInfo* info = find(name);
  if (info == nullptr) return not_found(path().string() + ": no tensor named '" + name + "'");
  return std::span<const uint8_t>(file_->data() + data_offset_ + info->begin, info->nbytes());
}

void SafetensorsFile::release_pages(const std::string& name) const {
  const TensorInfo* info = find(name);
  if (info == nullptr || info->nbytes() == 0) return;
  // Only whole pages inside the tensor's range: the edges may hold a neighbour still in use
  // (dropping them would be harmless, only slower).
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t begin = reinterpret_cast<uintptr_t>(file_->data()) + data_offset_ + info->begin;
  const uintptr_t end = begin + info->nbytes();
  const uintptr_t first = (begin + page - 1) / page * page, last = end / page * page;
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

}  // namespace kanana::st
