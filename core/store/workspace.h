// A workspace: one folder holding workspace.json (manifest), workspace.db (SQLite, WAL,
// versioned schema) and the data/, runs/, models/, tokenizers/, cache/ folders. This class is
// the typed door to the database for every module and the GUI: records in, records out,
// errors as Status. Modules with their own tables reach the raw connection through db().
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "store/database.h"

namespace kanana::store {

// workspace.json's "format_version": bumps only when the folder layout changes
// (the database schema has its own version, PRAGMA user_version; see migrations.h).
inline constexpr int kWorkspaceFormatVersion = 1;
inline constexpr const char* kWorkspaceDbName = "workspace.db";
inline constexpr const char* kWorkspaceManifestName = "workspace.json";

struct OpenMode {
  // Open the database with SQLITE_OPEN_READONLY: nothing is migrated or written, and every
  // write method fails with kPermissionDenied naming the database.
  bool read_only = false;
};

// Timestamps are ISO-8601 UTC text ("2026-11-26T15:50:33.120Z"), set by the database.
struct DatasetRecord {
  int64_t id = 0;
  std::string name;
  std::string kind = "corpus";  // corpus | filtered | shards | preferences | eval | prompts
  std::string path;             // absolute, or relative to the workspace root
  std::string format;           // "jsonl", "parquet", "kanana-shards", ...
  int64_t doc_count = 0;
  int64_t byte_count = 0;
  std::string created_at;
  std::string meta_json = "{}";
};

struct TokenizerRecord {
  int64_t id = 0;
  std::string name;
  std::string kind = "hf-bpe";  // sentencepiece | hf-bpe
  std::string path;
  int64_t vocab_size = 0;
  std::string fingerprint;      // content hash, so the same tokenizer is recognised again
  std::string created_at;
  std::string meta_json = "{}";
};

enum class RunState { kQueued, kRunning, kFinished, kFailed, kCancelled };
const char* run_state_name(RunState state);               // "queued", "running", ...
Result<RunState> parse_run_state(const std::string& name);
// queued → running | failed | cancelled; running → finished | failed | cancelled;
// finished, failed and cancelled are final.
bool run_state_transition_allowed(RunState from, RunState to);

struct RunRecord {
  int64_t id = 0;
  std::string name;
  std::string kind = "pretrain";  // pretrain | sft | dpo | reward | distill | prune | upscale | eval | data | ...
  RunState state = RunState::kQueued;
  std::string target = "local";   // local | ssh | slurm
  std::string host;
  std::string run_dir;
  std::string recipe_json = "{}";
  std::string created_at;
  std::optional<std::string> started_at;
  std::optional<std::string> finished_at;
  std::optional<int64_t> pid;
  std::string remote_job_id;
  std::string meta_json = "{}";
};

struct CheckpointRecord {
  int64_t id = 0;
  std::optional<int64_t> run_id;  // null for imported checkpoints (e.g. a released model)
  std::string name;
  std::string path;
  int64_t step = 0;
  int64_t tokens = 0;
  std::string config_json = "{}";
  std::string created_at;
};

struct PromptSetRecord {
  int64_t id = 0;
  std::string name;
  std::string description;
  std::optional<int64_t> dataset_id;  // the prompts dataset it was imported from, if any
  std::string created_at;
};

struct PromptRecord {
  int64_t id = 0;
  int64_t prompt_set_id = 0;
  std::string text;
  std::string system;
  std::string lang;              // "ko", "en", "mixed", ""
  std::string meta_json = "{}";
};

struct CandidateRecord {
  int64_t id = 0;
  int64_t prompt_id = 0;
  std::optional<int64_t> checkpoint_id;
  std::string text;
  std::string sampling_json = "{}";  // temperature, top_p, max_new_tokens, ...
  std::optional<int64_t> seed;
  std::string created_at;
};

struct JudgementRecord {
  int64_t id = 0;
  int64_t prompt_id = 0;
  std::string kind = "pairwise";       // pairwise | tie | ranking | edit
  std::optional<int64_t> chosen_id;    // candidates.id (pairwise; first of a tie)
  std::optional<int64_t> rejected_id;  // candidates.id (pairwise; second of a tie)
  std::string ranking_json = "[]";     // candidate ids best first (ranking)
  std::string edited_text;             // the annotator's rewrite (edit)
  std::string annotator;
  std::string reason;
  std::string created_at;
};

struct ConversationRecord {
  int64_t id = 0;
  std::string title;
  std::string mode = "chat";            // chat | rag | tools
  std::optional<int64_t> checkpoint_id;
  std::string messages_json = "[]";     // [{"role": "user", "content": "..."}, ...]
  std::string created_at;
  std::string updated_at;
  std::string meta_json = "{}";
};

struct EvalResultRecord {
  int64_t id = 0;
  std::optional<int64_t> run_id;
  std::optional<int64_t> checkpoint_id;
  std::string task;    // "kmmlu", "hellaswag", ...
  std::string metric;  // "acc", "acc_norm", "ppl", ...
  double value = 0;
  std::optional<double> stderr_value;
  int64_t n = 0;
  std::string created_at;
};

// Lineage nodes are (kind, id) pairs over the tables above. Kinds are the table's singular
// name: "dataset", "tokenizer", "run", "checkpoint", "prompt_set", "prompt", "candidate",
// "judgement", "conversation", "eval_result".
struct NodeRef {
  std::string kind;
  int64_t id = 0;
  bool operator==(const NodeRef&) const = default;
};
bool is_lineage_kind(const std::string& kind);

// An edge says "src <relation> dst" in the direction data flows:
// dataset --trained--> run, run --produced--> checkpoint, checkpoint --generated--> candidate.
struct LineageEdge {
  int64_t id = 0;
  NodeRef src;
  NodeRef dst;
  std::string relation;
  std::string created_at;
};

// One node reached by a lineage walk, with how many edges away it is and the edge that
// reached it first (shortest path).
struct LineageNode {
  NodeRef node;
  int depth = 0;
  std::string relation;
  NodeRef via;  // the neighbour on the path back to the start node
};

struct WorkspaceInfo {
  std::string name;
  std::string created_at;
  int format_version = 0;
  int64_t schema_version = 0;
  std::string journal_mode;
  std::map<std::string, int64_t> table_counts;  // table name → rows
};

// One Workspace is one SQLite connection: use it from one thread at a time, and open a
// second Workspace on the same folder for another thread or process (WAL lets readers run
// while one writer writes; writers wait up to DatabaseOptions::busy_timeout_ms for the lock).
class Workspace {
 public:
  // Make `dir` (created if missing; must be empty of a previous workspace) a new workspace.
  static Result<std::unique_ptr<Workspace>> create(const std::filesystem::path& dir,
                                                   const std::string& name);
  // Open an existing workspace; migrates the schema unless read-only.
  static Result<std::unique_ptr<Workspace>> open(const std::filesystem::path& dir,
                                                 OpenMode mode = {});
  static Result<std::unique_ptr<Workspace>> open_or_create(const std::filesystem::path& dir,
                                                           const std::string& name);
  // Whether `dir` looks like a workspace (has workspace.json or workspace.db).
  static bool exists(const std::filesystem::path& dir);

  ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  // ---- paths
  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path db_path() const { return root_ / kWorkspaceDbName; }
  std::filesystem::path manifest_path() const { return root_ / kWorkspaceManifestName; }
  std::filesystem::path data_dir() const { return root_ / "data"; }
  std::filesystem::path runs_dir() const { return root_ / "runs"; }
  std::filesystem::path models_dir() const { return root_ / "models"; }
  std::filesystem::path tokenizers_dir() const { return root_ / "tokenizers"; }
  std::filesystem::path cache_dir() const { return root_ / "cache"; }
  // A record's path as stored (relative to root, or absolute) → an absolute path.
  std::filesystem::path resolve(const std::string& stored_path) const;

  const std::string& name() const { return name_; }
  bool read_only() const { return read_only_; }
  Database& db() { return *db_; }
  Result<WorkspaceInfo> info();

  // ---- datasets
  Result<int64_t> add_dataset(const DatasetRecord& record);  // returns the new id
  Result<DatasetRecord> get_dataset(int64_t id);
  Result<std::optional<DatasetRecord>> find_dataset_by_path(const std::string& path);
  Result<std::vector<DatasetRecord>> list_datasets(const std::string& kind = "");
  Status delete_dataset(int64_t id);  // also removes its lineage edges

  // ---- tokenizers
  Result<int64_t> add_tokenizer(const TokenizerRecord& record);
  Result<TokenizerRecord> get_tokenizer(int64_t id);
  Result<std::optional<TokenizerRecord>> find_tokenizer_by_path(const std::string& path);
  Result<std::vector<TokenizerRecord>> list_tokenizers();

  // ---- runs
  Result<int64_t> add_run(const RunRecord& record);  // state must be queued or running
  Result<RunRecord> get_run(int64_t id);
  Result<std::vector<RunRecord>> list_runs(std::optional<RunState> state = std::nullopt);
  // Validates the transition (kFailedPrecondition names both states); stamps started_at on
  // → running and finished_at on → finished/failed/cancelled.
  Status update_run_state(int64_t id, RunState state);
  Status set_run_process(int64_t id, std::optional<int64_t> pid, const std::string& remote_job_id);
  Status set_run_meta(int64_t id, const std::string& meta_json);

  // ---- checkpoints
  Result<int64_t> add_checkpoint(const CheckpointRecord& record);
  Result<CheckpointRecord> get_checkpoint(int64_t id);
  // All checkpoints, or those of one run, ordered by step.
  Result<std::vector<CheckpointRecord>> list_checkpoints(std::optional<int64_t> run_id = std::nullopt);
  // Removes the record and its lineage edges (its eval results go with it; candidates and
  // conversations keep their text with no checkpoint). For a folder that is gone.
  Status delete_checkpoint(int64_t id);
  // Whether the checkpoint's folder exists on this machine. A record whose folder is gone
  // (deleted by hand; a remote run's folder is never here) is listed as missing and never
  // offered for loading: pickers use list_present_checkpoints().
  bool checkpoint_on_disk(const CheckpointRecord& record) const;
  Result<std::vector<CheckpointRecord>> list_present_checkpoints(std::optional<int64_t> run_id = std::nullopt);

  // ---- annotation: prompt sets, prompts, candidates, judgements
  Result<int64_t> add_prompt_set(const PromptSetRecord& record);
  Result<std::vector<PromptSetRecord>> list_prompt_sets();
  Result<int64_t> add_prompt(const PromptRecord& record);
  Result<std::vector<PromptRecord>> list_prompts(int64_t prompt_set_id);
  Result<int64_t> add_candidate(const CandidateRecord& record);
  Result<std::vector<CandidateRecord>> list_candidates(int64_t prompt_id);
  // Checks that chosen/rejected/ranked candidates answer the judgement's prompt.
  Result<int64_t> add_judgement(const JudgementRecord& record);
  Result<std::vector<JudgementRecord>> list_judgements(std::optional<int64_t> prompt_id = std::nullopt);

  // ---- playground conversations
  Result<int64_t> add_conversation(const ConversationRecord& record);
  Status update_conversation_messages(int64_t id, const std::string& messages_json);
  Result<std::vector<ConversationRecord>> list_conversations();

  // ---- evaluation
  Result<int64_t> add_eval_result(const EvalResultRecord& record);
  Result<std::vector<EvalResultRecord>> list_eval_results(std::optional<int64_t> run_id = std::nullopt,
                                                          std::optional<int64_t> checkpoint_id = std::nullopt);

  // ---- lineage
  // Records src → dst; recording the same edge twice is not an error (returns its id).
  // Both nodes must exist (kNotFound names the missing one); a self-loop is rejected.
  Result<int64_t> add_lineage(const NodeRef& src, const NodeRef& dst, const std::string& relation);
  Result<std::vector<LineageEdge>> lineage_edges(const NodeRef& node);  // edges touching node
  // Everything `node` came from (walking edges backwards) / everything made from it,
  // nearest first; max_depth bounds the walk (cycles cannot loop forever).
  Result<std::vector<LineageNode>> lineage_upstream(const NodeRef& node, int max_depth = 64);
  Result<std::vector<LineageNode>> lineage_downstream(const NodeRef& node, int max_depth = 64);

 private:
  Workspace(std::filesystem::path root, std::string name, std::unique_ptr<Database> db, bool read_only);
  Status check_writable() const;
  Status check_node_exists(const NodeRef& node);
  Result<std::vector<LineageNode>> lineage_walk(const NodeRef& node, int max_depth, bool upstream);

  std::filesystem::path root_;
  std::string name_;
  std::unique_ptr<Database> db_;
  bool read_only_ = false;
};

}  // namespace kanana::store
