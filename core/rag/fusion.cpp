// Reciprocal rank fusion and the trigram FTS5 query (fusion.h).
#include "rag/fusion.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <set>
#include <unordered_map>

#include "base/strings.h"

namespace kanana::rag {

std::vector<FusedHit> reciprocal_rank_fusion(const std::vector<std::vector<int64_t>>& lists, double k) {
  std::unordered_map<int64_t, size_t> where;
  std::vector<FusedHit> hits;
  for (size_t l = 0; l < lists.size(); ++l) {
    int64_t rank = 0;
    for (int64_t id : lists[l]) {
      ++rank;
      auto [it, inserted] = where.emplace(id, hits.size());
      if (inserted) {
        FusedHit h;
        h.id = id;
        h.ranks.assign(lists.size(), 0);
        hits.push_back(std::move(h));
      }
      FusedHit& h = hits[it->second];
      if (h.ranks[l] != 0) continue;  // a duplicate in the same list counts once
      h.ranks[l] = rank;
      h.score += 1.0 / (k + double(rank));
    }
  }
  auto best_rank = [](const FusedHit& h) {
    int64_t best = INT64_MAX;
    for (int64_t r : h.ranks)
      if (r > 0) best = std::min(best, r);
    return best;
  };
  std::sort(hits.begin(), hits.end(), [&](const FusedHit& a, const FusedHit& b) {
    if (a.score != b.score) return a.score > b.score;
    const int64_t ra = best_rank(a), rb = best_rank(b);
    if (ra != rb) return ra < rb;
    return a.id < b.id;
  });
  return hits;
}

std::string fts_quote(std::string_view term) {
  std::string q = "\"";
  for (char c : term) {
    if (c == '"') q += '"';
    q += c;
  }
  q += '"';
  return q;
}

std::string fts_match_query(std::string_view question, size_t max_terms) {
  // Words: runs of letters/digits (any script); punctuation and symbols separate words.
  std::vector<std::vector<std::string>> words;  // each word as its code points (UTF-8 strings)
  std::vector<std::string> current;
  size_t pos = 0;
  auto flush = [&] {
    if (!current.empty()) words.push_back(std::move(current));
    current.clear();
  };
  while (pos < question.size()) {
    const size_t at = pos;
    const int32_t cp = utf8_next(question, &pos);
    const bool ascii_word = cp >= 0 && cp < 128 && (std::isalnum(cp) || cp == '_');
    const bool other_word = cp >= 128 && !(cp >= 0x2000 && cp <= 0x206F) && !(cp >= 0x3000 && cp <= 0x303F) &&
                            !(cp >= 0xFF00 && cp <= 0xFF0F) && cp != 0xA0;
    if (ascii_word || other_word) {
      std::string c(question.substr(at, pos - at));
      if (ascii_word) c = to_lower_ascii(c);
      current.push_back(std::move(c));
    } else {
      flush();
    }
  }
  flush();
  std::vector<std::string> terms;
  std::set<std::string> seen;
  for (const auto& w : words) {
    for (size_t i = 0; i + 3 <= w.size(); ++i) {
      std::string t = w[i] + w[i + 1] + w[i + 2];
      if (seen.insert(t).second) terms.push_back(std::move(t));
    }
  }
  if (terms.size() > max_terms) terms.resize(max_terms);
  std::string q;
  for (const auto& t : terms) q += (q.empty() ? "" : " OR ") + fts_quote(t);
  return q;
}

}  // namespace kanana::rag
