// The RAG index: ingest (files → documents → chunks → embeddings), its SQLite file with the
// FTS5 trigram table, and search (rag_index.h).
#include "base/hash.h"
#include "rag/rag_index.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>
#include <thread>

#include "base/files.h"
#include "base/json.h"
#include "base/jsonl.h"
#include "base/strings.h"
#include "rag/fusion.h"
#include "rag/source_text.h"
#include "store/database.h"
#include "store/workspace.h"
#include "tokenizer/tokenizer.h"

namespace kanana::rag {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kFormatVersion = 1;

// Chunk ids are AUTOINCREMENT so an id is never reused: HNSW labels stay unambiguous.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources (
  id INTEGER PRIMARY KEY,
  path TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  size INTEGER NOT NULL,
  content_hash TEXT NOT NULL,
  documents INTEGER NOT NULL,
  added_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));
CREATE TABLE IF NOT EXISTS chunks (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
  ordinal INTEGER NOT NULL,
  line INTEGER NOT NULL,
  record_id TEXT NOT NULL,
  begin_offset INTEGER NOT NULL,
  end_offset INTEGER NOT NULL,
  tokens INTEGER NOT NULL,
  text TEXT NOT NULL,
  embedding BLOB);
CREATE INDEX IF NOT EXISTS chunks_by_source ON chunks(source_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(text, content='chunks', content_rowid='id', tokenize='trigram');
CREATE TRIGGER IF NOT EXISTS chunks_fts_insert AFTER INSERT ON chunks BEGIN
  INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_fts_delete AFTER DELETE ON chunks BEGIN
  INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
)sql";

// A prepared statement on the raw handle, for what store::Statement lacks (blobs).
class RawStatement {
 public:
  RawStatement(sqlite3* db, const char* sql, const fs::path& path) : db_(db), path_(path) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~RawStatement() { sqlite3_finalize(stmt_); }
  RawStatement(const RawStatement&) = delete;
  RawStatement& operator=(const RawStatement&) = delete;
  Status status(const std::string& what) const {
    return rc_ == SQLITE_OK ? Status::ok() : internal_error(path_.string() + ": " + what + ": " + sqlite3_errmsg(db_));
  }
  sqlite3_stmt* get() { return stmt_; }
  // SQLITE_ROW → true, SQLITE_DONE → false.
  Result<bool> step(const std::string& what) {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return internal_error(path_.string() + ": " + what + ": " + sqlite3_errmsg(db_));
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

 private:
  sqlite3* db_;
  fs::path path_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_OK;
};

bool hidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name[0] == '.';
}

bool ingestible_in_folder(const fs::path& p) {
  static const char* exts[] = {".txt", ".text", ".md", ".markdown", ".rst", ".html", ".htm", ".xhtml", ".jsonl", ".ndjson"};
  const std::string ext = to_lower_ascii(p.extension().string());
  return std::any_of(std::begin(exts), std::end(exts), [&](const char* e) { return ext == e; });
}

// Named files are taken whatever their extension; folders contribute their text-like files.
Result<std::vector<fs::path>> expand_paths(const std::vector<fs::path>& inputs) {
  std::vector<fs::path> out;
  for (const auto& in : inputs) {
    std::error_code ec;
    const fs::path p = fs::absolute(in, ec).lexically_normal();
    if (fs::is_directory(p, ec)) {
      std::vector<fs::path> found;
      fs::recursive_directory_iterator it(p, fs::directory_options::skip_permission_denied, ec), end;
      if (ec) return invalid_argument(p.string() + ": " + ec.message());
      for (; it != end; it.increment(ec)) {
        if (ec) return invalid_argument(p.string() + ": " + ec.message());
        if (hidden(it->path())) {
          if (it->is_directory()) it.disable_recursion_pending();
          continue;
        }
        if (it->is_regular_file() && ingestible_in_folder(it->path())) found.push_back(it->path());
      }
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(p, ec)) {
      out.push_back(p);
    } else {
      return not_found(p.string() + ": no such file or folder");
    }
  }
  return out;
}

struct Document {
  std::string text;
  SourceText map;          // HTML: byte map to the markup; else identity
  int64_t line = 0;        // JSONL line
  std::string record_id;
};

struct PendingChunk {
  int64_t ordinal = 0, line = 0, begin = 0, end = 0, tokens = 0;
  std::string record_id, text;
};

// JSONL documents: the text field of each line; malformed lines become problems.
Status jsonl_documents(const fs::path& path, const std::string& bytes, const IndexSettings& s, bool strict,
                       std::vector<Document>* docs, std::vector<std::string>* problems) {
  auto document = [&](JsonlLine& line) -> Status {
    const Json& j = line.value;
    std::string problem;
    if (!j.contains(s.text_field)) {
      problem = "field '" + s.text_field + "' is missing";
    } else if (!j[s.text_field].is_string()) {
      problem = "field '" + s.text_field + "' must be a string";
    } else if (trim(j[s.text_field].get_ref<const std::string&>()).empty()) {
      problem = "field '" + s.text_field + "' is empty";
    } else if (j.contains(s.id_field) && !j[s.id_field].is_string() && !j[s.id_field].is_number_integer() &&
               !j[s.id_field].is_null()) {
      problem = "field '" + s.id_field + "' must be a string or an integer";
    }
    if (!problem.empty()) return invalid_argument(line.origin + ": " + problem);
    Document d;
    d.text = j[s.text_field].get<std::string>();
    d.line = static_cast<int64_t>(line.number);
    if (j.contains(s.id_field) && !j[s.id_field].is_null())
      d.record_id = j[s.id_field].is_string() ? j[s.id_field].get<std::string>() : j[s.id_field].dump();
    docs->push_back(std::move(d));
    return Status::ok();
  };
  KANANA_ASSIGN_OR_RETURN(JsonlReport report, read_jsonl_text(bytes, document,
                                                              {.skip_bad_lines = !strict,
                                                               .objects_only = true,
                                                               .name = path.string()}));
  for (auto& p : report.problems) problems->push_back(std::move(p.message));
  return Status::ok();
}

std::string settings_value(const std::map<std::string, std::string>& meta, const std::string& key,
                           const std::string& fallback = "") {
  auto it = meta.find(key);
  return it == meta.end() ? fallback : it->second;
}


// The set of embedded chunks, as a string that changes whenever the set does, and their ids.
Result<std::pair<std::string, std::vector<int64_t>>> embedded_ids(store::Database& db) {
  KANANA_ASSIGN_OR_RETURN(auto st, db.prepare("SELECT id FROM chunks WHERE embedding IS NOT NULL ORDER BY id"));
  std::vector<int64_t> ids;
  uint64_t h = kFnv1a64Offset;
  for (;;) {
    KANANA_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) break;
    ids.push_back(st.column_int(0));
    h = fnv1a64(std::string_view(reinterpret_cast<const char*>(&ids.back()), sizeof(int64_t)), h);
  }
  return std::make_pair(std::to_string(ids.size()) + ":" + hex64(h), std::move(ids));
}

}  // namespace

struct RagIndex::State {
  std::unique_ptr<store::Database> db;
  bool read_only = false;
  IndexSettings settings;
  std::map<std::string, std::string> meta;
  std::shared_ptr<embed::Embedder> embedder;
  std::shared_ptr<const tok::Tokenizer> tokenizer;  // chunk counting without an embedder
  std::unique_ptr<VectorIndex> vectors;
  std::string vectors_state;  // the chunk set `vectors` was built from

  int64_t dim() const { return std::stoll(settings_value(meta, "dim", "0")); }
  bool vectors_expected() const { return !settings_value(meta, "model_dir").empty(); }

  Status set_meta(const std::string& key, const std::string& value) {
    KANANA_ASSIGN_OR_RETURN(auto st, db->prepare("INSERT INTO meta(key, value) VALUES (?, ?) "
                                                 "ON CONFLICT(key) DO UPDATE SET value = excluded.value"));
    KANANA_RETURN_IF_ERROR(st.bind(1, key).bind(2, value).run());
    meta[key] = value;
    return Status::ok();
  }

  Status load_meta() {
    KANANA_ASSIGN_OR_RETURN(auto st, db->prepare("SELECT key, value FROM meta"));
    meta.clear();
    for (;;) {
      KANANA_ASSIGN_OR_RETURN(bool row, st.step());
      if (!row) break;
      meta[st.column_text(0)] = st.column_text(1);
    }
    const std::string origin = db->path().string();
    auto num = [&](const char* key, int64_t fallback) -> Result<int64_t> {
      const std::string v = settings_value(meta, key, std::to_string(fallback));
      try {
        return std::stoll(v);
      } catch (...) {
        return data_loss(origin + ": meta '" + key + "' is not a number: '" + v + "'");
      }
    };
    KANANA_ASSIGN_OR_RETURN(int64_t version, num("format_version", 0));
    if (version != kFormatVersion)
      return failed_precondition(origin + ": RAG index format " + std::to_string(version) + ", this build reads " +
                                 std::to_string(kFormatVersion));
    KANANA_ASSIGN_OR_RETURN(settings.chunk.max_tokens, num("chunk_max_tokens", 200));
    KANANA_ASSIGN_OR_RETURN(settings.chunk.overlap_tokens, num("chunk_overlap_tokens", 40));
    KANANA_ASSIGN_OR_RETURN(settings.exact_max, num("exact_max", 20000));
    KANANA_ASSIGN_OR_RETURN(settings.hnsw.m, num("hnsw_m", 16));
    KANANA_ASSIGN_OR_RETURN(settings.hnsw.ef_construction, num("hnsw_ef_construction", 200));
    KANANA_ASSIGN_OR_RETURN(settings.hnsw.ef_search, num("hnsw_ef_search", 64));
    settings.tokenizer = settings_value(meta, "tokenizer");
    settings.vector_index = settings_value(meta, "vector_index", "auto");
    settings.query_task = settings_value(meta, "query_task", embed::kRetrievalInstruction);
    settings.text_field = settings_value(meta, "text_field", "text");
    settings.id_field = settings_value(meta, "id_field", "id");
    return Status::ok();
  }

  Status ensure_embedder() {
    if (embedder) return Status::ok();
    const std::string model_dir = settings_value(meta, "model_dir");
    if (model_dir.empty())
      return failed_precondition(db->path().parent_path().string() +
                                 ": this index has no embedding model (full-text only); search it with mode bm25");
    KANANA_ASSIGN_OR_RETURN(auto e, embed::load_embedder(model_dir));
    if (e->fingerprint() != settings_value(meta, "embedder_fingerprint"))
      return failed_precondition(model_dir + ": the model changed since the index was built (fingerprint " +
                                 e->fingerprint() + ", index " + settings_value(meta, "embedder_fingerprint") +
                                 "); rebuild the index");
    embedder = std::move(e);
    return Status::ok();
  }


  bool use_hnsw(int64_t n) const {
    return settings.vector_index == "hnsw" || (settings.vector_index == "auto" && n > settings.exact_max);
  }

  // The in-memory vector index for the current set of embedded chunks: the saved HNSW graph
  // when it matches the set, else rebuilt from the stored vectors (and the graph saved).
  Status ensure_vector_index(const fs::path& dir) {
    KANANA_ASSIGN_OR_RETURN(auto ids, embedded_ids(*db));
    if (vectors && vectors_state == ids.first) return Status::ok();
    vectors.reset();
    const int64_t n = int64_t(ids.second.size());
    const int64_t d = dim();
    if (n == 0) {
      vectors_state = ids.first;
      return Status::ok();
    }
    if (d <= 0) return data_loss(db->path().string() + ": chunks have vectors but meta 'dim' is " + std::to_string(d));
    HnswOptions ho = settings.hnsw;
    ho.threads = int(std::max(1u, std::thread::hardware_concurrency()));
    const fs::path file = dir / kHnswFileName;
    std::error_code ec;
    if (use_hnsw(n) && settings_value(meta, "hnsw_state") == ids.first && fs::is_regular_file(file, ec)) {
      auto loaded = HnswIndex::load(file, d, ho);
      if (loaded.is_ok() && (*loaded)->size() == n) {
        vectors = std::move(*loaded);
        vectors_state = ids.first;
        return Status::ok();
      }
    }
    std::vector<float> data(size_t(n * d));
    RawStatement st(db->handle(), "SELECT id, embedding FROM chunks WHERE embedding IS NOT NULL ORDER BY id", db->path());
    KANANA_RETURN_IF_ERROR(st.status("reading vectors"));
    for (int64_t i = 0;; ++i) {
      KANANA_ASSIGN_OR_RETURN(bool row, st.step("reading vectors"));
      if (!row) break;
      const int bytes = sqlite3_column_bytes(st.get(), 1);
      if (i >= n || bytes != int(d * int64_t(sizeof(float))))
        return data_loss(db->path().string() + ": chunk " + std::to_string(sqlite3_column_int64(st.get(), 0)) +
                         " has a vector of " + std::to_string(bytes) + " bytes, expected " +
                         std::to_string(d * int64_t(sizeof(float))));
      std::memcpy(data.data() + i * d, sqlite3_column_blob(st.get(), 1), size_t(bytes));
    }
    if (!use_hnsw(n)) {
      auto exact = std::make_unique<ExactIndex>(d);
      KANANA_RETURN_IF_ERROR(exact->add(ids.second, data.data()));
      vectors = std::move(exact);
    } else {
      KANANA_ASSIGN_OR_RETURN(auto graph, HnswIndex::create(d, ho));
      KANANA_RETURN_IF_ERROR(graph->add(ids.second, data.data()));
      if (!read_only) {
        KANANA_RETURN_IF_ERROR(graph->save(file));
        KANANA_RETURN_IF_ERROR(set_meta("hnsw_state", ids.first));
      }
      vectors = std::move(graph);
    }
    vectors_state = ids.first;
    return Status::ok();
  }

  Result<int64_t> count_tokens(std::string_view text) {
    if (embedder) return embedder->count_tokens(text);
    if (!tokenizer) {
      if (settings.tokenizer.empty()) {
        KANANA_RETURN_IF_ERROR(ensure_embedder());
        return embedder->count_tokens(text);
      }
      KANANA_ASSIGN_OR_RETURN(tokenizer, tok::load_tokenizer(settings.tokenizer));
    }
    tok::EncodeOptions eo;
    eo.parse_special = false;
    return int64_t(tokenizer->encode(text, eo).size());
  }
};

RagIndex::RagIndex(fs::path dir, std::unique_ptr<State> state) : dir_(std::move(dir)), state_(std::move(state)) {}
RagIndex::~RagIndex() = default;

bool RagIndex::exists(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / kIndexDbName, ec);
}

Result<std::unique_ptr<RagIndex>> RagIndex::create(const fs::path& dir_in, const IndexSettings& settings,
                                                   std::shared_ptr<embed::Embedder> embedder) {
  std::error_code ec;
  const fs::path dir = fs::absolute(dir_in, ec).lexically_normal();
  if (exists(dir)) return already_exists(dir.string() + " already holds a RAG index (" + kIndexDbName + ")");
  if (settings.chunk.max_tokens <= 0 || settings.chunk.overlap_tokens < 0 ||
      settings.chunk.overlap_tokens >= settings.chunk.max_tokens)
    return invalid_argument("chunk size must be positive and the overlap in [0, size)");
  if (settings.vector_index != "auto" && settings.vector_index != "exact" && settings.vector_index != "hnsw")
    return invalid_argument("vector index must be auto, exact or hnsw, got '" + settings.vector_index + "'");
  if (!embedder && settings.tokenizer.empty())
    return invalid_argument("a full-text-only index needs a tokenizer to size its chunks (or give an embedding model)");
  auto state = std::make_unique<State>();
  state->settings = settings;
  if (!embedder && !settings.tokenizer.empty()) {
    KANANA_ASSIGN_OR_RETURN(state->tokenizer, tok::load_tokenizer(settings.tokenizer));
  }
  fs::create_directories(dir, ec);
  if (ec) return errno_status(dir, "creating the index folder");
  store::DatabaseOptions dbo;
  dbo.create = true;
  KANANA_ASSIGN_OR_RETURN(state->db, store::Database::open(dir / kIndexDbName, dbo));
  KANANA_RETURN_IF_ERROR(state->db->exec(kSchema));
  std::error_code aec;
  const std::string tokenizer = settings.tokenizer.empty() ? "" : fs::absolute(settings.tokenizer, aec).string();
  const std::vector<std::pair<std::string, std::string>> meta = {
      {"format_version", std::to_string(kFormatVersion)},
      {"chunk_max_tokens", std::to_string(settings.chunk.max_tokens)},
      {"chunk_overlap_tokens", std::to_string(settings.chunk.overlap_tokens)},
      {"tokenizer", tokenizer},
      {"vector_index", settings.vector_index},
      {"exact_max", std::to_string(settings.exact_max)},
      {"hnsw_m", std::to_string(settings.hnsw.m)},
      {"hnsw_ef_construction", std::to_string(settings.hnsw.ef_construction)},
      {"hnsw_ef_search", std::to_string(settings.hnsw.ef_search)},
      {"query_task", settings.query_task},
      {"text_field", settings.text_field},
      {"id_field", settings.id_field},
      {"model_dir", embedder ? fs::absolute(embedder->model_dir(), aec).string() : ""},
      {"embedder_fingerprint", embedder ? embedder->fingerprint() : ""},
      {"dim", std::to_string(embedder ? embedder->dim() : 0)},
  };
  for (const auto& [k, v] : meta) KANANA_RETURN_IF_ERROR(state->set_meta(k, v));
  state->embedder = std::move(embedder);
  return std::unique_ptr<RagIndex>(new RagIndex(dir, std::move(state)));
}

Result<std::unique_ptr<RagIndex>> RagIndex::open(const fs::path& dir_in, bool read_only) {
  std::error_code ec;
  const fs::path dir = fs::absolute(dir_in, ec).lexically_normal();
  if (!exists(dir)) return not_found(dir.string() + ": no RAG index here (no " + std::string(kIndexDbName) + ")");
  auto state = std::make_unique<State>();
  state->read_only = read_only;
  store::DatabaseOptions dbo;
  dbo.read_only = read_only;
  KANANA_ASSIGN_OR_RETURN(state->db, store::Database::open(dir / kIndexDbName, dbo));
  KANANA_RETURN_IF_ERROR(state->load_meta());
  return std::unique_ptr<RagIndex>(new RagIndex(dir, std::move(state)));
}

Status RagIndex::set_embedder(std::shared_ptr<embed::Embedder> embedder) {
  if (!embedder) return invalid_argument("set_embedder: no embedder");
  auto& s = *state_;
  const std::string stored = settings_value(s.meta, "embedder_fingerprint");
  KANANA_ASSIGN_OR_RETURN(int64_t embedded, s.db->query_int("SELECT COUNT(*) FROM chunks WHERE embedding IS NOT NULL"));
  if (embedded > 0 && stored != embedder->fingerprint())
    return failed_precondition(dir_.string() + ": the index holds vectors of another model (" +
                               settings_value(s.meta, "model_dir") + "); rebuild it to use " +
                               embedder->model_dir().string());
  if (stored != embedder->fingerprint()) {
    if (s.read_only) return failed_precondition(dir_.string() + ": opened read-only; cannot attach a new model");
    std::error_code ec;
    KANANA_RETURN_IF_ERROR(s.set_meta("model_dir", fs::absolute(embedder->model_dir(), ec).string()));
    KANANA_RETURN_IF_ERROR(s.set_meta("embedder_fingerprint", embedder->fingerprint()));
    KANANA_RETURN_IF_ERROR(s.set_meta("dim", std::to_string(embedder->dim())));
  }
  s.embedder = std::move(embedder);
  return Status::ok();
}

bool RagIndex::has_vectors() const { return state_->vectors_expected(); }

Result<IngestReport> RagIndex::add_paths(const std::vector<fs::path>& paths, bool strict, Progress* progress,
                                         const CancelToken* cancel) {
  auto& s = *state_;
  if (s.read_only) return permission_denied(dir_.string() + ": the index was opened read-only");
  if (s.vectors_expected()) KANANA_RETURN_IF_ERROR(s.ensure_embedder());
  KANANA_ASSIGN_OR_RETURN(auto files, expand_paths(paths));
  IngestReport rep;
  sqlite3* db = s.db->handle();
  const fs::path dbpath = s.db->path();
  RawStatement insert_chunk(db,
                            "INSERT INTO chunks(source_id, ordinal, line, record_id, begin_offset, end_offset, tokens, "
                            "text, embedding) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            dbpath);
  KANANA_RETURN_IF_ERROR(insert_chunk.status("preparing the chunk insert"));
  int64_t done = 0;
  for (const auto& path : files) {
    if (cancel && cancel->is_cancelled()) return cancelled();
    if (progress) progress->update(done, int64_t(files.size()), path.filename().string());
    ++done;
    KANANA_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
    const std::string hash = hex64(fnv1a64(bytes));
    std::optional<int64_t> existing;
    {
      KANANA_ASSIGN_OR_RETURN(auto st, s.db->prepare("SELECT id, content_hash FROM sources WHERE path = ?"));
      st.bind(1, path.string());
      KANANA_ASSIGN_OR_RETURN(bool row, st.step());
      if (row) {
        if (st.column_text(1) == hash) {
          ++rep.sources_unchanged;
          continue;
        }
        existing = st.column_int(0);
      }
    }
    // Documents of this file.
    const SourceKind kind = source_kind_for(path);
    std::vector<Document> docs;
    if (kind == SourceKind::kJsonl) {
      KANANA_RETURN_IF_ERROR(jsonl_documents(path, bytes, s.settings, strict, &docs, &rep.problems));
    } else {
      auto text = read_source_file(path, kind);
      if (!text.is_ok()) {
        if (strict) return text.status();
        rep.problems.push_back(text.status().message());
        continue;
      }
      Document d;
      d.text = text->text;
      d.map = std::move(*text);
      docs.push_back(std::move(d));
    }
    // Chunks.
    std::vector<PendingChunk> chunks;
    Status count_error;
    const TokenCounter counter = [&](std::string_view t) -> int64_t {
      auto n = s.count_tokens(t);
      if (!n.is_ok()) {
        if (count_error.is_ok()) count_error = n.status();
        return 0;
      }
      return *n;
    };
    for (const auto& d : docs) {
      KANANA_ASSIGN_OR_RETURN(auto pieces, chunk_text(d.text, s.settings.chunk, counter));
      KANANA_RETURN_IF_ERROR(count_error);
      int64_t ordinal = 0;
      for (const auto& p : pieces) {
        PendingChunk c;
        c.ordinal = ordinal++;
        c.line = d.line;
        c.record_id = d.record_id;
        c.tokens = p.tokens;
        c.text = d.text.substr(p.begin, p.end - p.begin);
        std::tie(c.begin, c.end) = kind == SourceKind::kJsonl ? std::pair<int64_t, int64_t>(int64_t(p.begin), int64_t(p.end))
                                                              : d.map.source_range(p.begin, p.end);
        chunks.push_back(std::move(c));
      }
    }
    // Embeddings (passages: no instruction).
    embed::EmbeddingMatrix vectors;
    if (s.embedder && !chunks.empty()) {
      std::vector<std::string> texts;
      texts.reserve(chunks.size());
      for (const auto& c : chunks) texts.push_back(c.text);
      auto v = s.embedder->embed(texts, {}, nullptr, cancel);
      if (!v.is_ok()) return v.status().with_context("embedding " + path.string());
      vectors = std::move(*v);
    }
    // One transaction per file: a cancelled or failed run keeps whole files only.
    KANANA_ASSIGN_OR_RETURN(auto tx, store::Transaction::begin(*s.db));
    if (existing) {
      KANANA_ASSIGN_OR_RETURN(auto del, s.db->prepare("DELETE FROM sources WHERE id = ?"));
      KANANA_RETURN_IF_ERROR(del.bind(1, *existing).run());
    }
    KANANA_ASSIGN_OR_RETURN(auto ins, s.db->prepare("INSERT INTO sources(path, kind, size, content_hash, documents) "
                                                    "VALUES (?, ?, ?, ?, ?)"));
    KANANA_RETURN_IF_ERROR(ins.bind(1, path.string())
                               .bind(2, source_kind_name(kind))
                               .bind(3, int64_t(bytes.size()))
                               .bind(4, hash)
                               .bind(5, int64_t(docs.size()))
                               .run());
    const int64_t source_id = s.db->last_insert_rowid();
    for (size_t i = 0; i < chunks.size(); ++i) {
      const auto& c = chunks[i];
      sqlite3_stmt* st = insert_chunk.get();
      sqlite3_bind_int64(st, 1, source_id);
      sqlite3_bind_int64(st, 2, c.ordinal);
      sqlite3_bind_int64(st, 3, c.line);
      sqlite3_bind_text(st, 4, c.record_id.data(), int(c.record_id.size()), SQLITE_TRANSIENT);
      sqlite3_bind_int64(st, 5, c.begin);
      sqlite3_bind_int64(st, 6, c.end);
      sqlite3_bind_int64(st, 7, c.tokens);
      sqlite3_bind_text(st, 8, c.text.data(), int(c.text.size()), SQLITE_TRANSIENT);
      if (vectors.rows > 0) {
        sqlite3_bind_blob(st, 9, vectors.row(int64_t(i)), int(vectors.dim * sizeof(float)), SQLITE_TRANSIENT);
      } else {
        sqlite3_bind_null(st, 9);
      }
      auto r = insert_chunk.step("inserting a chunk of " + path.string());
      insert_chunk.reset();
      if (!r.is_ok()) return r.status();
    }
    KANANA_RETURN_IF_ERROR(tx->commit());
    (existing ? rep.sources_replaced : rep.sources_added)++;
    rep.documents += int64_t(docs.size());
    rep.chunks_added += int64_t(chunks.size());
  }
  if (progress) progress->finish(std::to_string(rep.chunks_added) + " chunks");
  // Build (and save) the HNSW graph now, so the first query does not pay for it.
  if (s.vectors_expected() && (rep.sources_added || rep.sources_replaced))
    KANANA_RETURN_IF_ERROR(s.ensure_vector_index(dir_));
  return rep;
}

Result<std::vector<std::pair<int64_t, double>>> RagIndex::search_fulltext(std::string_view query, int64_t k) {
  const std::string match = fts_match_query(query);
  std::vector<std::pair<int64_t, double>> out;
  if (match.empty() || k <= 0) return out;
  KANANA_ASSIGN_OR_RETURN(auto st, state_->db->prepare("SELECT rowid, bm25(chunks_fts) FROM chunks_fts WHERE chunks_fts MATCH ? "
                                                       "ORDER BY bm25(chunks_fts), rowid LIMIT ?"));
  st.bind(1, match).bind(2, k);
  for (;;) {
    KANANA_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) break;
    out.push_back({st.column_int(0), -st.column_double(1)});  // bm25(): lower is better
  }
  return out;
}

Result<std::vector<std::pair<int64_t, double>>> RagIndex::search_vectors(std::string_view query, int64_t k) {
  auto& s = *state_;
  std::vector<std::pair<int64_t, double>> out;
  if (k <= 0) return out;
  KANANA_RETURN_IF_ERROR(s.ensure_embedder());
  KANANA_RETURN_IF_ERROR(s.ensure_vector_index(dir_));
  if (!s.vectors) return out;
  KANANA_ASSIGN_OR_RETURN(auto q, s.embedder->embed({std::string(query)}, s.settings.query_task));
  for (const auto& h : s.vectors->search(q.row(0), k)) out.push_back({h.label, double(h.score)});
  return out;
}

Result<std::vector<SearchHit>> RagIndex::search(std::string_view query, const SearchOptions& options) {
  if (trim(query).empty()) return invalid_argument("the query is empty");
  if (options.k <= 0) return invalid_argument("k must be positive");
  const int64_t depth = std::max(options.k, options.candidates);
  SearchMode mode = options.mode;
  // A full-text-only index answers hybrid queries with full-text search.
  if (mode == SearchMode::kHybrid && !has_vectors()) mode = SearchMode::kBm25;
  std::vector<std::pair<int64_t, double>> fts, vec;
  if (mode != SearchMode::kVector) {
    KANANA_ASSIGN_OR_RETURN(fts, search_fulltext(query, mode == SearchMode::kBm25 ? options.k : depth));
  }
  if (mode != SearchMode::kBm25) {
    KANANA_ASSIGN_OR_RETURN(vec, search_vectors(query, mode == SearchMode::kVector ? options.k : depth));
  }
  std::vector<std::pair<int64_t, double>> ranked;
  if (mode == SearchMode::kHybrid) {
    std::vector<int64_t> a, b;
    for (const auto& [id, sc] : fts) a.push_back(id);
    for (const auto& [id, sc] : vec) b.push_back(id);
    for (const auto& h : reciprocal_rank_fusion({a, b}, options.rrf_k)) {
      if (int64_t(ranked.size()) >= options.k) break;
      ranked.push_back({h.id, h.score});
    }
  } else {
    ranked = mode == SearchMode::kBm25 ? fts : vec;
  }
  std::vector<int64_t> ids;
  for (const auto& [id, sc] : ranked) ids.push_back(id);
  KANANA_ASSIGN_OR_RETURN(auto chunks, this->chunks(ids));
  auto rank_in = [](const std::vector<std::pair<int64_t, double>>& list, int64_t id) -> int64_t {
    for (size_t i = 0; i < list.size(); ++i)
      if (list[i].first == id) return int64_t(i) + 1;
    return 0;
  };
  std::vector<SearchHit> out;
  for (size_t i = 0; i < chunks.size(); ++i) {
    SearchHit h;
    h.chunk = std::move(chunks[i]);
    h.score = ranked[i].second;
    h.bm25_rank = rank_in(fts, h.chunk.id);
    h.vector_rank = rank_in(vec, h.chunk.id);
    out.push_back(std::move(h));
  }
  return out;
}

Result<std::vector<Chunk>> RagIndex::chunks(const std::vector<int64_t>& ids) {
  KANANA_ASSIGN_OR_RETURN(auto st, state_->db->prepare(
                                       "SELECT c.id, c.source_id, c.ordinal, c.tokens, c.text, c.line, c.record_id, "
                                       "c.begin_offset, c.end_offset, s.path, s.kind FROM chunks c "
                                       "JOIN sources s ON s.id = c.source_id WHERE c.id = ?"));
  std::vector<Chunk> out;
  for (int64_t id : ids) {
    st.bind(1, id);
    KANANA_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) return not_found(dir_.string() + ": no chunk " + std::to_string(id));
    Chunk c;
    c.id = st.column_int(0);
    c.source_id = st.column_int(1);
    c.ordinal = st.column_int(2);
    c.tokens = st.column_int(3);
    c.text = st.column_text(4);
    c.span.line = st.column_int(5);
    c.span.record_id = st.column_text(6);
    c.span.begin = st.column_int(7);
    c.span.end = st.column_int(8);
    c.span.path = st.column_text(9);
    c.span.kind = st.column_text(10);
    out.push_back(std::move(c));
    KANANA_RETURN_IF_ERROR(st.reset());
  }
  return out;
}

Result<Chunk> RagIndex::chunk(int64_t id) {
  KANANA_ASSIGN_OR_RETURN(auto v, chunks({id}));
  return std::move(v.front());
}

Result<IndexStats> RagIndex::stats() {
  auto& s = *state_;
  IndexStats out;
  KANANA_ASSIGN_OR_RETURN(out.sources, s.db->query_int("SELECT COUNT(*) FROM sources"));
  KANANA_ASSIGN_OR_RETURN(out.chunks, s.db->query_int("SELECT COUNT(*) FROM chunks"));
  KANANA_ASSIGN_OR_RETURN(out.embedded_chunks, s.db->query_int("SELECT COUNT(*) FROM chunks WHERE embedding IS NOT NULL"));
  out.dim = s.dim();
  out.model_dir = settings_value(s.meta, "model_dir");
  out.embedder_fingerprint = settings_value(s.meta, "embedder_fingerprint");
  out.settings = s.settings;
  out.vector_index = out.embedded_chunks == 0 ? "none" : s.use_hnsw(out.embedded_chunks) ? "hnsw" : "exact";
  return out;
}

fs::path workspace_index_dir(const fs::path& workspace, const std::string& name) { return workspace / "rag" / name; }

std::vector<std::string> workspace_indexes(const fs::path& workspace) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(workspace / "rag", ec))
    if (e.is_directory() && RagIndex::exists(e.path())) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

Result<fs::path> workspace_dataset_path(const fs::path& workspace, const std::string& name_or_id) {
  store::OpenMode mode;
  mode.read_only = true;
  KANANA_ASSIGN_OR_RETURN(auto ws, store::Workspace::open(workspace, mode));
  KANANA_ASSIGN_OR_RETURN(auto datasets, ws->list_datasets());
  const store::DatasetRecord* found = nullptr;
  for (const auto& d : datasets)
    if (d.name == name_or_id || std::to_string(d.id) == name_or_id) found = &d;
  if (!found) {
    std::string known;
    for (const auto& d : datasets) known += (known.empty() ? "" : ", ") + d.name;
    return not_found(workspace.string() + ": no dataset '" + name_or_id + "' (datasets: " +
                     (known.empty() ? "none" : known) + ")");
  }
  const fs::path path = ws->resolve(found->path);
  std::error_code ec;
  const bool jsonl_name = source_kind_for(path) == SourceKind::kJsonl;
  if (found->format != "jsonl" && !jsonl_name && !fs::is_directory(path, ec))
    return invalid_argument("dataset '" + found->name + "' is " + (found->format.empty() ? "of unknown format" : found->format) +
                            ", not JSONL");
  if (!fs::exists(path, ec)) return not_found("dataset '" + found->name + "': " + path.string() + " does not exist");
  return path;
}

}  // namespace kanana::rag
