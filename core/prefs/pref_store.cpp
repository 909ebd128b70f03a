// The annotation store over the workspace database (see pref_store.h).
#include "prefs/pref_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <system_error>

#include "base/json.h"
#include "base/files.h"
#include "data/hashing.h"
#include "prefs/conversation.h"

namespace kanana::prefs {

namespace fs = std::filesystem;
using store::Statement;

// ---------------------------------------------------------------- kinds

const char* judgement_kind_name(JudgementKind kind) {
  switch (kind) {
    case JudgementKind::kPairwise: return "pairwise";
    case JudgementKind::kTie: return "tie";
    case JudgementKind::kRanking: return "ranking";
    case JudgementKind::kEdit: return "edit";
  }
  return "pairwise";
}

Result<JudgementKind> parse_judgement_kind(const std::string& name) {
  for (JudgementKind k : {JudgementKind::kPairwise, JudgementKind::kTie, JudgementKind::kRanking, JudgementKind::kEdit})
    if (name == judgement_kind_name(k)) return k;
  return invalid_argument("unknown judgement kind '" + name + "' (pairwise, tie, ranking or edit)");
}

Json Candidate::reply() const { return candidate_reply(row, meta); }

// ---------------------------------------------------------------- WriteScope

Result<std::unique_ptr<WriteScope>> WriteScope::begin(store::Database& db) {
  static std::atomic<uint64_t> counter{0};
  const bool nested = sqlite3_get_autocommit(db.handle()) == 0;
  if (!nested) {
    KANANA_RETURN_IF_ERROR(db.begin(/*immediate=*/true));
    return std::unique_ptr<WriteScope>(new WriteScope(db, false, {}));
  }
  std::string name = "prefs_" + std::to_string(++counter);
  KANANA_RETURN_IF_ERROR(db.exec("SAVEPOINT " + name));
  return std::unique_ptr<WriteScope>(new WriteScope(db, true, std::move(name)));
}

WriteScope::~WriteScope() {
  if (done_) return;
  if (nested_) {
    (void)db_.exec("ROLLBACK TO " + name_);
    (void)db_.exec("RELEASE " + name_);
  } else {
    (void)db_.rollback();
  }
}

Status WriteScope::commit() {
  KANANA_RETURN_IF_ERROR(nested_ ? db_.exec("RELEASE " + name_) : db_.commit());
  done_ = true;
  return Status::ok();
}

// ---------------------------------------------------------------- helpers

namespace {

constexpr const char* kPromptColumns = "id, prompt_set_id, text, system, lang, meta_json, parent_candidate_id";
constexpr const char* kCandidateColumns = "id, prompt_id, checkpoint_id, text, sampling_json, seed, created_at, meta_json";
constexpr const char* kJudgementColumns =
    "j.id, j.prompt_id, j.kind, j.chosen_id, j.rejected_id, j.ranking_json, j.edited_text, j.annotator, j.reason, "
    "j.created_at, j.meta_json";

Prompt read_prompt(Statement& s) {
  Prompt p;
  p.row = store::PromptRecord{s.column_int(0), s.column_int(1), s.column_text(2), s.column_text(3), s.column_text(4),
                              s.column_text(5)};
  p.parent_candidate_id = s.column_optional_int(6);
  p.messages = prompt_messages(p.row);
  return p;
}

Result<Candidate> read_candidate(Statement& s) {
  Candidate c;
  c.row = store::CandidateRecord{s.column_int(0), s.column_int(1), s.column_optional_int(2), s.column_text(3),
                                 s.column_text(4), s.column_optional_int(5), s.column_text(6)};
  KANANA_ASSIGN_OR_RETURN(c.meta, parse_object_column(s.column_text(7), "candidate " + std::to_string(c.row.id) + " meta_json"));
  return c;
}

Result<Judgement> read_judgement(Statement& s) {
  Judgement j;
  j.id = s.column_int(0);
  j.prompt_id = s.column_int(1);
  KANANA_ASSIGN_OR_RETURN(j.kind, parse_judgement_kind(s.column_text(2)));
  j.chosen_id = s.column_optional_int(3);
  j.rejected_id = s.column_optional_int(4);
  const std::string ranking = s.column_text(5);
  Json r = parse_json_or_discarded(ranking.empty() ? "[]" : ranking);
  if (!r.is_array()) return data_loss("judgement " + std::to_string(j.id) + " ranking_json is not an array");
  for (const Json& id : r)
    if (id.is_number_integer()) j.ranking.push_back(id.get<int64_t>());
  j.edited_text = s.column_text(6);
  j.annotator = s.column_text(7);
  j.reason = s.column_text(8);
  j.created_at = s.column_text(9);
  KANANA_ASSIGN_OR_RETURN(j.meta, parse_object_column(s.column_text(10), "judgement " + std::to_string(j.id) + " meta_json"));
  return j;
}

template <typename T, typename F>
Result<std::vector<T>> collect(Statement& st, F&& read) {
  std::vector<T> out;
  while (true) {
    KANANA_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) return out;
    if constexpr (std::is_same_v<decltype(read(st)), T>) {
      out.push_back(read(st));
    } else {
      KANANA_ASSIGN_OR_RETURN(T item, read(st));
      out.push_back(std::move(item));
    }
  }
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

fs::path canonical_or_absolute(const fs::path& p) {
  std::error_code ec;
  fs::path c = fs::weakly_canonical(fs::absolute(p, ec), ec);
  return ec ? fs::absolute(p) : c;
}

std::string hex128(const std::string& text) {
  const uint64_t a = data::hash64(text, 0x9E3779B97F4A7C15ull);
  const uint64_t b = data::hash64(text, 0xC2B2AE3D27D4EB4Full);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(a), static_cast<unsigned long long>(b));
  return buf;
}

}  // namespace

// ---------------------------------------------------------------- prompt sets

Result<int64_t> PrefStore::find_or_create_prompt_set(const std::string& name, const std::string& description) {
  if (name.empty()) return invalid_argument("a prompt set needs a name");
  KANANA_ASSIGN_OR_RETURN(Statement st, ws_.db().prepare("SELECT id FROM prompt_sets WHERE name = ?1 ORDER BY id LIMIT 1"));
  st.bind(1, name);
  KANANA_ASSIGN_OR_RETURN(bool row, st.step());
  if (row) return st.column_int(0);
  store::PromptSetRecord r;
  r.name = name;
  r.description = description;
  return ws_.add_prompt_set(r);
}

Result<store::PromptSetRecord> PrefStore::get_prompt_set(int64_t id) {
  KANANA_ASSIGN_OR_RETURN(auto sets, ws_.list_prompt_sets());
  for (auto& s : sets)
    if (s.id == id) return s;
  return not_found("prompt set " + std::to_string(id) + " does not exist in " + ws_.db_path().string());
}

Result<store::PromptSetRecord> PrefStore::find_prompt_set(const std::string& name_or_id) {
  KANANA_ASSIGN_OR_RETURN(auto sets, ws_.list_prompt_sets());
  for (auto& s : sets)
    if (s.name == name_or_id) return s;
  if (all_digits(name_or_id)) {
    const int64_t id = std::stoll(name_or_id);
    for (auto& s : sets)
      if (s.id == id) return s;
  }
  std::string known;
  for (const auto& s : sets) known += (known.empty() ? "" : ", ") + s.name;
  return not_found("no prompt set '" + name_or_id + "' in " + ws_.root().string() +
                   (known.empty() ? " (it has none)" : " (it has: " + known + ")"));
}

// ---------------------------------------------------------------- prompts

Result<int64_t> PrefStore::insert_prompt(int64_t prompt_set_id, const PromptInput& prompt) {
  KANANA_RETURN_IF_ERROR(check_messages(prompt.messages, "prompt"));
  store::PromptRecord row;
  row.prompt_set_id = prompt_set_id;
  row.lang = prompt.lang;
  KANANA_RETURN_IF_ERROR(set_prompt_messages(&row, prompt.messages, prompt.meta));
  KANANA_ASSIGN_OR_RETURN(auto scope, WriteScope::begin(ws_.db()));
  KANANA_ASSIGN_OR_RETURN(const int64_t id, ws_.add_prompt(row));
  if (prompt.parent_candidate_id) {
    KANANA_ASSIGN_OR_RETURN(Statement st, ws_.db().prepare("UPDATE prompts SET parent_candidate_id = ?2 WHERE id = ?1"));
    st.bind(1, id).bind(2, *prompt.parent_candidate_id);
    KANANA_RETURN_IF_ERROR(st.run());
    KANANA_RETURN_IF_ERROR(ws_.add_lineage({"candidate", *prompt.parent_candidate_id}, {"prompt", id}, "continued").status());
  }
  KANANA_RETURN_IF_ERROR(scope->commit());
  return id;
}

Result<int64_t> PrefStore::add_prompt(int64_t prompt_set_id, const PromptInput& prompt) {
  return insert_prompt(prompt_set_id, prompt);
}

Result<std::unordered_map<std::string, int64_t>> PrefStore::prompt_index(int64_t prompt_set_id) {
  KANANA_ASSIGN_OR_RETURN(auto prompts, list_prompts(prompt_set_id));
  std::unordered_map<std::string, int64_t> index;
  for (const Prompt& p : prompts) index.emplace(canonical_json(p.messages), p.row.id);
  return index;
}

Result<int64_t> PrefStore::find_or_add_prompt(int64_t prompt_set_id, const PromptInput& prompt, bool* created) {
  KANANA_ASSIGN_OR_RETURN(auto index, prompt_index(prompt_set_id));
  auto it = index.find(canonical_json(prompt.messages));
  if (created) *created = it == index.end();
  if (it != index.end()) return it->second;
  return insert_prompt(prompt_set_id, prompt);
}

Result<Prompt> PrefStore::get_prompt(int64_t id) {
  KANANA_ASSIGN_OR_RETURN(Statement st, ws_.db().prepare(std::string("SELECT ") + kPromptColumns + " FROM prompts WHERE id = ?1"));
  st.bind(1, id);
  KANANA_ASSIGN_OR_RETURN(bool row, st.step());
  if (!row) return not_found("prompt " + std::to_string(id) + " does not exist");
  return read_prompt(st);
}

Result<std::vector<Prompt>> PrefStore::list_prompts(int64_t prompt_set_id) {
  KANANA_ASSIGN_OR_RETURN(Statement st, ws_.db().prepare(std::string("SELECT ") + kPromptColumns +
                                                         " FROM prompts WHERE prompt_set_id = ?1 ORDER BY id"));
  st.bind(1, prompt_set_id);
  return collect<Prompt>(st, read_prompt);
}

Result<int64_t> PrefStore::continue_branch(int64_t candidate_id, const std::string& user_text) {
  if (user_text.empty()) return invalid_argument("the new user turn of a branch is empty");
  KANANA_ASSIGN_OR_RETURN(Candidate c, get_candidate(candidate_id));
  KANANA_ASSIGN_OR_RETURN(Prompt p, get_prompt(c.row.prompt_id));
  PromptInput next;
  next.messages = p.messages;
  for (const Json& m : c.reply()) next.messages.push_back(m);
  next.messages.push_back({{"role", "user"}, {"content", user_text}});
  next.lang = p.row.lang;
  next.parent_candidate_id = candidate_id;
  return insert_prompt(p.row.prompt_set_id, next);
}

// ---------------------------------------------------------------- candidates

Result<int64_t> PrefStore::add_candidate(const store::CandidateRecord& candidate, const Json& meta) {
  KANANA_ASSIGN_OR_RETURN(auto scope, WriteScope::begin(ws_.db()));
  KANANA_ASSIGN_OR_RETURN(const int64_t id, ws_.add_candidate(candidate));
  if (meta.is_object() && !meta.empty()) {
    KANANA_ASSIGN_OR_RETURN(Statement st, ws_.db().prepare("UPDATE candidates SET meta_json = ?2 WHERE id = ?1"));
    st.bind(1, id).bind(2, meta.dump());
    KANANA_RETURN_IF_ERROR(st.run());
  }
  if (candidate.checkpoint_id)
    KANANA_RETURN_IF_ERROR(ws_.add_lineage({"checkpoint", *candidate.checkpoint_id}, {"candidate", id}, "generated").status());
  KANANA_RETURN_IF_ERROR(scope->commit());
  return id;
}

Result<int64_t> PrefStore::find_or_add_candidate(const store::CandidateRecord& candidate, const Json& meta, bool* created) {
  const std::string key = canonical_json(candidate_reply(candidate, meta));
  KANANA_ASSIGN_OR_RETURN(auto existing, list_candidates(candidate.prompt_id));
  for (const Candidate& c : existing) {
    if (canonical_json(c.reply()) == key) {
      if (created) *created = false;
      return c.row.id;
    }
  }
  if (created) *created = true;
  return add_candidate(candidate, meta);
}

Result<Candidate> PrefStore::get_candidate(int64_t id) {
  KANANA_ASSIGN_OR_RETURN(Statement st, ws_.db().prepare(std::string("SELECT ") + kCandidateColumns +
                                                         " FROM candidates WHERE id = ?1"));
  st.bind(1, id);
  KANANA_ASSIGN_OR_RETURN(bool row, st.step());
  if (!row) return not_found("candidate " + std::to_string(id) + " does not exist");
  return read_candidate(st);
}

Result<std::vector<Candidate>> PrefStore::list_candidates(int64_t prompt_id) {
  KANANA_ASSIGN_OR_RETURN(Statement st, ws_.db().prepare(std::string("SELECT ") + kCandidateColumns +
                                                         " FROM candidates WHERE prompt_id = ?1 ORDER BY id"));
  st.bind(1, prompt_id);
  return collect<Candidate>(st, read_candidate);
}

Result<std::vector<Candidate>> PrefStore::list_candidates_of_set(int64_t prompt_set_id) {
  KANANA_ASSIGN_OR_RETURN(Statement st, ws_.db().prepare(
      "SELECT c.id, c.prompt_id, c.checkpoint_id, c.text, c.sampling_json, c.seed, c.created_at, c.meta_json "
      "FROM candidates c JOIN prompts p ON p.id = c.prompt_id WHERE p.prompt_set_id = ?1 ORDER BY c.prompt_id, c.id"));
  st.bind(1, prompt_set_id);
  return collect<Candidate>(st, read_candidate);
}

// ---------------------------------------------------------------- checkpoints

Result<std::optional<int64_t>> PrefStore::find_checkpoint(const fs::path& model_dir) {
  const fs::path want = canonical_or_absolute(model_dir);
  KANANA_ASSIGN_OR_RETURN(auto all, ws_.list_checkpoints());
  for (const auto& c : all)
    if (canonical_or_absolute(ws_.resolve(c.path)) == want) return std::optional<int64_t>(c.id);
  return std::optional<int64_t>();
}

Result<int64_t> PrefStore::find_or_add_checkpoint(const fs::path& model_dir) {
  KANANA_ASSIGN_OR_RETURN(auto found, find_checkpoint(model_dir));
  if (found) return *found;
  const fs::path dir = canonical_or_absolute(model_dir);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return not_found(dir.string() + ": no such model folder");
  store::CheckpointRecord r;
  r.path = dir.string();
  r.name = dir.filename().string();
  if (dir.parent_path().filename() == "checkpoints" && !dir.parent_path().parent_path().filename().empty())
    r.name = dir.parent_path().parent_path().filename().string() + "/" + r.name;
  const std::string leaf = dir.filename().string();
  if (leaf.rfind("step-", 0) == 0 && leaf.size() > 5 && all_digits(leaf.substr(5))) r.step = std::stoll(leaf.substr(5));
  if (auto config = read_json_file(dir / "config.json"); config.is_ok() && config->is_object()) r.config_json = config->dump();
  return ws_.add_checkpoint(r);
}

// ---------------------------------------------------------------- judgements

Result<std::string> PrefStore::pair_key(const Judgement& j) {
  KANANA_ASSIGN_OR_RETURN(Prompt prompt, get_prompt(j.prompt_id));
  auto reply_of = [&](std::optional<int64_t> id, const char* field) -> Result<std::string> {
    if (!id) return invalid_argument(std::string("a ") + judgement_kind_name(j.kind) + " judgement needs " + field);
    KANANA_ASSIGN_OR_RETURN(Candidate c, get_candidate(*id));
    if (c.row.prompt_id != j.prompt_id)
      return invalid_argument(std::string("judgement ") + field + ": candidate " + std::to_string(*id) + " answers prompt " +
                              std::to_string(c.row.prompt_id) + ", not prompt " + std::to_string(j.prompt_id));
    return canonical_json(c.reply());
  };
  std::string text = "kanana-pair-key-v1\n" + std::to_string(prompt.row.prompt_set_id) + "\n" +
                     judgement_kind_name(j.kind) + "\n" + j.annotator + "\n" + canonical_json(prompt.messages) + "\n";
  switch (j.kind) {
    case JudgementKind::kPairwise: {
      KANANA_ASSIGN_OR_RETURN(std::string a, reply_of(j.chosen_id, "chosen_id"));
      KANANA_ASSIGN_OR_RETURN(std::string b, reply_of(j.rejected_id, "rejected_id"));
      text += a + "\n>\n" + b;
      break;
    }
    case JudgementKind::kTie: {
      KANANA_ASSIGN_OR_RETURN(std::string a, reply_of(j.chosen_id, "chosen_id"));
      KANANA_ASSIGN_OR_RETURN(std::string b, reply_of(j.rejected_id, "rejected_id"));
      if (b < a) std::swap(a, b);
      text += a + "\n=\n" + b;
      break;
    }
    case JudgementKind::kRanking:
      for (size_t i = 0; i < j.ranking.size(); ++i) {
        KANANA_ASSIGN_OR_RETURN(std::string r, reply_of(j.ranking[i], "ranking"));
        text += (i ? "\n>\n" : "") + r;
      }
      break;
    case JudgementKind::kEdit: {
      KANANA_ASSIGN_OR_RETURN(std::string a, reply_of(j.chosen_id, "chosen_id"));
      text += a + "\n->\n" + j.edited_text;
      break;
    }
  }
  return hex128(text);
}

Result<Recorded> PrefStore::record(const Judgement& j) {
  switch (j.kind) {
    case JudgementKind::kPairwise:
    case JudgementKind::kTie:
      if (!j.chosen_id || !j.rejected_id || *j.chosen_id == *j.rejected_id)
        return invalid_argument(std::string("a ") + judgement_kind_name(j.kind) +
                                " judgement needs two different candidates (chosen_id, rejected_id)");
      break;
    case JudgementKind::kRanking: {
      std::vector<int64_t> sorted = j.ranking;
      std::sort(sorted.begin(), sorted.end());
      if (sorted.size() < 2) return invalid_argument("a ranking judgement needs at least two candidates");
      if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
        return invalid_argument("a ranking judgement names a candidate twice");
      break;
    }
    case JudgementKind::kEdit:
      if (!j.chosen_id) return invalid_argument("an edit judgement needs chosen_id (the repaired candidate)");
      if (j.edited_text.empty()) return invalid_argument("an edit judgement needs the edited text");
      break;
  }
  KANANA_ASSIGN_OR_RETURN(const std::string key, pair_key(j));
  KANANA_ASSIGN_OR_RETURN(auto scope, WriteScope::begin(ws_.db()));
  {
    KANANA_ASSIGN_OR_RETURN(Statement st, ws_.db().prepare("SELECT id FROM judgements WHERE pair_key = ?1"));
    st.bind(1, key);
    KANANA_ASSIGN_OR_RETURN(bool row, st.step());
    if (row) {
      const int64_t id = st.column_int(0);
      KANANA_RETURN_IF_ERROR(scope->commit());
      return Recorded{id, false};
    }
  }
  store::JudgementRecord r;
  r.prompt_id = j.prompt_id;
  r.kind = judgement_kind_name(j.kind);
  r.chosen_id = j.chosen_id;
  r.rejected_id = j.rejected_id;
  r.ranking_json = Json(j.ranking).dump();
  r.edited_text = j.edited_text;
  r.annotator = j.annotator;
  r.reason = j.reason;
  KANANA_ASSIGN_OR_RETURN(const int64_t id, ws_.add_judgement(r));
  KANANA_ASSIGN_OR_RETURN(Statement st, ws_.db().prepare(
      "UPDATE judgements SET pair_key = ?2, meta_json = ?3, created_at = COALESCE(NULLIF(?4, ''), created_at) "
      "WHERE id = ?1"));
  st.bind(1, id).bind(2, key).bind(3, j.meta.is_object() ? j.meta.dump() : std::string("{}")).bind(4, j.created_at);
  KANANA_RETURN_IF_ERROR(st.run());
  KANANA_RETURN_IF_ERROR(scope->commit());
  return Recorded{id, true};
}

Result<int64_t> PrefStore::backfill_keys() {
  std::vector<int64_t> ids;
  {
    KANANA_ASSIGN_OR_RETURN(Statement st, ws_.db().prepare("SELECT id FROM judgements WHERE pair_key IS NULL ORDER BY id"));
    KANANA_ASSIGN_OR_RETURN(ids, collect<int64_t>(st, [](Statement& s) { return s.column_int(0); }));
  }
  if (ids.empty()) return int64_t(0);
  int64_t keyed = 0;
  KANANA_ASSIGN_OR_RETURN(auto scope, WriteScope::begin(ws_.db()));
  KANANA_ASSIGN_OR_RETURN(Statement update, ws_.db().prepare(
      "UPDATE judgements SET pair_key = ?2 WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM judgements WHERE pair_key = ?2)"));
  for (int64_t id : ids) {
    KANANA_ASSIGN_OR_RETURN(Judgement j, get_judgement(id));
    auto key = pair_key(j);
    if (!key.is_ok()) continue;  // a row the store cannot key (e.g. a candidate that was deleted): left as is
    KANANA_RETURN_IF_ERROR(update.reset());
    update.bind(1, id).bind(2, *key);
    KANANA_RETURN_IF_ERROR(update.run());
    keyed += ws_.db().changes();
  }
  KANANA_RETURN_IF_ERROR(scope->commit());
  return keyed;
}

Result<Judgement> PrefStore::get_judgement(int64_t id) {
  KANANA_ASSIGN_OR_RETURN(Statement st, ws_.db().prepare(std::string("SELECT ") + kJudgementColumns +
                                                         " FROM judgements j WHERE j.id = ?1"));
  st.bind(1, id);
  KANANA_ASSIGN_OR_RETURN(bool row, st.step());
  if (!row) return not_found("judgement " + std::to_string(id) + " does not exist");
  return read_judgement(st);
}

Result<std::optional<Judgement>> PrefStore::undo_last(const std::string& annotator, std::optional<int64_t> prompt_set_id) {
  KANANA_ASSIGN_OR_RETURN(auto scope, WriteScope::begin(ws_.db()));
  KANANA_ASSIGN_OR_RETURN(Statement find, ws_.db().prepare(
      "SELECT j.id FROM judgements j JOIN prompts p ON p.id = j.prompt_id "
      "WHERE j.annotator = ?1 AND (?2 IS NULL OR p.prompt_set_id = ?2) ORDER BY j.id DESC LIMIT 1"));
  find.bind(1, annotator).bind(2, prompt_set_id);
  KANANA_ASSIGN_OR_RETURN(bool row, find.step());
  if (!row) return std::optional<Judgement>();
  const int64_t id = find.column_int(0);
  KANANA_ASSIGN_OR_RETURN(Judgement undone, get_judgement(id));
  KANANA_ASSIGN_OR_RETURN(Statement log, ws_.db().prepare(
      "INSERT INTO judgement_undo_log (judgement_id, prompt_id, annotator, row_json) "
      "SELECT id, prompt_id, annotator, json_object('id', id, 'prompt_id', prompt_id, 'kind', kind, "
      "'chosen_id', chosen_id, 'rejected_id', rejected_id, 'ranking_json', json(ranking_json), "
      "'edited_text', edited_text, 'annotator', annotator, 'reason', reason, 'created_at', created_at, "
      "'meta_json', json(meta_json), 'pair_key', pair_key) FROM judgements WHERE id = ?1"));
  log.bind(1, id);
  KANANA_RETURN_IF_ERROR(log.run());
  KANANA_ASSIGN_OR_RETURN(Statement edges, ws_.db().prepare(
      "DELETE FROM lineage WHERE (src_kind = 'judgement' AND src_id = ?1) OR (dst_kind = 'judgement' AND dst_id = ?1)"));
  edges.bind(1, id);
  KANANA_RETURN_IF_ERROR(edges.run());
  KANANA_ASSIGN_OR_RETURN(Statement del, ws_.db().prepare("DELETE FROM judgements WHERE id = ?1"));
  del.bind(1, id);
  KANANA_RETURN_IF_ERROR(del.run());
  KANANA_RETURN_IF_ERROR(scope->commit());
  return std::optional<Judgement>(std::move(undone));
}

Result<std::vector<Judgement>> PrefStore::list_judgements(std::optional<int64_t> prompt_set_id,
                                                          std::optional<int64_t> prompt_id) {
  KANANA_ASSIGN_OR_RETURN(Statement st, ws_.db().prepare(
      std::string("SELECT ") + kJudgementColumns +
      " FROM judgements j JOIN prompts p ON p.id = j.prompt_id "
      "WHERE (?1 IS NULL OR p.prompt_set_id = ?1) AND (?2 IS NULL OR j.prompt_id = ?2) ORDER BY j.id"));
  st.bind(1, prompt_set_id).bind(2, prompt_id);
  return collect<Judgement>(st, read_judgement);
}

Result<std::vector<std::string>> PrefStore::annotators(std::optional<int64_t> prompt_set_id) {
  KANANA_ASSIGN_OR_RETURN(Statement st, ws_.db().prepare(
      "SELECT DISTINCT j.annotator FROM judgements j JOIN prompts p ON p.id = j.prompt_id "
      "WHERE ?1 IS NULL OR p.prompt_set_id = ?1 ORDER BY j.annotator"));
  st.bind(1, prompt_set_id);
  return collect<std::string>(st, [](Statement& s) { return s.column_text(0); });
}

Result<SetCounts> PrefStore::counts(std::optional<int64_t> prompt_set_id) {
  SetCounts c;
  auto count = [&](const char* sql) -> Result<int64_t> {
    KANANA_ASSIGN_OR_RETURN(Statement st, ws_.db().prepare(sql));
    st.bind(1, prompt_set_id);
    KANANA_ASSIGN_OR_RETURN(bool row, st.step());
    return row ? st.column_int(0) : 0;
  };
  KANANA_ASSIGN_OR_RETURN(c.prompts, count("SELECT count(*) FROM prompts WHERE ?1 IS NULL OR prompt_set_id = ?1"));
  KANANA_ASSIGN_OR_RETURN(c.prompts_with_candidates, count(
      "SELECT count(DISTINCT c.prompt_id) FROM candidates c JOIN prompts p ON p.id = c.prompt_id "
      "WHERE ?1 IS NULL OR p.prompt_set_id = ?1"));
  KANANA_ASSIGN_OR_RETURN(c.candidates, count(
      "SELECT count(*) FROM candidates c JOIN prompts p ON p.id = c.prompt_id WHERE ?1 IS NULL OR p.prompt_set_id = ?1"));
  KANANA_ASSIGN_OR_RETURN(c.judgements, count(
      "SELECT count(*) FROM judgements j JOIN prompts p ON p.id = j.prompt_id WHERE ?1 IS NULL OR p.prompt_set_id = ?1"));
  KANANA_ASSIGN_OR_RETURN(c.undone, count(
      "SELECT count(*) FROM judgement_undo_log u JOIN prompts p ON p.id = u.prompt_id "
      "WHERE ?1 IS NULL OR p.prompt_set_id = ?1"));
  for (const char* column : {"kind", "annotator"}) {
    KANANA_ASSIGN_OR_RETURN(Statement st, ws_.db().prepare(
        std::string("SELECT j.") + column + ", count(*) FROM judgements j JOIN prompts p ON p.id = j.prompt_id "
        "WHERE ?1 IS NULL OR p.prompt_set_id = ?1 GROUP BY j." + column + " ORDER BY j." + column));
    st.bind(1, prompt_set_id);
    auto& target = std::string(column) == "kind" ? c.by_kind : c.by_annotator;
    while (true) {
      KANANA_ASSIGN_OR_RETURN(bool row, st.step());
      if (!row) break;
      target[st.column_text(0)] = st.column_int(1);
    }
  }
  return c;
}

}  // namespace kanana::prefs
