// Retrieval metrics over a question → relevant-document set (retrieval_eval.h).
#include "rag/retrieval_eval.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <unordered_map>

#include "base/files.h"
#include "base/jsonl.h"
#include "base/strings.h"
#include "rag/fusion.h"
#include "rag/rag_index.h"

namespace kanana::rag {
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

}  // namespace

Result<EvalSet> read_eval_set(const std::filesystem::path& file, bool strict) {
  EvalSet out;
  auto question = [&](JsonlLine& line) -> Status {
    const Json& j = line.value;
    std::string problem;
    EvalQuestion q;
    if (!j.contains("query") || !j["query"].is_string() || trim(j["query"].get_ref<const std::string&>()).empty()) {
      problem = "field 'query' must be a non-empty string";
    } else if (!j.contains("relevant")) {
      problem = "field 'relevant' is required";
    } else {
      q.query = j["query"].get<std::string>();
      const Json& r = j["relevant"];
      if (r.is_string()) {
        q.relevant.push_back(r.get<std::string>());
      } else if (r.is_array() && !r.empty()) {
        for (const auto& e : r) {
          if (!e.is_string()) {
            problem = "field 'relevant' must be a string or a non-empty list of strings";
            break;
          }
          q.relevant.push_back(e.get<std::string>());
        }
      } else {
        problem = "field 'relevant' must be a string or a non-empty list of strings";
      }
    }
    if (!problem.empty()) return invalid_argument(line.origin + ": " + problem);
    out.questions.push_back(std::move(q));
    return Status::ok();
  };
  KANANA_ASSIGN_OR_RETURN(JsonlReport report,
                          read_jsonl(file, question, {.skip_bad_lines = !strict, .objects_only = true}));
  out.problems = report.messages();
  return out;
}

Result<std::vector<ModeMetrics>> evaluate_retrieval(RagIndex& index, const std::vector<EvalQuestion>& questions,
                                                    const EvalOptions& options, Progress* progress,
                                                    const CancelToken* cancel) {
  if (questions.empty()) return invalid_argument("the evaluation set has no questions");
  if (options.modes.empty() || options.ks.empty()) return invalid_argument("nothing to evaluate (no modes or no k)");
  const bool need_fts = std::any_of(options.modes.begin(), options.modes.end(), [](SearchMode m) { return m != SearchMode::kVector; });
  const bool need_vec = std::any_of(options.modes.begin(), options.modes.end(), [](SearchMode m) { return m != SearchMode::kBm25; });
  std::unordered_map<int64_t, std::string> key_of;  // chunk id → document key
  auto doc_keys = [&](const std::vector<int64_t>& ids) -> Result<std::vector<std::string>> {
    std::vector<int64_t> missing;
    for (int64_t id : ids)
      if (!key_of.count(id)) missing.push_back(id);
    if (!missing.empty()) {
      KANANA_ASSIGN_OR_RETURN(auto chunks, index.chunks(missing));
      for (const auto& c : chunks) key_of[c.id] = c.span.document_key();
    }
    std::vector<std::string> keys;
    std::set<std::string> seen;
    for (int64_t id : ids)
      if (seen.insert(key_of[id]).second) keys.push_back(key_of[id]);
    return keys;
  };
  std::vector<ModeMetrics> out;
  for (SearchMode m : options.modes) {
    ModeMetrics mm;
    mm.mode = m;
    for (int64_t k : options.ks) mm.recall_at[k] = 0;
    out.push_back(std::move(mm));
  }
  for (size_t qi = 0; qi < questions.size(); ++qi) {
    if (cancel && cancel->is_cancelled()) return cancelled();
    const auto& q = questions[qi];
    std::vector<int64_t> fts_ids, vec_ids;
    double fts_ms = 0, vec_ms = 0;
    if (need_fts) {
      const auto t = Clock::now();
      KANANA_ASSIGN_OR_RETURN(auto hits, index.search_fulltext(q.query, options.depth));
      fts_ms = ms_since(t);
      for (const auto& h : hits) fts_ids.push_back(h.first);
    }
    if (need_vec) {
      const auto t = Clock::now();
      KANANA_ASSIGN_OR_RETURN(auto hits, index.search_vectors(q.query, options.depth));
      vec_ms = ms_since(t);
      for (const auto& h : hits) vec_ids.push_back(h.first);
    }
    const std::set<std::string> relevant(q.relevant.begin(), q.relevant.end());
    for (auto& mm : out) {
      std::vector<int64_t> ranked;
      double ms = 0;
      if (mm.mode == SearchMode::kBm25) {
        ranked = fts_ids;
        ms = fts_ms;
      } else if (mm.mode == SearchMode::kVector) {
        ranked = vec_ids;
        ms = vec_ms;
      } else {
        const auto t = Clock::now();
        for (const auto& h : reciprocal_rank_fusion({fts_ids, vec_ids}, options.rrf_k)) {
          if (int64_t(ranked.size()) >= options.depth) break;
          ranked.push_back(h.id);
        }
        ms = fts_ms + vec_ms + ms_since(t);
      }
      KANANA_ASSIGN_OR_RETURN(auto keys, doc_keys(ranked));
      int64_t first = 0;
      for (size_t r = 0; r < keys.size(); ++r)
        if (relevant.count(keys[r])) {
          first = int64_t(r) + 1;
          break;
        }
      for (auto& [k, v] : mm.recall_at)
        if (first > 0 && first <= k) v += 1;
      if (first > 0) mm.mrr += 1.0 / double(first);
      mm.mean_query_ms += ms;
      ++mm.questions;
    }
    if (progress) progress->update(int64_t(qi) + 1, int64_t(questions.size()));
  }
  for (auto& mm : out) {
    const double n = double(mm.questions);
    for (auto& [k, v] : mm.recall_at) v /= n;
    mm.mrr /= n;
    mm.mean_query_ms /= n;
  }
  if (progress) progress->finish();
  return out;
}

Json eval_metrics_json(const std::vector<ModeMetrics>& metrics) {
  Json out = Json::array();
  for (const auto& m : metrics) {
    Json j;
    j["mode"] = search_mode_name(m.mode);
    j["questions"] = m.questions;
    for (const auto& [k, v] : m.recall_at) j["recall@" + std::to_string(k)] = v;
    j["mrr"] = m.mrr;
    j["mean_query_ms"] = m.mean_query_ms;
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace kanana::rag
