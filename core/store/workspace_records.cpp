// Typed CRUD of the workspace tables: datasets, tokenizers, runs, checkpoints, annotation,
// conversations and evaluation results. Enumerated fields are checked here first so the
// error names the field and the allowed values instead of a bare CHECK failure.
#include <initializer_list>

#include "store/workspace.h"

namespace kanana::store {
namespace {

Status check_one_of(const std::string& what, const std::string& value, std::initializer_list<const char*> allowed) {
  std::string list;
  for (const char* a : allowed) {
    if (value == a) return Status::ok();
    if (!list.empty()) list += ", ";
    list += a;
  }
  return invalid_argument(what + " '" + value + "' is not one of: " + list);
}

Status check_not_empty(const std::string& what, const std::string& value) {
  if (value.empty()) return invalid_argument(what + " is empty");
  return Status::ok();
}

// Collect every row of a statement with `read`.
template <typename T, typename F>
Result<std::vector<T>> collect(Statement& st, F read) {
  std::vector<T> out;
  while (true) {
    KANANA_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) break;
    out.push_back(read(st));
  }
  return out;
}

template <typename T>
Result<T> single(Result<std::vector<T>> rows, const std::string& what, int64_t id) {
  if (!rows.is_ok()) return rows.status();
  if (rows->empty()) return not_found(what + " " + std::to_string(id) + " does not exist");
  return std::move(rows->front());
}

constexpr const char* kDatasetColumns =
    "SELECT id, name, kind, path, format, doc_count, byte_count, created_at, meta_json FROM datasets ";
DatasetRecord read_dataset(Statement& s) {
  return {s.column_int(0), s.column_text(1), s.column_text(2), s.column_text(3), s.column_text(4),
          s.column_int(5), s.column_int(6), s.column_text(7), s.column_text(8)};
}

constexpr const char* kTokenizerColumns =
    "SELECT id, name, kind, path, vocab_size, fingerprint, created_at, meta_json FROM tokenizers ";
TokenizerRecord read_tokenizer(Statement& s) {
  return {s.column_int(0), s.column_text(1), s.column_text(2), s.column_text(3),
          s.column_int(4), s.column_text(5), s.column_text(6), s.column_text(7)};
}

constexpr const char* kRunColumns =
    "SELECT id, name, kind, state, target, host, run_dir, recipe_json, created_at, started_at, finished_at, pid, "
    "remote_job_id, meta_json FROM runs ";
RunRecord read_run(Statement& s) {
  RunRecord r;
  r.id = s.column_int(0);
  r.name = s.column_text(1);
  r.kind = s.column_text(2);
  // The CHECK constraint guarantees a known state.
  r.state = parse_run_state(s.column_text(3)).value_or(RunState::kFailed);
  r.target = s.column_text(4);
  r.host = s.column_text(5);
  r.run_dir = s.column_text(6);
  r.recipe_json = s.column_text(7);
  r.created_at = s.column_text(8);
  r.started_at = s.column_optional_text(9);
  r.finished_at = s.column_optional_text(10);
  r.pid = s.column_optional_int(11);
  r.remote_job_id = s.column_text(12);
  r.meta_json = s.column_text(13);
  return r;
}

constexpr const char* kCheckpointColumns =
    "SELECT id, run_id, name, path, step, tokens, config_json, created_at FROM checkpoints ";
CheckpointRecord read_checkpoint(Statement& s) {
  return {s.column_int(0), s.column_optional_int(1), s.column_text(2), s.column_text(3),
          s.column_int(4), s.column_int(5), s.column_text(6), s.column_text(7)};
}

}  // namespace

// ---------------------------------------------------------------- datasets

Result<int64_t> Workspace::add_dataset(const DatasetRecord& r) {
  KANANA_RETURN_IF_ERROR(check_writable());
  KANANA_RETURN_IF_ERROR(check_not_empty("dataset name", r.name));
  KANANA_RETURN_IF_ERROR(check_one_of("dataset kind", r.kind, {"corpus", "filtered", "shards", "preferences", "eval", "prompts"}));
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare(
      "INSERT INTO datasets (name, kind, path, format, doc_count, byte_count, meta_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
  st.bind(1, r.name).bind(2, r.kind).bind(3, r.path).bind(4, r.format).bind(5, r.doc_count).bind(6, r.byte_count)
      .bind(7, r.meta_json.empty() ? "{}" : r.meta_json);
  KANANA_RETURN_IF_ERROR(st.run());
  return db_->last_insert_rowid();
}

Result<DatasetRecord> Workspace::get_dataset(int64_t id) {
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare(std::string(kDatasetColumns) + "WHERE id = ?1"));
  st.bind(1, id);
  return single(collect<DatasetRecord>(st, read_dataset), "dataset", id);
}

Result<std::optional<DatasetRecord>> Workspace::find_dataset_by_path(const std::string& path) {
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare(std::string(kDatasetColumns) + "WHERE path = ?1 ORDER BY id LIMIT 1"));
  st.bind(1, path);
  KANANA_ASSIGN_OR_RETURN(auto rows, collect<DatasetRecord>(st, read_dataset));
  if (rows.empty()) return std::optional<DatasetRecord>();
  return std::optional<DatasetRecord>(std::move(rows.front()));
}

Result<std::vector<DatasetRecord>> Workspace::list_datasets(const std::string& kind) {
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare(std::string(kDatasetColumns) + "WHERE ?1 = '' OR kind = ?1 ORDER BY id"));
  st.bind(1, kind);
  return collect<DatasetRecord>(st, read_dataset);
}

Status Workspace::delete_dataset(int64_t id) {
  KANANA_RETURN_IF_ERROR(check_writable());
  KANANA_ASSIGN_OR_RETURN(auto tx, Transaction::begin(*db_));
  KANANA_ASSIGN_OR_RETURN(Statement del, db_->prepare("DELETE FROM datasets WHERE id = ?1"));
  del.bind(1, id);
  KANANA_RETURN_IF_ERROR(del.run());
  if (db_->changes() == 0) return not_found("dataset " + std::to_string(id) + " does not exist");
  KANANA_ASSIGN_OR_RETURN(Statement edges, db_->prepare(
      "DELETE FROM lineage WHERE (src_kind = 'dataset' AND src_id = ?1) OR (dst_kind = 'dataset' AND dst_id = ?1)"));
  edges.bind(1, id);
  KANANA_RETURN_IF_ERROR(edges.run());
  return tx->commit();
}

// ---------------------------------------------------------------- tokenizers

Result<int64_t> Workspace::add_tokenizer(const TokenizerRecord& r) {
  KANANA_RETURN_IF_ERROR(check_writable());
  KANANA_RETURN_IF_ERROR(check_not_empty("tokenizer name", r.name));
  KANANA_RETURN_IF_ERROR(check_one_of("tokenizer kind", r.kind, {"sentencepiece", "hf-bpe"}));
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare(
      "INSERT INTO tokenizers (name, kind, path, vocab_size, fingerprint, meta_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  st.bind(1, r.name).bind(2, r.kind).bind(3, r.path).bind(4, r.vocab_size).bind(5, r.fingerprint)
      .bind(6, r.meta_json.empty() ? "{}" : r.meta_json);
  KANANA_RETURN_IF_ERROR(st.run());
  return db_->last_insert_rowid();
}

Result<TokenizerRecord> Workspace::get_tokenizer(int64_t id) {
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare(std::string(kTokenizerColumns) + "WHERE id = ?1"));
  st.bind(1, id);
  return single(collect<TokenizerRecord>(st, read_tokenizer), "tokenizer", id);
}

Result<std::optional<TokenizerRecord>> Workspace::find_tokenizer_by_path(const std::string& path) {
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare(std::string(kTokenizerColumns) + "WHERE path = ?1 ORDER BY id LIMIT 1"));
  st.bind(1, path);
  KANANA_ASSIGN_OR_RETURN(auto rows, collect<TokenizerRecord>(st, read_tokenizer));
  if (rows.empty()) return std::optional<TokenizerRecord>();
  return std::optional<TokenizerRecord>(std::move(rows.front()));
}

Result<std::vector<TokenizerRecord>> Workspace::list_tokenizers() {
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare(std::string(kTokenizerColumns) + "ORDER BY id"));
  return collect<TokenizerRecord>(st, read_tokenizer);
}

// ---------------------------------------------------------------- runs

Result<int64_t> Workspace::add_run(const RunRecord& r) {
  KANANA_RETURN_IF_ERROR(check_writable());
  KANANA_RETURN_IF_ERROR(check_not_empty("run name", r.name));
  KANANA_RETURN_IF_ERROR(check_not_empty("run kind", r.kind));
  KANANA_RETURN_IF_ERROR(check_one_of("run target", r.target, {"local", "ssh", "slurm"}));
  if (r.state != RunState::kQueued && r.state != RunState::kRunning)
    return invalid_argument(std::string("a new run starts queued or running, not ") + run_state_name(r.state));
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare(
      "INSERT INTO runs (name, kind, state, target, host, run_dir, recipe_json, pid, remote_job_id, meta_json, started_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
      "CASE WHEN ?3 = 'running' THEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now') END)"));
  st.bind(1, r.name).bind(2, r.kind).bind(3, run_state_name(r.state)).bind(4, r.target).bind(5, r.host)
      .bind(6, r.run_dir).bind(7, r.recipe_json.empty() ? "{}" : r.recipe_json).bind(8, r.pid)
      .bind(9, r.remote_job_id).bind(10, r.meta_json.empty() ? "{}" : r.meta_json);
  KANANA_RETURN_IF_ERROR(st.run());
  return db_->last_insert_rowid();
}

Result<RunRecord> Workspace::get_run(int64_t id) {
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare(std::string(kRunColumns) + "WHERE id = ?1"));
  st.bind(1, id);
  return single(collect<RunRecord>(st, read_run), "run", id);
}

Result<std::vector<RunRecord>> Workspace::list_runs(std::optional<RunState> state) {
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare(std::string(kRunColumns) + "WHERE ?1 IS NULL OR state = ?1 ORDER BY id"));
  if (state) st.bind(1, run_state_name(*state));
  else st.bind_null(1);
  return collect<RunRecord>(st, read_run);
}

Status Workspace::set_run_process(int64_t id, std::optional<int64_t> pid, const std::string& remote_job_id) {
  KANANA_RETURN_IF_ERROR(check_writable());
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare("UPDATE runs SET pid = ?2, remote_job_id = ?3 WHERE id = ?1"));
  st.bind(1, id).bind(2, pid).bind(3, remote_job_id);
  KANANA_RETURN_IF_ERROR(st.run());
  if (db_->changes() == 0) return not_found("run " + std::to_string(id) + " does not exist");
  return Status::ok();
}

Status Workspace::set_run_meta(int64_t id, const std::string& meta_json) {
  KANANA_RETURN_IF_ERROR(check_writable());
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare("UPDATE runs SET meta_json = ?2 WHERE id = ?1"));
  st.bind(1, id).bind(2, meta_json);
  KANANA_RETURN_IF_ERROR(st.run());
  if (db_->changes() == 0) return not_found("run " + std::to_string(id) + " does not exist");
  return Status::ok();
}

// ---------------------------------------------------------------- checkpoints

Result<int64_t> Workspace::add_checkpoint(const CheckpointRecord& r) {
  KANANA_RETURN_IF_ERROR(check_writable());
  KANANA_RETURN_IF_ERROR(check_not_empty("checkpoint name", r.name));
  if (r.run_id) KANANA_RETURN_IF_ERROR(check_node_exists({"run", *r.run_id}));
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare(
      "INSERT INTO checkpoints (run_id, name, path, step, tokens, config_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  st.bind(1, r.run_id).bind(2, r.name).bind(3, r.path).bind(4, r.step).bind(5, r.tokens)
      .bind(6, r.config_json.empty() ? "{}" : r.config_json);
  KANANA_RETURN_IF_ERROR(st.run());
  return db_->last_insert_rowid();
}

Status Workspace::delete_checkpoint(int64_t id) {
  KANANA_RETURN_IF_ERROR(check_writable());
  KANANA_ASSIGN_OR_RETURN(auto tx, Transaction::begin(*db_));
  KANANA_ASSIGN_OR_RETURN(Statement del, db_->prepare("DELETE FROM checkpoints WHERE id = ?1"));
  del.bind(1, id);
  KANANA_RETURN_IF_ERROR(del.run());
  if (db_->changes() == 0) return not_found("checkpoint " + std::to_string(id) + " does not exist");
  KANANA_ASSIGN_OR_RETURN(Statement edges, db_->prepare(
      "DELETE FROM lineage WHERE (src_kind = 'checkpoint' AND src_id = ?1) OR (dst_kind = 'checkpoint' AND dst_id = ?1)"));
  edges.bind(1, id);
  KANANA_RETURN_IF_ERROR(edges.run());
  return tx->commit();
}

Result<CheckpointRecord> Workspace::get_checkpoint(int64_t id) {
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare(std::string(kCheckpointColumns) + "WHERE id = ?1"));
  st.bind(1, id);
  return single(collect<CheckpointRecord>(st, read_checkpoint), "checkpoint", id);
}

Result<std::vector<CheckpointRecord>> Workspace::list_checkpoints(std::optional<int64_t> run_id) {
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare(std::string(kCheckpointColumns) +
                                                     "WHERE ?1 IS NULL OR run_id = ?1 ORDER BY run_id, step, id"));
  st.bind(1, run_id);
  return collect<CheckpointRecord>(st, read_checkpoint);
}

bool Workspace::checkpoint_on_disk(const CheckpointRecord& r) const {
  std::error_code ec;
  return !r.path.empty() && std::filesystem::is_directory(resolve(r.path), ec);
}

Result<std::vector<CheckpointRecord>> Workspace::list_present_checkpoints(std::optional<int64_t> run_id) {
  KANANA_ASSIGN_OR_RETURN(auto all, list_checkpoints(run_id));
  std::erase_if(all, [&](const CheckpointRecord& c) { return !checkpoint_on_disk(c); });
  return all;
}

// ---------------------------------------------------------------- annotation

Result<int64_t> Workspace::add_prompt_set(const PromptSetRecord& r) {
  KANANA_RETURN_IF_ERROR(check_writable());
  KANANA_RETURN_IF_ERROR(check_not_empty("prompt set name", r.name));
  if (r.dataset_id) KANANA_RETURN_IF_ERROR(check_node_exists({"dataset", *r.dataset_id}));
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare(
      "INSERT INTO prompt_sets (name, description, dataset_id) VALUES (?1, ?2, ?3)"));
  st.bind(1, r.name).bind(2, r.description).bind(3, r.dataset_id);
  KANANA_RETURN_IF_ERROR(st.run());
  return db_->last_insert_rowid();
}

Result<std::vector<PromptSetRecord>> Workspace::list_prompt_sets() {
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare(
      "SELECT id, name, description, dataset_id, created_at FROM prompt_sets ORDER BY id"));
  return collect<PromptSetRecord>(st, [](Statement& s) {
    return PromptSetRecord{s.column_int(0), s.column_text(1), s.column_text(2), s.column_optional_int(3), s.column_text(4)};
  });
}

Result<int64_t> Workspace::add_prompt(const PromptRecord& r) {
  KANANA_RETURN_IF_ERROR(check_writable());
  KANANA_RETURN_IF_ERROR(check_node_exists({"prompt_set", r.prompt_set_id}));
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare(
      "INSERT INTO prompts (prompt_set_id, text, system, lang, meta_json) VALUES (?1, ?2, ?3, ?4, ?5)"));
  st.bind(1, r.prompt_set_id).bind(2, r.text).bind(3, r.system).bind(4, r.lang)
      .bind(5, r.meta_json.empty() ? "{}" : r.meta_json);
  KANANA_RETURN_IF_ERROR(st.run());
  return db_->last_insert_rowid();
}

Result<std::vector<PromptRecord>> Workspace::list_prompts(int64_t prompt_set_id) {
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare(
      "SELECT id, prompt_set_id, text, system, lang, meta_json FROM prompts WHERE prompt_set_id = ?1 ORDER BY id"));
  st.bind(1, prompt_set_id);
  return collect<PromptRecord>(st, [](Statement& s) {
    return PromptRecord{s.column_int(0), s.column_int(1), s.column_text(2), s.column_text(3), s.column_text(4), s.column_text(5)};
  });
}

Result<int64_t> Workspace::add_candidate(const CandidateRecord& r) {
  KANANA_RETURN_IF_ERROR(check_writable());
  KANANA_RETURN_IF_ERROR(check_node_exists({"prompt", r.prompt_id}));
  if (r.checkpoint_id) KANANA_RETURN_IF_ERROR(check_node_exists({"checkpoint", *r.checkpoint_id}));
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare(
      "INSERT INTO candidates (prompt_id, checkpoint_id, text, sampling_json, seed) VALUES (?1, ?2, ?3, ?4, ?5)"));
  st.bind(1, r.prompt_id).bind(2, r.checkpoint_id).bind(3, r.text)
      .bind(4, r.sampling_json.empty() ? "{}" : r.sampling_json).bind(5, r.seed);
  KANANA_RETURN_IF_ERROR(st.run());
  return db_->last_insert_rowid();
}

Result<std::vector<CandidateRecord>> Workspace::list_candidates(int64_t prompt_id) {
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare(
      "SELECT id, prompt_id, checkpoint_id, text, sampling_json, seed, created_at FROM candidates "
      "WHERE prompt_id = ?1 ORDER BY id"));
  st.bind(1, prompt_id);
  return collect<CandidateRecord>(st, [](Statement& s) {
    return CandidateRecord{s.column_int(0), s.column_int(1), s.column_optional_int(2), s.column_text(3),
                           s.column_text(4), s.column_optional_int(5), s.column_text(6)};
  });
}

Result<int64_t> Workspace::add_judgement(const JudgementRecord& r) {
  KANANA_RETURN_IF_ERROR(check_writable());
  KANANA_RETURN_IF_ERROR(check_one_of("judgement kind", r.kind, {"pairwise", "tie", "ranking", "edit"}));
  KANANA_RETURN_IF_ERROR(check_node_exists({"prompt", r.prompt_id}));
  // Every candidate a judgement names must answer the same prompt.
  auto check_candidate = [&](std::optional<int64_t> id, const char* field) -> Status {
    if (!id) return Status::ok();
    KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare("SELECT prompt_id FROM candidates WHERE id = ?1"));
    st.bind(1, *id);
    KANANA_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) return not_found(std::string("judgement ") + field + ": candidate " + std::to_string(*id) + " does not exist");
    if (st.column_int(0) != r.prompt_id)
      return invalid_argument(std::string("judgement ") + field + ": candidate " + std::to_string(*id) +
                              " answers prompt " + std::to_string(st.column_int(0)) + ", not prompt " +
                              std::to_string(r.prompt_id));
    return Status::ok();
  };
  if ((r.kind == "pairwise" || r.kind == "tie") && (!r.chosen_id || !r.rejected_id || *r.chosen_id == *r.rejected_id))
    return invalid_argument("a " + r.kind + " judgement needs two different candidates (chosen_id, rejected_id)");
  if (r.kind == "edit" && !r.chosen_id) return invalid_argument("an edit judgement needs chosen_id (the edited candidate)");
  KANANA_RETURN_IF_ERROR(check_candidate(r.chosen_id, "chosen_id"));
  KANANA_RETURN_IF_ERROR(check_candidate(r.rejected_id, "rejected_id"));
  if (r.kind == "ranking") {
    KANANA_ASSIGN_OR_RETURN(Statement ids, db_->prepare(
        "SELECT value FROM json_each(?1) WHERE type = 'integer'"));
    ids.bind(1, r.ranking_json.empty() ? "[]" : r.ranking_json);
    int count = 0;
    while (true) {
      auto row = ids.step();
      if (!row.is_ok()) return invalid_argument("judgement ranking_json is not a JSON array of candidate ids: " + row.status().message());
      if (!*row) break;
      KANANA_RETURN_IF_ERROR(check_candidate(ids.column_int(0), "ranking_json"));
      ++count;
    }
    if (count < 2) return invalid_argument("a ranking judgement needs at least two candidate ids in ranking_json");
  }
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare(
      "INSERT INTO judgements (prompt_id, kind, chosen_id, rejected_id, ranking_json, edited_text, annotator, reason) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
  st.bind(1, r.prompt_id).bind(2, r.kind).bind(3, r.chosen_id).bind(4, r.rejected_id)
      .bind(5, r.ranking_json.empty() ? "[]" : r.ranking_json).bind(6, r.edited_text).bind(7, r.annotator).bind(8, r.reason);
  KANANA_RETURN_IF_ERROR(st.run());
  return db_->last_insert_rowid();
}

Result<std::vector<JudgementRecord>> Workspace::list_judgements(std::optional<int64_t> prompt_id) {
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare(
      "SELECT id, prompt_id, kind, chosen_id, rejected_id, ranking_json, edited_text, annotator, reason, created_at "
      "FROM judgements WHERE ?1 IS NULL OR prompt_id = ?1 ORDER BY id"));
  st.bind(1, prompt_id);
  return collect<JudgementRecord>(st, [](Statement& s) {
    return JudgementRecord{s.column_int(0), s.column_int(1), s.column_text(2), s.column_optional_int(3),
                           s.column_optional_int(4), s.column_text(5), s.column_text(6), s.column_text(7),
                           s.column_text(8), s.column_text(9)};
  });
}

// ---------------------------------------------------------------- conversations

Result<int64_t> Workspace::add_conversation(const ConversationRecord& r) {
  KANANA_RETURN_IF_ERROR(check_writable());
  KANANA_RETURN_IF_ERROR(check_one_of("conversation mode", r.mode, {"chat", "rag", "tools"}));
  if (r.checkpoint_id) KANANA_RETURN_IF_ERROR(check_node_exists({"checkpoint", *r.checkpoint_id}));
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare(
      "INSERT INTO conversations (title, mode, checkpoint_id, messages_json, meta_json) VALUES (?1, ?2, ?3, ?4, ?5)"));
  st.bind(1, r.title).bind(2, r.mode).bind(3, r.checkpoint_id).bind(4, r.messages_json.empty() ? "[]" : r.messages_json)
      .bind(5, r.meta_json.empty() ? "{}" : r.meta_json);
  KANANA_RETURN_IF_ERROR(st.run());
  return db_->last_insert_rowid();
}

Status Workspace::update_conversation_messages(int64_t id, const std::string& messages_json) {
  KANANA_RETURN_IF_ERROR(check_writable());
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare(
      "UPDATE conversations SET messages_json = ?2, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?1"));
  st.bind(1, id).bind(2, messages_json);
  KANANA_RETURN_IF_ERROR(st.run());
  if (db_->changes() == 0) return not_found("conversation " + std::to_string(id) + " does not exist");
  return Status::ok();
}

Result<std::vector<ConversationRecord>> Workspace::list_conversations() {
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare(
      "SELECT id, title, mode, checkpoint_id, messages_json, created_at, updated_at, meta_json FROM conversations "
      "ORDER BY updated_at DESC, id DESC"));
  return collect<ConversationRecord>(st, [](Statement& s) {
    return ConversationRecord{s.column_int(0), s.column_text(1), s.column_text(2), s.column_optional_int(3),
                              s.column_text(4), s.column_text(5), s.column_text(6), s.column_text(7)};
  });
}

// ---------------------------------------------------------------- evaluation

Result<int64_t> Workspace::add_eval_result(const EvalResultRecord& r) {
  KANANA_RETURN_IF_ERROR(check_writable());
  KANANA_RETURN_IF_ERROR(check_not_empty("eval task", r.task));
  KANANA_RETURN_IF_ERROR(check_not_empty("eval metric", r.metric));
  if (!r.run_id && !r.checkpoint_id) return invalid_argument("an eval result needs a run_id or a checkpoint_id");
  if (r.run_id) KANANA_RETURN_IF_ERROR(check_node_exists({"run", *r.run_id}));
  if (r.checkpoint_id) KANANA_RETURN_IF_ERROR(check_node_exists({"checkpoint", *r.checkpoint_id}));
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare(
      "INSERT INTO eval_results (run_id, checkpoint_id, task, metric, value, stderr, n) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
  st.bind(1, r.run_id).bind(2, r.checkpoint_id).bind(3, r.task).bind(4, r.metric).bind(5, r.value)
      .bind(6, r.stderr_value).bind(7, r.n);
  KANANA_RETURN_IF_ERROR(st.run());
  return db_->last_insert_rowid();
}

Result<std::vector<EvalResultRecord>> Workspace::list_eval_results(std::optional<int64_t> run_id,
                                                                   std::optional<int64_t> checkpoint_id) {
  KANANA_ASSIGN_OR_RETURN(Statement st, db_->prepare(
      "SELECT id, run_id, checkpoint_id, task, metric, value, stderr, n, created_at FROM eval_results "
      "WHERE (?1 IS NULL OR run_id = ?1) AND (?2 IS NULL OR checkpoint_id = ?2) ORDER BY task, metric, id"));
  st.bind(1, run_id).bind(2, checkpoint_id);
  return collect<EvalResultRecord>(st, [](Statement& s) {
    return EvalResultRecord{s.column_int(0), s.column_optional_int(1), s.column_optional_int(2), s.column_text(3),
                            s.column_text(4), s.column_double(5), s.column_optional_double(6), s.column_int(7),
                            s.column_text(8)};
  });
}

}  // namespace kanana::store
