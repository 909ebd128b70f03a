// The annotation store: prompt sets, prompts (multi-turn, with branches), candidates (with the
// checkpoint, sampling settings and seed that produced them) and judgements (pairwise choice,
// tie, k-wise ranking, edit/"repair", free-text reason, annotator, time) in the workspace
// database (tables of schema v2, extended by v3: see store/migrations.cpp).
//
// Durability: every write method commits its own IMMEDIATE transaction before it returns
// (or, when called inside a transaction the caller opened, a savepoint of it). The database
// runs in WAL mode with synchronous=NORMAL, so a judgement whose record() returned survives
// the process being killed at any later moment (it may not survive a power cut in the next
// moments; SQLite's WAL fsyncs at checkpoints).
//
// Duplicates: each judgement has a content key (pair_key, unique in the table) over its
// prompt set, kind, annotator, prompt conversation and the replies it names (the edit's text
// for repairs, not the reason). Recording a judgement whose key is present returns the
// existing row instead of adding one, so imports can be repeated and interrupted imports rerun.
//
// Undo moves the annotator's latest judgement into judgement_undo_log (with every column),
// so `judgements` only holds live labels and nothing is ever lost.
//
// Threading: a PrefStore uses the Workspace's one connection; use both from one thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "store/workspace.h"

namespace kanana::prefs {

enum class JudgementKind { kPairwise, kTie, kRanking, kEdit };
const char* judgement_kind_name(JudgementKind kind);  // "pairwise" | "tie" | "ranking" | "edit"
Result<JudgementKind> parse_judgement_kind(const std::string& name);

struct Prompt {
  store::PromptRecord row;
  Json messages;                                // the conversation to answer (conversation.h)
  std::optional<int64_t> parent_candidate_id;   // the reply this prompt continues (a branch)
};

struct Candidate {
  store::CandidateRecord row;
  Json meta = Json::object();  // candidates.meta_json (reply messages, model path, stop reason ...)
  Json reply() const;          // the reply as messages
};

struct Judgement {
  int64_t id = 0;
  int64_t prompt_id = 0;
  JudgementKind kind = JudgementKind::kPairwise;
  std::optional<int64_t> chosen_id;    // pairwise: preferred; tie: first; edit: the repaired candidate
  std::optional<int64_t> rejected_id;  // pairwise: the other; tie: second
  std::vector<int64_t> ranking;        // ranking: candidate ids, best first (at least two)
  std::string edited_text;             // edit: the annotator's repair of chosen_id
  std::string annotator;
  std::string reason;
  std::string created_at;              // empty: now (imports keep the time they carry)
  Json meta = Json::object();          // judgements.meta_json (extra fields of an imported line)
};

struct PromptInput {
  Json messages;                                // the conversation so far (ends with the turn to answer)
  std::string lang;                             // "ko", "en", "mixed", ""
  Json meta = Json::object();                   // kept in prompts.meta_json
  std::optional<int64_t> parent_candidate_id;
};

struct Recorded {
  int64_t id = 0;
  bool created = false;  // false: a judgement with the same key was already there
};

// What a prompt set (or the whole workspace) holds.
struct SetCounts {
  int64_t prompts = 0;
  int64_t prompts_with_candidates = 0;
  int64_t candidates = 0;
  int64_t judgements = 0;
  std::map<std::string, int64_t> by_kind;       // "pairwise" → n ...
  std::map<std::string, int64_t> by_annotator;  // annotator → judgements
  int64_t undone = 0;                            // rows in the undo log
};

class PrefStore {
 public:
  explicit PrefStore(store::Workspace& workspace) : ws_(workspace) {}

  store::Workspace& workspace() { return ws_; }

  // ---- prompt sets
  Result<int64_t> find_or_create_prompt_set(const std::string& name, const std::string& description = "");
  // By id ("12") or by name (the first set with that name); kNotFound names what was looked for.
  Result<store::PromptSetRecord> find_prompt_set(const std::string& name_or_id);
  Result<store::PromptSetRecord> get_prompt_set(int64_t id);

  // ---- prompts
  Result<int64_t> add_prompt(int64_t prompt_set_id, const PromptInput& prompt);
  // The prompt of the set with the same conversation, or a new one; *created says which.
  Result<int64_t> find_or_add_prompt(int64_t prompt_set_id, const PromptInput& prompt, bool* created = nullptr);
  Result<Prompt> get_prompt(int64_t id);
  Result<std::vector<Prompt>> list_prompts(int64_t prompt_set_id);
  // Multi-turn: a new prompt in the same set whose conversation is the candidate's prompt,
  // the candidate's reply, and a new user turn. Recorded as a branch of the candidate.
  Result<int64_t> continue_branch(int64_t candidate_id, const std::string& user_text);

  // ---- candidates
  // Adds the candidate (and, when it names a checkpoint, the lineage edge checkpoint
  // --generated--> candidate) in one transaction.
  Result<int64_t> add_candidate(const store::CandidateRecord& candidate, const Json& meta = Json::object());
  // The prompt's candidate with the same reply, or a new one.
  Result<int64_t> find_or_add_candidate(const store::CandidateRecord& candidate, const Json& meta, bool* created = nullptr);
  Result<Candidate> get_candidate(int64_t id);
  Result<std::vector<Candidate>> list_candidates(int64_t prompt_id);
  Result<std::vector<Candidate>> list_candidates_of_set(int64_t prompt_set_id);  // by prompt, then id

  // ---- checkpoints (the models candidates come from)
  // The checkpoint registered at `model_dir` (compared as canonical paths), or a new record
  // named after the folder ("<run>/step-N" for a run's checkpoint folder).
  Result<int64_t> find_or_add_checkpoint(const std::filesystem::path& model_dir);
  Result<std::optional<int64_t>> find_checkpoint(const std::filesystem::path& model_dir);

  // ---- judgements
  // Validates (candidates must answer the prompt), keys and commits one judgement.
  Result<Recorded> record(const Judgement& judgement);
  // The key record() would give `judgement` (see the header comment).
  Result<std::string> pair_key(const Judgement& judgement);
  // Undo the annotator's latest judgement (in one prompt set, or anywhere); nullopt when
  // there is none. Returns the judgement as it was.
  Result<std::optional<Judgement>> undo_last(const std::string& annotator,
                                             std::optional<int64_t> prompt_set_id = std::nullopt);
  Result<std::vector<Judgement>> list_judgements(std::optional<int64_t> prompt_set_id = std::nullopt,
                                                 std::optional<int64_t> prompt_id = std::nullopt);
  Result<Judgement> get_judgement(int64_t id);
  Result<std::vector<std::string>> annotators(std::optional<int64_t> prompt_set_id = std::nullopt);

  // Judgements written without a key (schema v2 rows, rows added through
  // store::Workspace::add_judgement) get theirs, so de-duplication sees them. A row whose key
  // another row already has keeps none. Returns how many rows got a key.
  Result<int64_t> backfill_keys();

  Result<SetCounts> counts(std::optional<int64_t> prompt_set_id = std::nullopt);

  // Conversation text → prompt id for every prompt of a set, for bulk de-duplication.
  Result<std::unordered_map<std::string, int64_t>> prompt_index(int64_t prompt_set_id);

 private:
  Result<int64_t> insert_prompt(int64_t prompt_set_id, const PromptInput& prompt);

  store::Workspace& ws_;
};

// Runs a group of writes as one unit: BEGIN IMMEDIATE ... COMMIT on a connection with no
// open transaction, a SAVEPOINT inside one. Rolls back on destruction unless committed.
class WriteScope {
 public:
  static Result<std::unique_ptr<WriteScope>> begin(store::Database& db);
  ~WriteScope();
  WriteScope(const WriteScope&) = delete;
  WriteScope& operator=(const WriteScope&) = delete;
  Status commit();

 private:
  WriteScope(store::Database& db, bool nested, std::string name) : db_(db), nested_(nested), name_(std::move(name)) {}
  store::Database& db_;
  bool nested_;
  std::string name_;
  bool done_ = false;
};

}  // namespace kanana::prefs
