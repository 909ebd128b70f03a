// Prompts for annotation from JSONL, one per line, any of:
//   {"prompt": "text"}                       one user turn
//   {"prompt": "text", "system": "..."}      with a system message
//   {"prompt": [messages]}                   a conversation to continue
//   {"messages": [messages]}                 same; trailing assistant turns are dropped
// plus optional "lang". Other fields are kept in the prompt's meta_json. A prompt already in
// the set (same conversation) is not added again. Malformed lines are reported as
// "file:line: ..." and skipped (strict: the first one is an error).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "base/status.h"
#include "prefs/pref_store.h"

namespace kanana::prefs {

struct PromptImportReport {
  uint64_t lines = 0;
  int64_t added = 0;
  int64_t duplicates = 0;
  std::vector<int64_t> prompt_ids;   // every line's prompt (new or existing), in file order
  std::vector<std::string> problems; // "file:line: ..."
};

Result<PromptImportReport> import_prompts(PrefStore& store, int64_t prompt_set_id, const std::filesystem::path& file,
                                          bool strict = false);

}  // namespace kanana::prefs
