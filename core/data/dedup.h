// Document deduplication: exact (normalized text → 128-bit fingerprint) and near-duplicate
// (MinHash over word or character n-grams, LSH with bands × rows, union-find clusters).
// Policy: keep-first — a document is a duplicate when an earlier document matches it.
//
// Threading contract: fingerprint() is pure and runs on any worker thread; DedupIndex::add()
// must be called from one thread in document order (the pipeline's ordered writer).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace kanana::data {

enum class ShingleUnit { kAuto, kWord, kChar };  // auto: characters when Hangul dominates

struct DedupOptions {
  bool exact = true;
  bool near = true;
  ShingleUnit unit = ShingleUnit::kAuto;
  int word_ngram = 5;        // words per shingle
  int char_ngram = 5;        // characters per shingle (Korean: eojeol vary too much for words)
  double auto_char_hangul_ratio = 0.3;  // auto uses characters at or above this Hangul ratio
  int num_perm = 112;        // MinHash permutations; must equal bands * rows
  int bands = 14;
  int rows = 8;              // threshold ≈ (1/bands)^(1/rows) ≈ 0.72 Jaccard
  double verify_jaccard = 0.0;  // > 0: confirm LSH candidates by signature similarity (keeps signatures in memory)
  uint64_t seed = 1;
};

// Exact-dedup normalization: Hangul jamo sequences composed to syllables, full-width ASCII
// to ASCII, ASCII lower-cased, punctuation removed, whitespace runs collapsed.
std::string normalize_for_dedup(std::string_view text);

struct DocFingerprint {
  uint64_t exact_hi = 0, exact_lo = 0;
  std::vector<uint32_t> minhash;  // num_perm values; empty for a text with no shingle
  bool used_chars = false;
};

DocFingerprint fingerprint(std::string_view text, const DedupOptions& options);

// Fraction of equal MinHash slots: an estimate of Jaccard similarity.
double minhash_similarity(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b);

enum class DupKind { kNone, kExact, kNear };
const char* dup_kind_name(DupKind k);

struct DedupMatch {
  DupKind kind = DupKind::kNone;
  uint64_t duplicate_of = 0;  // an earlier document (valid unless kind == kNone)
};

class DedupIndex {
 public:
  explicit DedupIndex(DedupOptions options);
  // Documents are numbered 0, 1, 2 ... in the order they are added.
  DedupMatch add(const DocFingerprint& fp);
  uint64_t size() const { return parent_.size(); }
  // After all adds: cluster id (= index of the cluster's first document, its representative).
  uint64_t cluster_of(uint64_t doc);
  uint64_t cluster_size(uint64_t doc);
  struct Stats { uint64_t documents = 0, exact_duplicates = 0, near_duplicates = 0, clusters = 0, clusters_with_duplicates = 0, largest_cluster = 0; };
  Stats stats();

 private:
  uint64_t find(uint64_t x);
  void unite(uint64_t a, uint64_t b);
  DedupOptions options_;
  std::vector<uint64_t> parent_;
  std::vector<uint32_t> size_;
  std::unordered_map<uint64_t, uint64_t> exact_;                    // fingerprint → first doc
  std::vector<std::unordered_map<uint64_t, uint64_t>> bands_;       // band hash → first doc
  std::vector<std::vector<uint32_t>> signatures_;                   // only when verifying
  uint64_t exact_dups_ = 0, near_dups_ = 0;
};

}  // namespace kanana::data
