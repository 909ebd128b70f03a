// First-start demo workspace: registers the demo data found in the data cache.
#include "base/hash.h"
#include "store/demo_workspace.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <system_error>

#include "base/files.h"
#include "base/json.h"
#include "store/workspace.h"

namespace kanana::store {
namespace {

namespace fs = std::filesystem;

fs::path home_dir() {
  const char* home = std::getenv("HOME");
  return home && *home ? fs::path(home) : fs::temp_directory_path();
}

std::vector<fs::path> sorted_entries(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

struct LineCount {
  int64_t lines = 0;
  int64_t bytes = 0;
};

Result<LineCount> count_nonempty_lines(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found(path.string() + ": cannot be opened");
  LineCount c;
  std::vector<char> buf(1 << 20);
  bool line_has_content = false;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const std::streamsize n = in.gcount();
    c.bytes += n;
    for (std::streamsize i = 0; i < n; ++i) {
      const char ch = buf[i];
      if (ch == '\n') {
        if (line_has_content) ++c.lines;
        line_has_content = false;
      } else if (ch != '\r' && ch != ' ' && ch != '\t') {
        line_has_content = true;
      }
    }
  }
  if (line_has_content) ++c.lines;
  return c;
}

// Number of `pieces` (field 1) in a SentencePiece ModelProto, by walking the protobuf wire
// format: this keeps libsentencepiece (and its protobuf clash with LibTorch) out of the store.
Result<int64_t> sentencepiece_vocab_size(const fs::path& path) {
  KANANA_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  size_t pos = 0;
  auto varint = [&](uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64 && pos < bytes.size(); shift += 7) {
      const uint8_t b = static_cast<uint8_t>(bytes[pos++]);
      *v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  };
  int64_t pieces = 0;
  while (pos < bytes.size()) {
    uint64_t tag = 0, len = 0;
    if (!varint(&tag)) return data_loss(path.string() + ": truncated protobuf tag at byte " + std::to_string(pos));
    const uint64_t field = tag >> 3, wire = tag & 7;
    if (wire == 0) {
      if (!varint(&len)) return data_loss(path.string() + ": truncated varint at byte " + std::to_string(pos));
    } else if (wire == 2) {
      if (!varint(&len) || len > bytes.size() - pos)
        return data_loss(path.string() + ": field " + std::to_string(field) + " runs past the end of the file");
      pos += len;
      if (field == 1) ++pieces;
    } else if (wire == 1 || wire == 5) {
      const size_t width = wire == 1 ? 8 : 4;
      if (bytes.size() - pos < width) return data_loss(path.string() + ": truncated fixed-width field");
      pos += width;
    } else {
      return data_loss(path.string() + ": not a SentencePiece model (protobuf wire type " + std::to_string(wire) + ")");
    }
  }
  if (pieces == 0) return data_loss(path.string() + ": not a SentencePiece model (no pieces)");
  return pieces;
}

Result<int64_t> hf_vocab_size(const fs::path& path) {
  KANANA_ASSIGN_OR_RETURN(Json j, read_json_file(path));
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object() || !j["model"].contains("vocab"))
    return data_loss(path.string() + ": no model.vocab (not a Hugging Face tokenizer.json)");
  const Json& vocab = j["model"]["vocab"];
  int64_t max_id = -1;
  if (vocab.is_object()) {
    for (const auto& [piece, id] : vocab.items())
      if (id.is_number_integer()) max_id = std::max<int64_t>(max_id, id.get<int64_t>());
  } else if (vocab.is_array()) {  // Unigram: [[piece, score], ...]
    max_id = static_cast<int64_t>(vocab.size()) - 1;
  }
  if (j.contains("added_tokens") && j["added_tokens"].is_array())
    for (const Json& t : j["added_tokens"])
      if (t.is_object() && t.contains("id") && t["id"].is_number_integer())
        max_id = std::max<int64_t>(max_id, t["id"].get<int64_t>());
  return max_id + 1;
}

}  // namespace

fs::path default_demo_workspace_dir() {
  if (const char* env = std::getenv("KANANA_DEMO_WORKSPACE"); env && *env) return env;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) return fs::path(xdg) / "kanana-workbench" / "demo";
  return home_dir() / ".local" / "share" / "kanana-workbench" / "demo";
}

fs::path default_data_cache() {
  if (const char* env = std::getenv("KANANA_DATA_CACHE"); env && *env) return env;
  return home_dir() / ".cache" / "kanana-workbench";
}

Result<std::string> file_fingerprint(const fs::path& path) {
  auto h = fnv1a64_file(path, kFingerprintSeed);
  if (!h) return not_found(path.string() + ": cannot be opened");
  return hex64(*h);
}

Result<fs::path> ensure_demo_workspace(const fs::path& dir, const fs::path& data_cache_in, DemoScan* scan_out) {
  // Records are matched by path: store one spelling (absolute, normalised) of each file.
  std::error_code abs_ec;
  const fs::path data_cache = fs::absolute(data_cache_in, abs_ec).lexically_normal();
  DemoScan scan;
  scan.created = !Workspace::exists(dir);
  KANANA_ASSIGN_OR_RETURN(auto ws, Workspace::open_or_create(dir, "Demo workspace"));
  std::error_code ec;

  for (const fs::path& file : sorted_entries(data_cache / "corpora")) {
    if (file.extension() != ".jsonl" || !fs::is_regular_file(file, ec)) continue;
    KANANA_ASSIGN_OR_RETURN(auto known, ws->find_dataset_by_path(file.string()));
    if (known) continue;
    auto counted = count_nonempty_lines(file);
    if (!counted.is_ok()) {
      scan.skipped.push_back(counted.status().message());
      continue;
    }
    DatasetRecord d;
    d.name = file.stem().string();
    d.kind = "corpus";
    d.path = file.string();
    d.format = "jsonl";
    d.doc_count = counted->lines;
    d.byte_count = counted->bytes;
    d.meta_json = Json{{"source", "data cache"}}.dump();
    KANANA_RETURN_IF_ERROR(ws->add_dataset(d).status());
    scan.added.push_back("dataset " + d.name);
  }

  auto add_tokenizer = [&](const fs::path& file, const std::string& name, const std::string& kind,
                           Result<int64_t> vocab) -> Status {
    KANANA_ASSIGN_OR_RETURN(auto known, ws->find_tokenizer_by_path(file.string()));
    if (known) return Status::ok();
    if (!vocab.is_ok()) {
      scan.skipped.push_back(vocab.status().message());
      return Status::ok();
    }
    auto fingerprint = file_fingerprint(file);
    if (!fingerprint.is_ok()) {
      scan.skipped.push_back(fingerprint.status().message());
      return Status::ok();
    }
    TokenizerRecord t;
    t.name = name;
    t.kind = kind;
    t.path = file.string();
    t.vocab_size = *vocab;
    t.fingerprint = *fingerprint;
    t.meta_json = Json{{"source", "data cache"}}.dump();
    KANANA_RETURN_IF_ERROR(ws->add_tokenizer(t).status());
    scan.added.push_back("tokenizer " + name);
    return Status::ok();
  };
  for (const fs::path& sub : sorted_entries(data_cache / "tokenizers")) {
    const fs::path json = sub / "tokenizer.json";
    if (fs::is_regular_file(json, ec)) KANANA_RETURN_IF_ERROR(add_tokenizer(json, sub.filename().string(), "hf-bpe", hf_vocab_size(json)));
  }
  for (const fs::path& model : sorted_entries(data_cache / "tokenizers" / "spm")) {
    if (model.extension() != ".model" || !fs::is_regular_file(model, ec)) continue;
    KANANA_RETURN_IF_ERROR(add_tokenizer(model, "spm/" + model.stem().string(), "sentencepiece",
                                         sentencepiece_vocab_size(model)));
  }

  // Checkpoints only where real weights exist; their tokenizer is linked by content.
  for (const fs::path& sub : sorted_entries(data_cache / "models")) {
    const fs::path config = sub / "config.json";
    const bool has_weights = fs::is_regular_file(sub / "model.safetensors", ec) ||
                             fs::is_regular_file(sub / "model.safetensors.index.json", ec);
    if (!fs::is_regular_file(config, ec) || !has_weights) continue;
    KANANA_ASSIGN_OR_RETURN(Statement find, ws->db().prepare("SELECT id FROM checkpoints WHERE path = ?1"));
    find.bind(1, sub.string());
    KANANA_ASSIGN_OR_RETURN(bool known, find.step());
    if (known) continue;
    auto cfg = read_json_file(config);
    if (!cfg.is_ok()) {
      scan.skipped.push_back(cfg.status().message());
      continue;
    }
    CheckpointRecord c;
    c.name = sub.filename().string();
    c.path = sub.string();
    c.config_json = cfg->dump();
    KANANA_ASSIGN_OR_RETURN(int64_t checkpoint_id, ws->add_checkpoint(c));
    scan.added.push_back("checkpoint " + c.name);
    if (fs::is_regular_file(sub / "tokenizer.json", ec)) {
      auto fingerprint = file_fingerprint(sub / "tokenizer.json");
      if (!fingerprint.is_ok()) continue;
      KANANA_ASSIGN_OR_RETURN(Statement tok, ws->db().prepare("SELECT id FROM tokenizers WHERE fingerprint = ?1 ORDER BY id"));
      tok.bind(1, *fingerprint);
      KANANA_ASSIGN_OR_RETURN(bool match, tok.step());
      if (match) KANANA_RETURN_IF_ERROR(ws->add_lineage({"tokenizer", tok.column_int(0)}, {"checkpoint", checkpoint_id}, "tokenizes").status());
    }
  }

  if (scan_out) *scan_out = std::move(scan);
  return ws->root();
}

}  // namespace kanana::store
