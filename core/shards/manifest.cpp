// manifest.json of a packed dataset: (de)serialisation with field-naming errors, and the
// small format helpers (dtype choice, FNV-1a checksums) that writer and reader share.
#include <cinttypes>
#include <cstdio>

#include "base/files.h"
#include "shards/shard.h"

namespace kanana::shards {

const char* split_name(Split split) { return split == Split::kTrain ? "train" : "val"; }

uint32_t dtype_bytes_for_vocab(int64_t vocab_size) { return vocab_size <= 65536 ? 2 : 4; }

namespace {

Json shard_entries_json(const std::vector<ShardEntry>& entries) {
  Json list = Json::array();
  for (const auto& e : entries) {
    list.push_back({{"file", e.file}, {"index_file", e.index_file}, {"tokens", e.tokens}, {"docs", e.docs},
                    {"bytes", e.bytes}, {"checksum", "fnv1a64:" + e.checksum},
                    {"index_checksum", "fnv1a64:" + e.index_checksum}});
  }
  return list;
}

Result<uint64_t> get_count(const JsonReader& r, const std::string& key) {
  KANANA_ASSIGN_OR_RETURN(int64_t v, r.get_int(key));
  if (v < 0) return r.field_error(key, "must be >= 0, got " + std::to_string(v));
  return static_cast<uint64_t>(v);
}

Result<std::string> get_checksum(const JsonReader& r, const std::string& key) {
  KANANA_ASSIGN_OR_RETURN(std::string v, r.get_string(key));
  if (v.rfind("fnv1a64:", 0) != 0 || v.size() != 8 + 16)
    return r.field_error(key, "must look like 'fnv1a64:<16 hex digits>', got '" + v + "'");
  return v.substr(8);
}

Result<std::vector<ShardEntry>> parse_entries(const JsonReader& top, const std::string& key,
                                              const std::string& origin) {
  std::vector<ShardEntry> out;
  if (!top.has(key)) return top.field_error(key, "is missing");
  const Json& list = top.json()[key];
  if (!list.is_array()) return top.field_error(key, "must be an array");
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = key + "[" + std::to_string(i) + "]";
    if (!list[i].is_object()) return invalid_argument(origin + ": field '" + path + "' must be an object");
    JsonReader r(list[i], origin, path);
    ShardEntry e;
    KANANA_ASSIGN_OR_RETURN(e.file, r.get_string("file"));
    KANANA_ASSIGN_OR_RETURN(e.index_file, r.get_string("index_file"));
    KANANA_ASSIGN_OR_RETURN(e.tokens, get_count(r, "tokens"));
    KANANA_ASSIGN_OR_RETURN(e.docs, get_count(r, "docs"));
    KANANA_ASSIGN_OR_RETURN(e.bytes, get_count(r, "bytes"));
    KANANA_ASSIGN_OR_RETURN(e.checksum, get_checksum(r, "checksum"));
    KANANA_ASSIGN_OR_RETURN(e.index_checksum, get_checksum(r, "index_checksum"));
    // Shard paths must stay inside the pack folder.
    for (const std::string* f : {&e.file, &e.index_file}) {
      if (f->empty() || f->front() == '/' || f->find("..") != std::string::npos)
        return invalid_argument(origin + ": field '" + path + "' has an unsafe file name '" + *f + "'");
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

Json Manifest::to_json() const {
  Json inputs_json = Json::array();
  for (const auto& in : inputs) inputs_json.push_back({{"path", in.path}, {"size", in.size}, {"mtime", in.mtime}});
  Json tok = {{"path", tokenizer_path}, {"kind", tokenizer_kind}, {"fingerprint", tokenizer_fingerprint},
              {"vocab_size", vocab_size}, {"bos_id", bos_id ? Json(*bos_id) : Json()},
              {"eos_id", eos_id ? Json(*eos_id) : Json()}};
  return Json{{"format", "kanana-token-shards"},
              {"format_version", format_version},
              {"source_name", source_name},
              {"created", created},
              {"inputs", inputs_json},
              {"text_field", text_field},
              {"tokenizer", tok},
              {"add_bos", add_bos},
              {"add_eos", add_eos},
              {"dtype", dtype_bytes == 2 ? "uint16" : "uint32"},
              {"val_fraction", val_fraction},
              {"seq_len_hint", seq_len_hint},
              {"input_records", input_records},
              {"bad_lines", bad_lines},
              {"empty_docs", empty_docs},
              {"train_tokens", train_tokens},
              {"train_docs", train_docs},
              {"val_tokens", val_tokens},
              {"val_docs", val_docs},
              {"train_shards", shard_entries_json(train_shards)},
              {"val_shards", shard_entries_json(val_shards)},
              {"extra", extra}};
}

Result<Manifest> Manifest::from_json(const Json& json, const std::string& origin) {
  if (!json.is_object()) return invalid_argument(origin + ": must be a JSON object");
  JsonReader r(json, origin);
  Manifest m;
  KANANA_ASSIGN_OR_RETURN(std::string format, r.get_string("format"));
  if (format != "kanana-token-shards")
    return r.field_error("format", "must be 'kanana-token-shards', got '" + format + "'");
  KANANA_ASSIGN_OR_RETURN(int64_t version, r.get_int("format_version"));
  if (version != kShardFormatVersion)
    return r.field_error("format_version", "is " + std::to_string(version) + "; this build reads version " +
                                               std::to_string(kShardFormatVersion));
  m.format_version = static_cast<int>(version);
  KANANA_ASSIGN_OR_RETURN(m.source_name, r.get_string("source_name"));
  Status err;
  m.created = r.get_string_or("created", "", &err);
  m.text_field = r.get_string_or("text_field", "", &err);
  if (r.has("inputs")) {
    const Json& list = json["inputs"];
    if (!list.is_array()) return r.field_error("inputs", "must be an array");
    for (size_t i = 0; i < list.size(); ++i) {
      JsonReader in(list[i], origin, "inputs[" + std::to_string(i) + "]");
      InputFileEntry e;
      KANANA_ASSIGN_OR_RETURN(e.path, in.get_string("path"));
      e.size = static_cast<uint64_t>(in.get_int_or("size", 0, &err));
      e.mtime = in.get_int_or("mtime", 0, &err);
      m.inputs.push_back(std::move(e));
    }
  }
  KANANA_ASSIGN_OR_RETURN(JsonReader tok, r.child("tokenizer"));
  m.tokenizer_path = tok.get_string_or("path", "", &err);
  m.tokenizer_kind = tok.get_string_or("kind", "", &err);
  KANANA_ASSIGN_OR_RETURN(m.tokenizer_fingerprint, tok.get_string("fingerprint"));
  KANANA_ASSIGN_OR_RETURN(m.vocab_size, tok.get_int("vocab_size"));
  if (m.vocab_size <= 0) return tok.field_error("vocab_size", "must be > 0");
  if (tok.has("bos_id")) { KANANA_ASSIGN_OR_RETURN(int64_t v, tok.get_int("bos_id")); m.bos_id = int32_t(v); }
  if (tok.has("eos_id")) { KANANA_ASSIGN_OR_RETURN(int64_t v, tok.get_int("eos_id")); m.eos_id = int32_t(v); }
  m.add_bos = r.get_bool_or("add_bos", false, &err);
  m.add_eos = r.get_bool_or("add_eos", true, &err);
  KANANA_ASSIGN_OR_RETURN(std::string dtype, r.get_string("dtype"));
  if (dtype == "uint16") m.dtype_bytes = 2;
  else if (dtype == "uint32") m.dtype_bytes = 4;
  else return r.field_error("dtype", "must be 'uint16' or 'uint32', got '" + dtype + "'");
  m.val_fraction = r.get_number_or("val_fraction", 0.0, &err);
  m.seq_len_hint = static_cast<uint64_t>(r.get_int_or("seq_len_hint", 0, &err));
  m.input_records = static_cast<uint64_t>(r.get_int_or("input_records", 0, &err));
  m.bad_lines = static_cast<uint64_t>(r.get_int_or("bad_lines", 0, &err));
  m.empty_docs = static_cast<uint64_t>(r.get_int_or("empty_docs", 0, &err));
  KANANA_RETURN_IF_ERROR(err);
  KANANA_ASSIGN_OR_RETURN(m.train_tokens, get_count(r, "train_tokens"));
  KANANA_ASSIGN_OR_RETURN(m.train_docs, get_count(r, "train_docs"));
  KANANA_ASSIGN_OR_RETURN(m.val_tokens, get_count(r, "val_tokens"));
  KANANA_ASSIGN_OR_RETURN(m.val_docs, get_count(r, "val_docs"));
  KANANA_ASSIGN_OR_RETURN(m.train_shards, parse_entries(r, "train_shards", origin));
  KANANA_ASSIGN_OR_RETURN(m.val_shards, parse_entries(r, "val_shards", origin));
  if (r.has("extra")) m.extra = json["extra"];
  // The totals must match the shard lists, or the manifest was edited or half-written.
  for (Split split : {Split::kTrain, Split::kValidation}) {
    uint64_t tokens = 0, docs = 0;
    for (const auto& e : m.shards(split)) { tokens += e.tokens; docs += e.docs; }
    if (tokens != m.tokens(split) || docs != m.docs(split)) {
      const std::string name = split_name(split);
      return data_loss(origin + ": " + name + "_tokens/" + name + "_docs (" + std::to_string(m.tokens(split)) +
                       "/" + std::to_string(m.docs(split)) + ") disagree with the sum over " + name +
                       "_shards (" + std::to_string(tokens) + "/" + std::to_string(docs) + ")");
    }
  }
  return m;
}

Result<Manifest> read_manifest(const std::filesystem::path& pack_dir) {
  const auto path = pack_dir / "manifest.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (!std::filesystem::is_directory(pack_dir, ec))
      return not_found(pack_dir.string() + ": no such pack folder");
    return not_found(path.string() + ": missing; the folder is not a finished pack (run `kanana data pack`)");
  }
  KANANA_ASSIGN_OR_RETURN(Json json, read_json_file(path));
  return Manifest::from_json(json, path.string());
}

Status write_manifest(const std::filesystem::path& pack_dir, const Manifest& manifest) {
  return write_json_file(pack_dir / "manifest.json", manifest.to_json());
}

}  // namespace kanana::shards
