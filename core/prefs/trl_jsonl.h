// Preference pairs as TRL-style JSONL, both ways, without losing anything the store knows.
//
// Forms (one pair per line; `kanana prefs export --format`):
//   text             {"prompt": "...", "chosen": "...", "rejected": "..."}            TRL standard
//   messages         {"chosen": [whole conversation], "rejected": [whole conversation]}
//                    (TRL conversational, implicit prompt: the shared leading messages)
//   prompt-messages  {"prompt": [messages], "chosen": [reply], "rejected": [reply]}
// Import reads all three (a string reply with a messages prompt is one assistant message).
//
// What a pair carries beyond TRL goes in an extra object "kanana", which TRL and
// posttrain/chat_data.h ignore:
//   kind ("pairwise" default | "tie" | "ranking" | "edit"), annotator, reason, created_at,
//   prompt_set, lang, prompt_meta (the prompt's meta_json without messages),
//   prompt_messages (text form: the whole prompt conversation when it is more than one user
//     message), prompt_length (messages form: prompt messages when the shared prefix is not it),
//   chosen / rejected: the candidate's checkpoint (path), checkpoint_name, seed, sampling
//     settings, meta, and messages (text form: a reply that is more than one assistant message),
//   ranking / ranking_candidates / rank: for a k-wise ranking, written as its k(k−1)/2 pairs
//     (rank = [i, j] positions); every line carries the whole ranking, and importing folds
//     the lines back into one ranking judgement,
//   meta: the judgement's meta_json other than "extra".
// An edit ("repair") is the pair chosen = the edited text, rejected = the original candidate.
// Ties have no preferred reply and are left out unless asked for.
// Fields of an imported line other than prompt/chosen/rejected/kanana are kept in the
// judgement's meta_json.extra and written back at the top level on export.
//
// Import: a line that is not valid JSON or misses a field is reported as "file:line: ..." and
// skipped (strict: the first one is an error). Prompts, candidates and judgements are
// de-duplicated (same conversation / same reply / same judgement key, see pref_store.h), so
// importing a file twice, or a file exported from the same workspace, adds nothing. Lines are
// committed in batches, each line its own savepoint: an import killed midway keeps whole
// lines only and can simply be run again.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/jsonl.h"
#include "base/progress.h"
#include "base/status.h"
#include "prefs/pref_store.h"

namespace kanana::prefs {

enum class PairFormat { kText, kMessages, kPromptMessages };
const char* pair_format_name(PairFormat format);  // "text" | "messages" | "prompt-messages"
Result<PairFormat> parse_pair_format(const std::string& name);

struct ExportOptions {
  std::optional<int64_t> prompt_set_id;   // unset: every prompt set
  PairFormat format = PairFormat::kText;
  bool include_ties = false;
  bool include_edits = true;
  bool include_rankings = true;
  std::optional<std::string> annotator;   // only this annotator's judgements
  bool provenance = true;                 // write the "kanana" object
};

struct ExportReport {
  int64_t lines = 0;
  int64_t judgements = 0;     // judgements written (a ranking is one)
  int64_t ties_left_out = 0;
};

// The lines export_preferences writes, as JSON objects.
Result<std::vector<Json>> export_lines(PrefStore& store, const ExportOptions& options, ExportReport* report = nullptr);
// Writes atomically (temp file + rename): a reader never sees half a file.
Result<ExportReport> export_preferences(PrefStore& store, const std::filesystem::path& out, const ExportOptions& options);

struct ImportOptions {
  std::string prompt_set;    // empty: each line's kanana.prompt_set, else the file's stem
  std::string annotator;     // for lines without kanana.annotator
  bool strict = false;       // the first malformed line is an error
  int64_t batch_lines = 256; // lines per transaction
};

using ImportProblem = JsonlProblem;  // line (1-based) and "file:line: ..."

struct ImportReport {
  uint64_t lines = 0;           // non-blank lines read
  int64_t added = 0;            // judgements created
  int64_t duplicates = 0;       // lines whose judgement was already there
  int64_t merged = 0;           // further lines of a ranking an earlier line of this file created
  int64_t prompts_added = 0;
  int64_t candidates_added = 0;
  std::vector<int64_t> prompt_set_ids;  // sets the lines went to
  std::vector<ImportProblem> problems;  // skipped lines
};

Result<ImportReport> import_preferences(PrefStore& store, const std::filesystem::path& file,
                                        const ImportOptions& options, const CancelToken* cancel = nullptr);

}  // namespace kanana::prefs
