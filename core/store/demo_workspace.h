// The demo workspace the workbench opens on first start: a normal workspace that registers
// whatever demo corpora, tokenizers and checkpoints setup put in the data cache. It records
// only files that exist (no invented runs or results) and is safe to call on every start.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "base/status.h"

namespace kanana::store {

// $KANANA_DEMO_WORKSPACE, else $XDG_DATA_HOME/kanana-workbench/demo, else
// ~/.local/share/kanana-workbench/demo.
std::filesystem::path default_demo_workspace_dir();
// $KANANA_DATA_CACHE, else ~/.cache/kanana-workbench.
std::filesystem::path default_data_cache();

struct DemoScan {
  std::vector<std::string> added;    // "dataset corpora/brown.jsonl", "tokenizer llama3", ...
  std::vector<std::string> skipped;  // files that could not be read, with why
  bool created = false;              // the workspace did not exist before this call
};

// Create the workspace at `dir` if needed and register, idempotently (matched by path):
//   <cache>/corpora/*.jsonl                → datasets (kind corpus, documents = non-empty lines)
//   <cache>/tokenizers/<name>/tokenizer.json → tokenizers (hf-bpe, vocab from model.vocab + added_tokens)
//   <cache>/tokenizers/spm/*.model           → tokenizers (sentencepiece, vocab = pieces in the proto)
//   <cache>/models/<name>/config.json with model.safetensors[.index.json] → imported checkpoints,
//     with a lineage edge tokenizer --tokenizes--> checkpoint when its tokenizer.json matches one.
// A file that cannot be read is skipped (listed in scan->skipped), not fatal.
Result<std::filesystem::path> ensure_demo_workspace(const std::filesystem::path& dir,
                                                    const std::filesystem::path& data_cache,
                                                    DemoScan* scan = nullptr);

// FNV-1a 64 of a file's bytes as 16 hex digits: the tokenizer fingerprint.
Result<std::string> file_fingerprint(const std::filesystem::path& path);

}  // namespace kanana::store
