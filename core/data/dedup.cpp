// Exact and MinHash-LSH deduplication (see dedup.h).
#include "data/dedup.h"

#include <algorithm>
#include <limits>
#include <unordered_set>

#include "base/strings.h"
#include "data/hashing.h"
#include "data/script.h"

namespace kanana::data {

std::string normalize_for_dedup(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  bool space = false;
  uint32_t pending = 0;  // a Hangul syllable being composed from conjoining jamo
  auto emit = [&](uint32_t c) {
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    append_utf8(&out, c);
  };
  auto flush = [&]() { if (pending) { emit(pending); pending = 0; } };
  while (pos < text.size()) {
    int32_t cp = utf8_next(text, &pos);
    uint32_t c = cp < 0 ? 0xFFFD : static_cast<uint32_t>(cp);
    // Hangul composition (the part of NFC that matters for Korean web text).
    if (c >= 0x1100 && c <= 0x1112 && pos < text.size()) {
      size_t p2 = pos;
      const int32_t v = utf8_next(text, &p2);
      if (v >= 0x1161 && v <= 0x1175) {
        flush();
        pending = 0xAC00 + ((c - 0x1100) * 21 + (static_cast<uint32_t>(v) - 0x1161)) * 28;
        pos = p2;
        continue;
      }
    }
    if (pending && c >= 0x11A8 && c <= 0x11C2) { pending += c - 0x11A7; flush(); continue; }
    flush();
    if (c >= 0xFF01 && c <= 0xFF5E) c -= 0xFEE0;       // full-width ASCII
    if (c >= 'A' && c <= 'Z') c += 32;
    if (is_space(c)) { space = true; continue; }
    if (is_punct(c)) continue;
    emit(c);
  }
  flush();
  return out;
}

namespace {

std::vector<uint64_t> shingles(std::string_view norm, const DedupOptions& o, bool chars) {
  std::vector<uint64_t> out;
  if (chars) {
    // Character n-grams over the normalized text without spaces.
    std::vector<uint32_t> cps;
    size_t pos = 0;
    while (pos < norm.size()) {
      const int32_t c = utf8_next(norm, &pos);
      if (c != ' ') cps.push_back(static_cast<uint32_t>(c));
    }
    const size_t n = static_cast<size_t>(std::max(1, o.char_ngram));
    if (cps.size() < n) {
      if (!cps.empty()) { uint64_t h = 0; for (auto c : cps) h = hash_combine(h, c); out.push_back(h); }
      return out;
    }
    for (size_t i = 0; i + n <= cps.size(); ++i) {
      uint64_t h = 0;
      for (size_t k = 0; k < n; ++k) h = hash_combine(h, cps[i + k]);
      out.push_back(h);
    }
  } else {
    std::vector<uint64_t> words;
    for (const auto& w : split(norm, ' ')) if (!w.empty()) words.push_back(hash64(w));
    const size_t n = static_cast<size_t>(std::max(1, o.word_ngram));
    if (words.size() < n) {
      if (!words.empty()) { uint64_t h = 0; for (auto w : words) h = hash_combine(h, w); out.push_back(h); }
      return out;
    }
    for (size_t i = 0; i + n <= words.size(); ++i) {
      uint64_t h = 0;
      for (size_t k = 0; k < n; ++k) h = hash_combine(h, words[i + k]);
      out.push_back(h);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

DocFingerprint fingerprint(std::string_view text, const DedupOptions& o) {
  DocFingerprint fp;
  const std::string norm = normalize_for_dedup(text);
  fp.exact_hi = hash64(norm, 0x243F6A8885A308D3ull);
  fp.exact_lo = hash64(norm, 0x13198A2E03707344ull);
  if (!o.near) return fp;
  bool chars = o.unit == ShingleUnit::kChar;
  if (o.unit == ShingleUnit::kAuto) {
    size_t pos = 0, hangul = 0, total = 0;
    while (pos < norm.size()) {
      const int32_t c = utf8_next(norm, &pos);
      if (c == ' ') continue;
      ++total;
      if (c > 0 && is_hangul(static_cast<uint32_t>(c))) ++hangul;
    }
    chars = total > 0 && static_cast<double>(hangul) / static_cast<double>(total) >= o.auto_char_hangul_ratio;
  }
  fp.used_chars = chars;
  const auto sh = shingles(norm, o, chars);
  if (sh.empty()) return fp;
  fp.minhash.assign(static_cast<size_t>(o.num_perm), std::numeric_limits<uint32_t>::max());
  // Permutation p of a shingle hash h: mix64(h ^ seed_p). Cheap, independent enough for MinHash.
  for (int p = 0; p < o.num_perm; ++p) {
    const uint64_t seed = mix64(o.seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(p) + 1);
    uint32_t best = std::numeric_limits<uint32_t>::max();
    for (uint64_t h : sh) best = std::min(best, static_cast<uint32_t>(mix64(h ^ seed) >> 32));
    fp.minhash[static_cast<size_t>(p)] = best;
  }
  return fp;
}

double minhash_similarity(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
  if (a.empty() || a.size() != b.size()) return 0;
  size_t same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  return static_cast<double>(same) / static_cast<double>(a.size());
}

const char* dup_kind_name(DupKind k) {
  switch (k) {
    case DupKind::kExact: return "exact";
    case DupKind::kNear: return "near";
    default: return "none";
  }
}

DedupIndex::DedupIndex(DedupOptions options) : options_(options) {
  bands_.resize(static_cast<size_t>(std::max(0, options_.bands)));
}

uint64_t DedupIndex::find(uint64_t x) {
  while (parent_[x] != x) { parent_[x] = parent_[parent_[x]]; x = parent_[x]; }
  return x;
}

void DedupIndex::unite(uint64_t a, uint64_t b) {
  a = find(a);
  b = find(b);
  if (a == b) return;
  // The smaller index stays the root, so a cluster's id is its first (kept) document.
  if (b < a) std::swap(a, b);
  parent_[b] = a;
  size_[a] += size_[b];
}

DedupMatch DedupIndex::add(const DocFingerprint& fp) {
  const uint64_t doc = parent_.size();
  parent_.push_back(doc);
  size_.push_back(1);
  DedupMatch m;
  if (options_.exact) {
    const uint64_t key = fp.exact_hi ^ (fp.exact_lo * 0x9E3779B97F4A7C15ull);
    auto [it, inserted] = exact_.emplace(key, doc);
    if (!inserted) {
      m = {DupKind::kExact, it->second};
      ++exact_dups_;
      unite(it->second, doc);
    }
  }
  if (options_.near && !fp.minhash.empty()) {
    const size_t rows = static_cast<size_t>(options_.rows);
    for (size_t b = 0; b < bands_.size() && (b + 1) * rows <= fp.minhash.size(); ++b) {
      uint64_t h = b + 1;
      for (size_t r = 0; r < rows; ++r) h = hash_combine(h, fp.minhash[b * rows + r]);
      auto [it, inserted] = bands_[b].emplace(h, doc);
      if (inserted) continue;
      const uint64_t other = it->second;
      if (options_.verify_jaccard > 0 &&
          minhash_similarity(signatures_[other], fp.minhash) < options_.verify_jaccard)
        continue;
      if (m.kind == DupKind::kNone) { m = {DupKind::kNear, other}; ++near_dups_; }
      unite(other, doc);
    }
  }
  if (options_.verify_jaccard > 0) signatures_.push_back(fp.minhash);
  return m;
}

uint64_t DedupIndex::cluster_of(uint64_t doc) { return find(doc); }
uint64_t DedupIndex::cluster_size(uint64_t doc) { return size_[find(doc)]; }

DedupIndex::Stats DedupIndex::stats() {
  Stats s;
  s.documents = parent_.size();
  s.exact_duplicates = exact_dups_;
  s.near_duplicates = near_dups_;
  for (uint64_t i = 0; i < parent_.size(); ++i) {
    if (find(i) != i) continue;
    ++s.clusters;
    if (size_[i] > 1) ++s.clusters_with_duplicates;
    s.largest_cluster = std::max<uint64_t>(s.largest_cluster, size_[i]);
  }
  return s;
}

}  // namespace kanana::data
