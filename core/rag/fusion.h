// Hybrid retrieval: reciprocal rank fusion (Cormack et al., SIGIR 2009) of ranked lists, and
// the FTS5 query built from a natural-language question for the trigram tokenizer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kanana::rag {

struct FusedHit {
  int64_t id = 0;
  double score = 0;                 // sum over lists of 1 / (k + rank), rank 1-based
  std::vector<int64_t> ranks;       // rank in each input list (0 = absent), in input order
};

// Fuses ranked id lists (best first; duplicates within a list count once, at their best rank).
// Sorted by score, then by best single rank, then by id. k = 60 as in the paper.
std::vector<FusedHit> reciprocal_rank_fusion(const std::vector<std::vector<int64_t>>& lists, double k = 60.0);

// An FTS5 MATCH expression for a question under tokenize='trigram': every word of >= 3
// characters contributes its overlapping 3-character substrings as quoted terms joined by OR
// (so Korean words with different endings still share their stem's trigrams), lower-cased,
// deduplicated, at most `max_terms`. Empty when no word has 3 characters.
std::string fts_match_query(std::string_view question, size_t max_terms = 64);

// FTS5 string literal: "..." with inner quotes doubled.
std::string fts_quote(std::string_view term);

}  // namespace kanana::rag
