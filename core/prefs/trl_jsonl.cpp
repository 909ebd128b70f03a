// TRL preference JSONL export and import (see trl_jsonl.h).
#include "prefs/trl_jsonl.h"

#include <fstream>
#include <map>
#include <set>
#include <unordered_map>

#include "base/files.h"
#include "prefs/conversation.h"

namespace kanana::prefs {

namespace fs = std::filesystem;

const char* pair_format_name(PairFormat format) {
  switch (format) {
    case PairFormat::kText: return "text";
    case PairFormat::kMessages: return "messages";
    case PairFormat::kPromptMessages: return "prompt-messages";
  }
  return "text";
}

Result<PairFormat> parse_pair_format(const std::string& name) {
  for (PairFormat f : {PairFormat::kText, PairFormat::kMessages, PairFormat::kPromptMessages})
    if (name == pair_format_name(f)) return f;
  return invalid_argument("unknown pair format '" + name + "' (text, messages or prompt-messages)");
}

namespace {

constexpr const char* kCoreKeys[] = {"prompt", "chosen", "rejected", "kanana"};

bool is_core_key(const std::string& key) {
  for (const char* k : kCoreKeys)
    if (key == k) return true;
  return false;
}

// Candidate meta keys that export moves into named provenance fields.
constexpr const char* kCheckpointPathKey = "checkpoint_path";
constexpr const char* kCheckpointNameKey = "checkpoint_name";

// ---------------------------------------------------------------- export

class Exporter {
 public:
  Exporter(PrefStore& store, const ExportOptions& options) : store_(store), options_(options) {}

  Status add(const Judgement& j, std::vector<Json>* lines, ExportReport* report) {
    KANANA_ASSIGN_OR_RETURN(const Prompt* prompt, prompt_of(j.prompt_id));
    Json kanana = Json::object();
    kanana["kind"] = judgement_kind_name(j.kind);
    if (!j.annotator.empty()) kanana["annotator"] = j.annotator;
    if (!j.reason.empty()) kanana["reason"] = j.reason;
    if (!j.created_at.empty()) kanana["created_at"] = j.created_at;
    KANANA_ASSIGN_OR_RETURN(const std::string set_name, set_name_of(prompt->row.prompt_set_id));
    kanana["prompt_set"] = set_name;
    if (!prompt->row.lang.empty()) kanana["lang"] = prompt->row.lang;
    if (auto pm = parse_object_column(prompt->row.meta_json, "prompt meta"); pm.is_ok()) {
      pm->erase("messages");
      if (!pm->empty()) kanana["prompt_meta"] = *pm;
    }
    Json meta = j.meta.is_object() ? j.meta : Json::object();
    Json extra = meta.contains("extra") && meta["extra"].is_object() ? meta["extra"] : Json::object();
    meta.erase("extra");
    if (!meta.empty()) kanana["meta"] = meta;

    auto emit = [&](const Json& chosen, const Json& rejected, Json k) -> Status {
      Json line = Json::object();
      for (auto it = extra.begin(); it != extra.end(); ++it)
        if (!is_core_key(it.key())) line[it.key()] = it.value();
      KANANA_RETURN_IF_ERROR(write_pair(prompt->messages, chosen, rejected, &line, &k));
      if (options_.provenance) line["kanana"] = std::move(k);
      lines->push_back(std::move(line));
      ++report->lines;
      return Status::ok();
    };

    switch (j.kind) {
      case JudgementKind::kPairwise:
      case JudgementKind::kTie: {
        if (j.kind == JudgementKind::kTie && !options_.include_ties) {
          ++report->ties_left_out;
          return Status::ok();
        }
        KANANA_ASSIGN_OR_RETURN(const Candidate* c, candidate(*j.chosen_id));
        KANANA_ASSIGN_OR_RETURN(const Candidate* r, candidate(*j.rejected_id));
        KANANA_ASSIGN_OR_RETURN(Json pc, provenance(*c));
        KANANA_ASSIGN_OR_RETURN(Json pr, provenance(*r));
        if (!pc.empty()) kanana["chosen"] = pc;
        if (!pr.empty()) kanana["rejected"] = pr;
        KANANA_RETURN_IF_ERROR(emit(c->reply(), r->reply(), kanana));
        break;
      }
      case JudgementKind::kEdit: {
        if (!options_.include_edits) return Status::ok();
        KANANA_ASSIGN_OR_RETURN(const Candidate* original, candidate(*j.chosen_id));
        KANANA_ASSIGN_OR_RETURN(Json pr, provenance(*original));
        if (!pr.empty()) kanana["rejected"] = pr;
        KANANA_RETURN_IF_ERROR(emit(plain_reply(j.edited_text), original->reply(), kanana));
        break;
      }
      case JudgementKind::kRanking: {
        if (!options_.include_rankings) return Status::ok();
        std::vector<const Candidate*> ranked;
        Json replies = Json::array(), origins = Json::array();
        bool any_origin = false;
        for (int64_t id : j.ranking) {
          KANANA_ASSIGN_OR_RETURN(const Candidate* c, candidate(id));
          ranked.push_back(c);
          replies.push_back(reply_value(c->reply()));
          KANANA_ASSIGN_OR_RETURN(Json p, provenance(*c));
          any_origin = any_origin || !p.empty();
          origins.push_back(std::move(p));
        }
        kanana["ranking"] = replies;
        if (any_origin) kanana["ranking_candidates"] = origins;
        for (size_t x = 0; x < ranked.size(); ++x)
          for (size_t y = x + 1; y < ranked.size(); ++y) {
            Json k = kanana;
            k["rank"] = {x, y};
            KANANA_RETURN_IF_ERROR(emit(ranked[x]->reply(), ranked[y]->reply(), std::move(k)));
          }
        break;
      }
    }
    ++report->judgements;
    return Status::ok();
  }

 private:
  // A reply as the chosen format writes it: text, or the messages.
  Json reply_value(const Json& reply) const {
    return options_.format == PairFormat::kText && is_plain_reply(reply) ? Json(reply_text(reply)) : reply;
  }

  Status write_pair(const Json& prompt, const Json& chosen, const Json& rejected, Json* line, Json* kanana) const {
    switch (options_.format) {
      case PairFormat::kText: {
        const Json& last = prompt.back();
        (*line)["prompt"] = last.is_object() && last.contains("content") && last["content"].is_string()
                                ? last["content"].get<std::string>()
                                : std::string();
        const bool simple_prompt = prompt.size() == 1 && last.is_object() && last.size() == 2 &&
                                   last.value("role", std::string()) == "user" && last["content"].is_string();
        if (!simple_prompt) (*kanana)["prompt_messages"] = prompt;
        (*line)["chosen"] = reply_text(chosen);
        (*line)["rejected"] = reply_text(rejected);
        for (const auto& [side, reply] : {std::pair<const char*, const Json*>{"chosen", &chosen}, {"rejected", &rejected}}) {
          if (is_plain_reply(*reply)) continue;
          if (!kanana->contains(side)) (*kanana)[side] = Json::object();
          (*kanana)[side]["messages"] = *reply;
        }
        break;
      }
      case PairFormat::kMessages: {
        Json c = prompt, r = prompt;
        for (const Json& m : chosen) c.push_back(m);
        for (const Json& m : rejected) r.push_back(m);
        size_t shared = 0;
        while (shared < c.size() && shared < r.size() && c[shared] == r[shared]) ++shared;
        if (shared != prompt.size()) (*kanana)["prompt_length"] = prompt.size();
        (*line)["chosen"] = std::move(c);
        (*line)["rejected"] = std::move(r);
        break;
      }
      case PairFormat::kPromptMessages:
        (*line)["prompt"] = prompt;
        (*line)["chosen"] = chosen;
        (*line)["rejected"] = rejected;
        break;
    }
    return Status::ok();
  }

  Result<Json> provenance(const Candidate& c) {
    Json p = Json::object();
    Json meta = c.meta;
    if (c.row.checkpoint_id) {
      auto it = checkpoints_.find(*c.row.checkpoint_id);
      if (it == checkpoints_.end()) {
        KANANA_ASSIGN_OR_RETURN(store::CheckpointRecord ck, store_.workspace().get_checkpoint(*c.row.checkpoint_id));
        ck.path = store_.workspace().resolve(ck.path).string();
        it = checkpoints_.emplace(ck.id, std::move(ck)).first;
      }
      p["checkpoint"] = it->second.path;
      p["checkpoint_name"] = it->second.name;
    } else {
      if (meta.contains(kCheckpointPathKey)) p["checkpoint"] = meta[kCheckpointPathKey];
      if (meta.contains(kCheckpointNameKey)) p["checkpoint_name"] = meta[kCheckpointNameKey];
    }
    meta.erase(kCheckpointPathKey);
    meta.erase(kCheckpointNameKey);
    meta.erase("messages");
    if (c.row.seed) p["seed"] = *c.row.seed;
    KANANA_ASSIGN_OR_RETURN(Json sampling, parse_object_column(c.row.sampling_json, "candidate sampling_json"));
    if (!sampling.empty()) p["sampling"] = sampling;
    if (!meta.empty()) p["meta"] = meta;
    return p;
  }

  Result<const Prompt*> prompt_of(int64_t id) {
    auto it = prompts_.find(id);
    if (it == prompts_.end()) {
      KANANA_ASSIGN_OR_RETURN(Prompt p, store_.get_prompt(id));
      it = prompts_.emplace(id, std::move(p)).first;
    }
    return &it->second;
  }

  Result<const Candidate*> candidate(int64_t id) {
    auto it = candidates_.find(id);
    if (it == candidates_.end()) {
      KANANA_ASSIGN_OR_RETURN(Candidate c, store_.get_candidate(id));
      it = candidates_.emplace(id, std::move(c)).first;
    }
    return &it->second;
  }

  Result<std::string> set_name_of(int64_t id) {
    auto it = set_names_.find(id);
    if (it == set_names_.end()) {
      KANANA_ASSIGN_OR_RETURN(store::PromptSetRecord s, store_.get_prompt_set(id));
      it = set_names_.emplace(id, s.name).first;
    }
    return it->second;
  }

  PrefStore& store_;
  const ExportOptions& options_;
  std::map<int64_t, Prompt> prompts_;
  std::map<int64_t, Candidate> candidates_;
  std::map<int64_t, store::CheckpointRecord> checkpoints_;
  std::map<int64_t, std::string> set_names_;
};

// ---------------------------------------------------------------- import

// One side of a pair as read from a line.
struct Side {
  Json reply;                 // messages
  Json origin = Json::object();  // kanana.chosen / kanana.rejected / one of kanana.ranking_candidates
};

struct ParsedLine {
  Json prompt;                // messages
  JudgementKind kind = JudgementKind::kPairwise;
  Side chosen, rejected;
  std::vector<Side> ranking;
  std::string annotator, reason, created_at, prompt_set, lang;
  Json prompt_meta = Json::object();
  Json meta = Json::object();
};

Status field_error(const std::string& origin, const std::string& field, const std::string& what) {
  return invalid_argument(origin + ": field '" + field + "' " + what);
}

Result<Json> reply_from(const Json& v, const std::string& origin, const std::string& field) {
  Json reply = v.is_string() ? plain_reply(v.get<std::string>()) : v;
  if (!reply.is_array()) return field_error(origin, field, "must be a string or a list of messages");
  if (reply.empty()) return field_error(origin, field, "has no messages");
  KANANA_RETURN_IF_ERROR(check_messages(reply, origin + ": field '" + field + "'"));
  if (reply[0].value("role", std::string()) != "assistant")
    return field_error(origin, field, "must start with an assistant message (got role '" +
                                          reply[0].value("role", std::string()) + "')");
  if (v.is_string() && v.get_ref<const std::string&>().empty()) return field_error(origin, field, "is empty");
  return reply;
}

Result<std::string> optional_string(const Json& obj, const char* key, const std::string& origin) {
  if (!obj.contains(key) || obj[key].is_null()) return std::string();
  if (!obj[key].is_string()) return field_error(origin, std::string("kanana.") + key, "must be a string");
  return obj[key].get<std::string>();
}

Result<Json> optional_object(const Json& obj, const char* key, const std::string& origin) {
  if (!obj.contains(key) || obj[key].is_null()) return Json::object();
  if (!obj[key].is_object()) return field_error(origin, std::string("kanana.") + key, "must be an object");
  return obj[key];
}

Result<ParsedLine> parse_line(const Json& line, const std::string& origin) {
  if (!line.is_object()) return invalid_argument(origin + ": a line must be a JSON object");
  for (const char* key : {"chosen", "rejected"})
    if (!line.contains(key) || line[key].is_null()) return field_error(origin, key, "is required");
  ParsedLine out;
  const Json kanana = line.contains("kanana") ? line["kanana"] : Json::object();
  if (!kanana.is_object()) return field_error(origin, "kanana", "must be an object");
  const Json& c = line["chosen"];
  const Json& r = line["rejected"];
  const Json* p = line.contains("prompt") && !line["prompt"].is_null() ? &line["prompt"] : nullptr;
  for (const auto& [key, v] : {std::pair<const char*, const Json*>{"chosen", &c}, {"rejected", &r}, {"prompt", p}})
    if (v && !v->is_string() && !v->is_array()) return field_error(origin, key, "must be a string or a list of messages");

  KANANA_ASSIGN_OR_RETURN(out.chosen.origin, optional_object(kanana, "chosen", origin));
  KANANA_ASSIGN_OR_RETURN(out.rejected.origin, optional_object(kanana, "rejected", origin));
  auto side_messages = [&](const Side& s, const Json& value) -> Json {
    // Text form: a reply that is more than one plain assistant message travels in kanana.
    if (value.is_string() && s.origin.contains("messages")) return s.origin["messages"];
    return value;
  };

  if (c.is_string() && r.is_string() && (!p || p->is_string())) {
    if (!p) return field_error(origin, "prompt", "is required when 'chosen' and 'rejected' are strings");
    if (kanana.contains("prompt_messages")) {
      out.prompt = kanana["prompt_messages"];
    } else {
      if (p->get_ref<const std::string&>().empty()) return field_error(origin, "prompt", "is empty");
      out.prompt = Json::array({Json{{"role", "user"}, {"content", p->get<std::string>()}}});
    }
    KANANA_ASSIGN_OR_RETURN(out.chosen.reply, reply_from(side_messages(out.chosen, c), origin, "chosen"));
    KANANA_ASSIGN_OR_RETURN(out.rejected.reply, reply_from(side_messages(out.rejected, r), origin, "rejected"));
  } else if (p) {
    if (p->is_string()) {
      if (p->get_ref<const std::string&>().empty()) return field_error(origin, "prompt", "is empty");
      out.prompt = Json::array({Json{{"role", "user"}, {"content", p->get<std::string>()}}});
    } else {
      out.prompt = *p;
    }
    KANANA_ASSIGN_OR_RETURN(out.chosen.reply, reply_from(side_messages(out.chosen, c), origin, "chosen"));
    KANANA_ASSIGN_OR_RETURN(out.rejected.reply, reply_from(side_messages(out.rejected, r), origin, "rejected"));
  } else {
    if (!c.is_array() || !r.is_array())
      return invalid_argument(origin + ": without 'prompt', 'chosen' and 'rejected' must both be lists of messages");
    size_t k = 0;
    if (kanana.contains("prompt_length")) {
      if (!kanana["prompt_length"].is_number_unsigned())
        return field_error(origin, "kanana.prompt_length", "must be a non-negative integer");
      k = kanana["prompt_length"].get<size_t>();
      if (k > c.size() || k > r.size()) return field_error(origin, "kanana.prompt_length", "is longer than the conversations");
    } else {
      while (k < c.size() && k < r.size() && c[k] == r[k]) ++k;
      // The reply starts at the first assistant message after the shared prefix's last user turn.
      while (k > 0 && c[k - 1].is_object() && c[k - 1].value("role", std::string()) == "assistant") --k;
    }
    if (k == 0) return invalid_argument(origin + ": 'chosen' and 'rejected' share no prompt messages (give field 'prompt')");
    out.prompt = Json(std::vector<Json>(c.begin(), c.begin() + int64_t(k)));
    KANANA_ASSIGN_OR_RETURN(out.chosen.reply, reply_from(Json(std::vector<Json>(c.begin() + int64_t(k), c.end())), origin, "chosen"));
    KANANA_ASSIGN_OR_RETURN(out.rejected.reply,
                            reply_from(Json(std::vector<Json>(r.begin() + int64_t(k), r.end())), origin, "rejected"));
  }
  if (!out.prompt.is_array() || out.prompt.empty()) return field_error(origin, "prompt", "has no messages");
  KANANA_RETURN_IF_ERROR(check_messages(out.prompt, origin + ": field 'prompt'"));

  KANANA_ASSIGN_OR_RETURN(const std::string kind, optional_string(kanana, "kind", origin));
  if (!kind.empty()) {
    auto k = parse_judgement_kind(kind);
    if (!k.is_ok()) return field_error(origin, "kanana.kind", k.status().message());
    out.kind = *k;
  }
  KANANA_ASSIGN_OR_RETURN(out.annotator, optional_string(kanana, "annotator", origin));
  KANANA_ASSIGN_OR_RETURN(out.reason, optional_string(kanana, "reason", origin));
  KANANA_ASSIGN_OR_RETURN(out.created_at, optional_string(kanana, "created_at", origin));
  KANANA_ASSIGN_OR_RETURN(out.prompt_set, optional_string(kanana, "prompt_set", origin));
  KANANA_ASSIGN_OR_RETURN(out.lang, optional_string(kanana, "lang", origin));
  KANANA_ASSIGN_OR_RETURN(out.prompt_meta, optional_object(kanana, "prompt_meta", origin));
  KANANA_ASSIGN_OR_RETURN(out.meta, optional_object(kanana, "meta", origin));

  if (out.kind == JudgementKind::kRanking) {
    if (!kanana.contains("ranking") || !kanana["ranking"].is_array() || kanana["ranking"].size() < 2)
      return field_error(origin, "kanana.ranking", "must list at least two replies for a ranking");
    const Json& replies = kanana["ranking"];
    const Json origins = kanana.contains("ranking_candidates") ? kanana["ranking_candidates"] : Json::array();
    if (!origins.is_array() || (!origins.empty() && origins.size() != replies.size()))
      return field_error(origin, "kanana.ranking_candidates", "must be a list as long as kanana.ranking");
    for (size_t i = 0; i < replies.size(); ++i) {
      Side s;
      if (!origins.empty()) {
        if (!origins[i].is_object()) return field_error(origin, "kanana.ranking_candidates[" + std::to_string(i) + "]", "must be an object");
        s.origin = origins[i];
      }
      KANANA_ASSIGN_OR_RETURN(s.reply, reply_from(side_messages(s, replies[i]), origin, "kanana.ranking[" + std::to_string(i) + "]"));
      out.ranking.push_back(std::move(s));
    }
  }
  if (out.kind == JudgementKind::kEdit && reply_text(out.chosen.reply).empty())
    return field_error(origin, "chosen", "(the edited text of an edit) is empty");

  Json extra = Json::object();
  for (auto it = line.begin(); it != line.end(); ++it)
    if (!is_core_key(it.key())) extra[it.key()] = it.value();
  if (!extra.empty()) out.meta["extra"] = std::move(extra);
  return out;
}

class Importer {
 public:
  Importer(PrefStore& store, const ImportOptions& options, std::string default_set, ImportReport* report)
      : store_(store), options_(options), default_set_(std::move(default_set)), report_(report) {}

  // The prompt set a line goes to, created when missing. Called outside the line's
  // savepoint, so the set outlives a line that is rolled back (the cache stays right).
  Result<int64_t> prepare(const ParsedLine& line) {
    const std::string set_name = !options_.prompt_set.empty() ? options_.prompt_set
                                 : !line.prompt_set.empty()   ? line.prompt_set
                                                              : default_set_;
    return set_id_of(set_name);
  }

  // Writes one parsed line inside the caller's transaction.
  Status write(int64_t set_id, const ParsedLine& line) {
    KANANA_ASSIGN_OR_RETURN(const int64_t prompt_id, prompt_id_of(set_id, line));

    Judgement j;
    j.prompt_id = prompt_id;
    j.kind = line.kind;
    j.annotator = line.annotator.empty() ? options_.annotator : line.annotator;
    j.reason = line.reason;
    j.created_at = line.created_at;
    j.meta = line.meta;
    switch (line.kind) {
      case JudgementKind::kPairwise:
      case JudgementKind::kTie: {
        KANANA_ASSIGN_OR_RETURN(j.chosen_id, candidate_of(prompt_id, line.chosen));
        KANANA_ASSIGN_OR_RETURN(j.rejected_id, candidate_of(prompt_id, line.rejected));
        if (*j.chosen_id == *j.rejected_id) return invalid_argument("'chosen' and 'rejected' are the same reply");
        break;
      }
      case JudgementKind::kEdit: {
        KANANA_ASSIGN_OR_RETURN(j.chosen_id, candidate_of(prompt_id, line.rejected));
        j.edited_text = reply_text(line.chosen.reply);
        break;
      }
      case JudgementKind::kRanking:
        for (const Side& s : line.ranking) {
          KANANA_ASSIGN_OR_RETURN(const int64_t id, candidate_of(prompt_id, s));
          j.ranking.push_back(id);
        }
        break;
    }
    KANANA_ASSIGN_OR_RETURN(Recorded rec, store_.record(j));
    if (rec.created) {
      ++pending_.added;
      pending_.created.push_back(rec.id);
    } else if (line.kind == JudgementKind::kRanking && created_.count(rec.id)) {
      ++pending_.merged;
    } else {
      ++pending_.duplicates;
    }
    return Status::ok();
  }

  // The line's writes were kept (commit) or rolled back (discard).
  void commit_line() {
    report_->added += pending_.added;
    report_->merged += pending_.merged;
    report_->duplicates += pending_.duplicates;
    report_->prompts_added += pending_.prompts_added;
    report_->candidates_added += pending_.candidates_added;
    created_.insert(pending_.created.begin(), pending_.created.end());
    for (auto& [key, id] : pending_.prompts) prompt_index_[key.first][key.second] = id;
    pending_ = {};
  }
  void discard_line() { pending_ = {}; }

 private:
  Result<int64_t> set_id_of(const std::string& name) {
    auto it = sets_.find(name);
    if (it != sets_.end()) return it->second;
    KANANA_ASSIGN_OR_RETURN(const int64_t id, store_.find_or_create_prompt_set(name));
    KANANA_ASSIGN_OR_RETURN(auto index, store_.prompt_index(id));
    prompt_index_[id] = std::move(index);
    bool known = false;
    for (int64_t s : report_->prompt_set_ids) known = known || s == id;
    if (!known) report_->prompt_set_ids.push_back(id);
    sets_[name] = id;
    return id;
  }

  Result<int64_t> prompt_id_of(int64_t set_id, const ParsedLine& line) {
    const std::string key = canonical_json(line.prompt);
    auto& index = prompt_index_[set_id];
    if (auto it = index.find(key); it != index.end()) return it->second;
    for (auto& [k, id] : pending_.prompts)
      if (k.first == set_id && k.second == key) return id;
    PromptInput in;
    in.messages = line.prompt;
    in.lang = line.lang;
    in.meta = line.prompt_meta;
    KANANA_ASSIGN_OR_RETURN(const int64_t id, store_.add_prompt(set_id, in));
    pending_.prompts.push_back({{set_id, key}, id});
    ++pending_.prompts_added;
    return id;
  }

  // A checkpoint path of the line: the registered checkpoint, or one registered now when the
  // folder is a model on this machine, or nothing (the path then stays in the candidate's meta).
  Result<std::optional<int64_t>> checkpoint_of(const std::string& path) {
    auto it = checkpoints_.find(path);
    if (it != checkpoints_.end()) return it->second;
    KANANA_ASSIGN_OR_RETURN(std::optional<int64_t> id, store_.find_checkpoint(path));
    if (id) {
      checkpoints_[path] = id;  // existed before this line: safe to remember
      return id;
    }
    std::error_code ec;
    if (fs::is_regular_file(fs::path(path) / "config.json", ec)) {
      // Registered inside the line's savepoint: not cached, a rolled-back line forgets it.
      KANANA_ASSIGN_OR_RETURN(const int64_t added, store_.find_or_add_checkpoint(path));
      return std::optional<int64_t>(added);
    }
    return std::optional<int64_t>();
  }

  Result<int64_t> candidate_of(int64_t prompt_id, const Side& side) {
    store::CandidateRecord c;
    c.prompt_id = prompt_id;
    c.text = reply_text(side.reply);
    Json meta = side.origin.contains("meta") && side.origin["meta"].is_object() ? side.origin["meta"] : Json::object();
    if (!is_plain_reply(side.reply)) meta["messages"] = side.reply;
    if (side.origin.contains("checkpoint") && side.origin["checkpoint"].is_string()) {
      const std::string path = side.origin["checkpoint"].get<std::string>();
      KANANA_ASSIGN_OR_RETURN(c.checkpoint_id, checkpoint_of(path));
      if (!c.checkpoint_id) {
        meta[kCheckpointPathKey] = path;
        if (side.origin.contains("checkpoint_name")) meta[kCheckpointNameKey] = side.origin["checkpoint_name"];
      }
    }
    if (side.origin.contains("seed")) {
      if (!side.origin["seed"].is_number_integer()) return invalid_argument("field 'kanana.*.seed' must be an integer");
      c.seed = side.origin["seed"].get<int64_t>();
    }
    if (side.origin.contains("sampling")) {
      if (!side.origin["sampling"].is_object()) return invalid_argument("field 'kanana.*.sampling' must be an object");
      c.sampling_json = side.origin["sampling"].dump();
    }
    bool created = false;
    KANANA_ASSIGN_OR_RETURN(const int64_t id, store_.find_or_add_candidate(c, meta, &created));
    if (created) ++pending_.candidates_added;
    return id;
  }

  struct Pending {
    int64_t added = 0, merged = 0, duplicates = 0, prompts_added = 0, candidates_added = 0;
    std::vector<int64_t> created;
    std::vector<std::pair<std::pair<int64_t, std::string>, int64_t>> prompts;
  };

  PrefStore& store_;
  const ImportOptions& options_;
  std::string default_set_;
  ImportReport* report_;
  Pending pending_;
  std::set<int64_t> created_;
  std::map<std::string, int64_t> sets_;
  std::map<int64_t, std::unordered_map<std::string, int64_t>> prompt_index_;
  std::map<std::string, std::optional<int64_t>> checkpoints_;
};

}  // namespace

// ---------------------------------------------------------------- entry points

Result<std::vector<Json>> export_lines(PrefStore& store, const ExportOptions& options, ExportReport* report) {
  ExportReport local;
  if (!report) report = &local;
  KANANA_ASSIGN_OR_RETURN(auto judgements, store.list_judgements(options.prompt_set_id));
  Exporter exporter(store, options);
  std::vector<Json> lines;
  for (const Judgement& j : judgements) {
    if (options.annotator && j.annotator != *options.annotator) continue;
    KANANA_RETURN_IF_ERROR(exporter.add(j, &lines, report).with_context("exporting judgement " + std::to_string(j.id)));
  }
  return lines;
}

Result<ExportReport> export_preferences(PrefStore& store, const fs::path& out, const ExportOptions& options) {
  ExportReport report;
  KANANA_ASSIGN_OR_RETURN(auto lines, export_lines(store, options, &report));
  KANANA_ASSIGN_OR_RETURN(auto writer, AtomicFileWriter::open(out));
  for (const Json& line : lines) {
    KANANA_RETURN_IF_ERROR(writer->write(line.dump(-1, ' ', false, Json::error_handler_t::replace)));
    KANANA_RETURN_IF_ERROR(writer->write("\n"));
  }
  KANANA_RETURN_IF_ERROR(writer->commit());
  return report;
}

Result<ImportReport> import_preferences(PrefStore& store, const fs::path& file, const ImportOptions& options,
                                        const CancelToken* cancel) {
  // Rows written without a key (older schema, other writers) must be seen as duplicates too.
  KANANA_RETURN_IF_ERROR(store.backfill_keys().status());
  ImportReport report;
  Importer importer(store, options, file.stem().string(), &report);
  std::unique_ptr<WriteScope> batch;
  int64_t in_batch = 0;
  // A line whose content is refused (kInvalidArgument) is rolled back and, unless strict,
  // reported and skipped; other errors (the database, cancellation) stop the import.
  auto import_line = [&](JsonlLine& line) -> Status {
    if (cancel && cancel->is_cancelled())
      return cancelled("import of " + file.string() + " cancelled at line " + std::to_string(line.number));
    KANANA_ASSIGN_OR_RETURN(ParsedLine parsed, parse_line(line.value, line.origin));
    if (!batch) {
      KANANA_ASSIGN_OR_RETURN(batch, WriteScope::begin(store.workspace().db()));
    }
    KANANA_ASSIGN_OR_RETURN(const int64_t set_id, importer.prepare(parsed));
    KANANA_ASSIGN_OR_RETURN(auto line_scope, WriteScope::begin(store.workspace().db()));
    Status s = importer.write(set_id, parsed);
    if (s.is_ok()) s = line_scope->commit();
    if (s.is_ok()) {
      importer.commit_line();
    } else {
      importer.discard_line();
      line_scope.reset();  // rolls the line back
    }
    if (++in_batch >= std::max<int64_t>(1, options.batch_lines)) {
      KANANA_RETURN_IF_ERROR(batch->commit());
      batch.reset();
      in_batch = 0;
    }
    return s;
  };
  KANANA_ASSIGN_OR_RETURN(JsonlReport lines, read_jsonl(file, import_line,
                                                        {.skip_bad_lines = !options.strict,
                                                         .name = file.filename().string()}));
  report.lines = lines.lines;
  report.problems = std::move(lines.problems);
  if (batch) KANANA_RETURN_IF_ERROR(batch->commit());
  return report;
}

}  // namespace kanana::prefs
