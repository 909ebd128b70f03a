// Decontamination: which evaluation items share an n-gram with the training data (the GPT-3 /
// lm-eval approach, used by Kanana for its instruction data).
//
// Texts are normalised (lowercase, punctuation to spaces, whitespace collapsed) and compared
// as word n-grams (default n = 13). Korean is written in eojeol (words with attached
// particles), so word n-grams miss paraphrased spacing; Korean items are also compared as
// character n-grams (spaces removed, default 40 characters). Packed token shards are compared
// as token n-grams with the pack's tokenizer (the eval text encoded by the same tokenizer).
// Every hit is verified token by token (hashes only select candidates) and reported with the
// matching n-gram and where it was found.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"
#include "base/progress.h"
#include "base/status.h"
#include "eval/task.h"

namespace kanana::eval {

struct DecontamOptions {
  int word_n = 13;                  // word n-gram length
  int char_n = 40;                  // character n-grams for Korean items (0 = off)
  bool char_for_all = false;        // character n-grams for every item, not only Korean ones
  int token_n = 13;                 // token n-grams against packed shards
  std::string text_field = "text";  // training JSONL field
  std::string shard_split = "train";  // packs: train | val | both
  std::filesystem::path tokenizer;  // packs: default the manifest's tokenizer_path
  int64_t max_train_docs = 0;       // per input; 0 = all
};

struct EvalText {
  int64_t doc_id = 0;
  int64_t line = 0;
  std::string text;
  std::string lang;
};

struct Contamination {
  int64_t doc_id = 0;
  int64_t line = 0;
  std::string kind;    // word | char | token
  std::string ngram;   // the matching n-gram (normalised text, or decoded tokens)
  std::string source;  // "train.jsonl:1234" or "packs/web#57"
};

struct DecontamReport {
  int64_t items = 0;
  int64_t contaminated = 0;          // items with at least one hit
  int64_t too_short = 0;             // items shorter than every n (not checkable)
  int64_t train_docs = 0;
  std::vector<Contamination> hits;   // the first hit of each contaminated item (per kind)
  std::vector<int64_t> contaminated_lines;
  DecontamOptions options;
  Json to_json() const;
};

// Lowercase (ASCII and Latin-1), punctuation and symbols to spaces, whitespace collapsed.
std::string normalize_for_ngrams(std::string_view text);
// The text each item contributes: doc_to_text plus its gold answer (choice text or target).
std::vector<EvalText> eval_texts(const TaskSpec& spec, const TaskItems& items);

Result<DecontamReport> find_contamination(const std::vector<EvalText>& eval,
                                          const std::vector<std::filesystem::path>& training,
                                          const DecontamOptions& options, Progress* progress = nullptr,
                                          const CancelToken* cancel = nullptr);

}  // namespace kanana::eval
