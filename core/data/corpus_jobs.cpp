// Corpus jobs (see corpus_jobs.h).
#include "data/corpus_jobs.h"

#include <chrono>
#include <map>

#include "base/files.h"
#include "data/filters.h"
#include "data/lang_id.h"
#include "data/pipeline.h"
#include "data/quality_classifier.h"
#include "data/signals.h"

namespace kanana::data {
namespace fs = std::filesystem;

namespace {

// A buffered, atomically committed output file; write errors (a full disk) name the file.
class OutFile {
 public:
  static Result<std::unique_ptr<OutFile>> open(const fs::path& path) {
    KANANA_ASSIGN_OR_RETURN(auto w, AtomicFileWriter::open(path));
    auto o = std::make_unique<OutFile>();
    o->w_ = std::move(w);
    o->path_ = path;
    return o;
  }
  Status line(const std::string& s) {
    buf_ += s;
    buf_.push_back('\n');
    return buf_.size() >= (1u << 20) ? flush() : Status::ok();
  }
  Status flush() {
    Status s = w_->write(buf_);
    buf_.clear();
    if (!s.is_ok()) return s.with_context("writing " + path_.string());
    return s;
  }
  Status commit() {
    KANANA_RETURN_IF_ERROR(flush());
    Status s = w_->commit();
    return s.is_ok() ? s : s.with_context("finishing " + path_.string());
  }

 private:
  std::unique_ptr<AtomicFileWriter> w_;
  fs::path path_;
  std::string buf_;
};

// Shared bookkeeping: bad lines, counts, timings, and the final summary.json.
struct JobRun {
  const CorpusJobOptions& o;
  std::string job;
  std::unique_ptr<CorpusReader> reader;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  uint64_t records = 0, documents = 0, bad = 0, text_bytes = 0;
  Json bad_lines = Json::array();
  Json summary = Json::object();

  explicit JobRun(const CorpusJobOptions& opts, std::string name) : o(opts), job(std::move(name)) {}

  Status open() {
    if (o.inputs.empty()) return invalid_argument("no input files given");
    if (o.out_dir.empty()) return invalid_argument("no output folder given (--out DIR)");
    if (o.threads < 1) return invalid_argument("--threads must be at least 1");
    std::error_code ec;
    fs::create_directories(o.out_dir, ec);
    if (ec) return unavailable(o.out_dir.string() + ": cannot create output folder: " + ec.message());
    // A summary left by an earlier run would make a failed run look complete.
    fs::remove(o.out_dir / "summary.json", ec);
    KANANA_ASSIGN_OR_RETURN(reader, CorpusReader::open(o.inputs, o.reader));
    return Status::ok();
  }
  // Common per-item bookkeeping; false for a bad record.
  template <typename T>
  bool note(const PipelineItem<T>& item) {
    ++records;
    if (item.bad) {
      ++bad;
      if (bad_lines.size() < o.max_bad_lines_listed)
        bad_lines.push_back({{"file", item.bad->file}, {"line", item.bad->line}, {"byte_offset", item.bad->byte_offset},
                             {"reason", item.bad->reason}});
      return false;
    }
    ++documents;
    text_bytes += item.doc->text.size();
    return true;
  }
  PipelineOptions pipeline() const {
    PipelineOptions p;
    p.threads = o.threads;
    p.progress = o.progress;
    p.cancel = o.cancel;
    return p;
  }
  Result<Json> finish() {
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    Json inputs = Json::array();
    for (const auto& f : reader->files()) inputs.push_back(f.string());
    summary["job"] = job;
    summary["inputs"] = inputs;
    summary["records"] = records;
    summary["documents"] = documents;
    summary["bad_lines"] = bad;
    summary["bad_line_list"] = bad_lines;
    summary["input_bytes"] = reader->total_input_bytes();
    summary["text_bytes"] = text_bytes;
    summary["threads"] = o.threads;
    summary["seconds"] = secs;
    summary["mb_per_second"] = secs > 0 ? static_cast<double>(reader->total_input_bytes()) / 1e6 / secs : 0.0;
    summary["docs_per_second"] = secs > 0 ? static_cast<double>(records) / secs : 0.0;
    KANANA_RETURN_IF_ERROR(write_json_file(o.out_dir / "summary.json", summary));
    if (o.progress) o.progress->finish(std::to_string(documents) + " documents");
    return summary;
  }
};

Json position(const CorpusReader& r, const RawRecord& raw) {
  return {{"index", raw.index}, {"file", raw.id.file_index}, {"line", raw.id.line}, {"offset", raw.id.byte_offset},
          {"path", r.files()[raw.id.file_index].filename().string()}};
}

// The original record for kept.jsonl: the JSON line unchanged, or {"text": ...} for text input.
template <typename T>
std::string kept_line(const PipelineItem<T>& item) {
  if (item.raw->jsonl) return item.raw->bytes;
  return Json{{"text", item.doc->text}}.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<std::unique_ptr<LanguageIdentifier>> maybe_lid(const fs::path& model) {
  if (model.empty()) return std::unique_ptr<LanguageIdentifier>();
  return LanguageIdentifier::load(model);
}

}  // namespace

Result<Json> run_scan_job(const CorpusJobOptions& o) {
  JobRun run(o, "scan");
  KANANA_RETURN_IF_ERROR(run.open());
  KANANA_ASSIGN_OR_RETURN(auto lid, maybe_lid(o.lid_model));
  KANANA_ASSIGN_OR_RETURN(auto out, OutFile::open(o.out_dir / "signals.jsonl"));
  std::map<std::string, uint64_t> langs;
  std::vector<double> sums(signal_fields().size(), 0.0);
  const LanguageIdentifier* lid_ptr = lid.get();
  KANANA_RETURN_IF_ERROR((run_pipeline<DocSignals>(
      *run.reader, run.pipeline(), [&](const Document& d) { return compute_signals(d.text, lid_ptr); },
      [&](PipelineItem<DocSignals>& item) -> Status {
        Json j = position(*run.reader, *item.raw);
        if (!run.note(item)) {
          j["bad"] = item.bad->reason;
          return out->line(j.dump());
        }
        if (!item.doc->source_id.empty()) j["id"] = item.doc->source_id;
        j["signals"] = signals_to_json(item.out);
        ++langs[effective_language(item.out, item.doc->lang)];
        for (size_t k = 0; k < sums.size(); ++k) sums[k] += item.out.*(signal_fields()[k].member);
        return out->line(j.dump(-1, ' ', false, Json::error_handler_t::replace));
      })));
  KANANA_RETURN_IF_ERROR(out->commit());
  Json means = Json::object();
  for (size_t k = 0; k < sums.size(); ++k)
    means[signal_fields()[k].name] = run.documents ? sums[k] / static_cast<double>(run.documents) : 0.0;
  run.summary["languages"] = langs;
  run.summary["signal_means"] = means;
  run.summary["lid_model"] = o.lid_model.string();
  return run.finish();
}

Result<Json> run_filter_job(const CorpusJobOptions& o) {
  JobRun run(o, "filter");
  const fs::path recipe_path = o.recipe.empty() ? default_recipe_path() : o.recipe;
  if (o.recipe.empty() && !fs::exists(recipe_path))
    return not_found("the default filter recipe was not found at " + recipe_path.string() +
                     " (set KANANA_SOURCE_DIR to the source tree, or pass --recipe FILE)");
  KANANA_ASSIGN_OR_RETURN(auto recipe, load_filter_recipe(recipe_path));
  std::unique_ptr<LanguageIdentifier> lid;
  if (recipe.needs_language_id()) {
    const fs::path model = o.lid_model.empty() ? default_lid_model_path() : o.lid_model;
    auto loaded = LanguageIdentifier::load(model);
    if (!loaded.is_ok()) return loaded.status().with_context("recipe '" + recipe.name + "' has a language rule");
    lid = std::move(loaded).value();
  }
  KANANA_RETURN_IF_ERROR(run.open());
  KANANA_ASSIGN_OR_RETURN(auto decisions, OutFile::open(o.out_dir / "decisions.jsonl"));
  KANANA_ASSIGN_OR_RETURN(auto kept, OutFile::open(o.out_dir / "kept.jsonl"));
  struct Out { DocSignals s; FilterDecision d; };
  std::vector<uint64_t> first_counts(recipe.rules.size(), 0), fail_counts(recipe.rules.size(), 0);
  uint64_t kept_docs = 0, kept_bytes = 0;
  const LanguageIdentifier* lid_ptr = lid.get();
  KANANA_RETURN_IF_ERROR((run_pipeline<Out>(
      *run.reader, run.pipeline(),
      [&](const Document& d) {
        Out out;
        out.s = compute_signals(d.text, lid_ptr);
        out.d = apply_filters(recipe, out.s, d.lang);
        return out;
      },
      [&](PipelineItem<Out>& item) -> Status {
        Json j = position(*run.reader, *item.raw);
        if (!run.note(item)) {
          j["bad"] = item.bad->reason;
          j["keep"] = false;
          return decisions->line(j.dump());
        }
        const FilterDecision& d = item.out.d;
        j["keep"] = d.keep;
        j["lang"] = d.lang;
        j["rule"] = d.keep ? Json(nullptr) : Json(recipe.rules[static_cast<size_t>(d.first_rule)].name);
        if (!d.failed_rules.empty()) {
          Json failed = Json::array();
          for (int r : d.failed_rules) { failed.push_back(recipe.rules[static_cast<size_t>(r)].name); ++fail_counts[static_cast<size_t>(r)]; }
          j["failed"] = failed;
          ++first_counts[static_cast<size_t>(d.first_rule)];
        }
        KANANA_RETURN_IF_ERROR(decisions->line(j.dump()));
        if (!d.keep) return Status::ok();
        ++kept_docs;
        kept_bytes += item.doc->text.size();
        return kept->line(kept_line(item));
      })));
  KANANA_RETURN_IF_ERROR(decisions->commit());
  KANANA_RETURN_IF_ERROR(kept->commit());
  Json removed = Json::object(), failing = Json::object();
  for (size_t r = 0; r < recipe.rules.size(); ++r) {
    removed[recipe.rules[r].name] = first_counts[r];
    failing[recipe.rules[r].name] = fail_counts[r];
  }
  run.summary["recipe"] = recipe_path.string();
  run.summary["recipe_name"] = recipe.name;
  run.summary["kept"] = kept_docs;
  run.summary["removed"] = run.documents - kept_docs;
  run.summary["kept_text_bytes"] = kept_bytes;
  run.summary["removed_by_rule"] = removed;     // first failing rule only
  run.summary["failing_by_rule"] = failing;     // every failing rule
  return run.finish();
}

Result<Json> run_dedup_job(const CorpusJobOptions& o) {
  if (o.dedup.near && o.dedup.bands * o.dedup.rows != o.dedup.num_perm)
    return invalid_argument("dedup: bands (" + std::to_string(o.dedup.bands) + ") × rows (" + std::to_string(o.dedup.rows) +
                            ") must equal the number of permutations (" + std::to_string(o.dedup.num_perm) + ")");
  JobRun run(o, "dedup");
  KANANA_RETURN_IF_ERROR(run.open());
  KANANA_ASSIGN_OR_RETURN(auto kept, OutFile::open(o.out_dir / "kept.jsonl"));
  DedupIndex index(o.dedup);
  // Per-record results wait for the end (the final cluster of a document can change as
  // later documents join), so only a few numbers per record are kept in memory.
  struct Row { uint64_t doc = UINT64_MAX; DupKind kind = DupKind::kNone; uint64_t of = 0; };
  std::vector<Row> rows;
  KANANA_RETURN_IF_ERROR((run_pipeline<DocFingerprint>(
      *run.reader, run.pipeline(), [&](const Document& d) { return fingerprint(d.text, o.dedup); },
      [&](PipelineItem<DocFingerprint>& item) -> Status {
        if (!run.note(item)) { rows.push_back({}); return Status::ok(); }
        const uint64_t doc = index.size();
        const DedupMatch m = index.add(item.out);
        rows.push_back({doc, m.kind, m.duplicate_of});
        if (m.kind != DupKind::kNone) return Status::ok();
        return kept->line(kept_line(item));
      })));
  KANANA_ASSIGN_OR_RETURN(auto clusters, OutFile::open(o.out_dir / "clusters.jsonl"));
  // doc number → record index, to name representatives by record index.
  std::vector<uint64_t> record_of;
  record_of.reserve(index.size());
  for (uint64_t r = 0; r < rows.size(); ++r) if (rows[r].doc != UINT64_MAX) record_of.push_back(r);
  for (uint64_t r = 0; r < rows.size(); ++r) {
    Json j = {{"index", r}};
    if (rows[r].doc == UINT64_MAX) { j["bad"] = true; KANANA_RETURN_IF_ERROR(clusters->line(j.dump())); continue; }
    const uint64_t c = index.cluster_of(rows[r].doc);
    j["cluster"] = record_of[c];
    j["representative"] = record_of[c];
    j["cluster_size"] = index.cluster_size(rows[r].doc);
    j["duplicate"] = rows[r].kind != DupKind::kNone;
    if (rows[r].kind != DupKind::kNone) {
      j["match"] = dup_kind_name(rows[r].kind);
      j["duplicate_of"] = record_of[rows[r].of];
    }
    KANANA_RETURN_IF_ERROR(clusters->line(j.dump()));
  }
  KANANA_RETURN_IF_ERROR(clusters->commit());
  KANANA_RETURN_IF_ERROR(kept->commit());
  const auto st = index.stats();
  run.summary["kept"] = st.documents - st.exact_duplicates - st.near_duplicates;
  run.summary["exact_duplicates"] = st.exact_duplicates;
  run.summary["near_duplicates"] = st.near_duplicates;
  run.summary["clusters"] = st.clusters;
  run.summary["clusters_with_duplicates"] = st.clusters_with_duplicates;
  run.summary["largest_cluster"] = st.largest_cluster;
  run.summary["options"] = {{"exact", o.dedup.exact}, {"near", o.dedup.near}, {"word_ngram", o.dedup.word_ngram},
                            {"char_ngram", o.dedup.char_ngram}, {"num_perm", o.dedup.num_perm},
                            {"bands", o.dedup.bands}, {"rows", o.dedup.rows}, {"verify_jaccard", o.dedup.verify_jaccard},
                            {"unit", o.dedup.unit == ShingleUnit::kAuto ? "auto" : o.dedup.unit == ShingleUnit::kWord ? "word" : "char"}};
  return run.finish();
}

Result<Json> run_pii_job(const CorpusJobOptions& o) {
  JobRun run(o, "pii");
  KANANA_RETURN_IF_ERROR(run.open());
  KANANA_ASSIGN_OR_RETURN(auto out, OutFile::open(o.out_dir / "anonymized.jsonl"));
  std::array<uint64_t, static_cast<size_t>(PiiType::kCount)> totals{};
  uint64_t docs_with_pii = 0;
  KANANA_RETURN_IF_ERROR((run_pipeline<PiiResult>(
      *run.reader, run.pipeline(), [&](const Document& d) { return anonymize_pii(d.text, o.pii); },
      [&](PipelineItem<PiiResult>& item) -> Status {
        Json j = position(*run.reader, *item.raw);
        if (!run.note(item)) { j["bad"] = item.bad->reason; return out->line(j.dump()); }
        if (!item.doc->source_id.empty()) j["id"] = item.doc->source_id;
        j["text"] = item.out.text;
        Json counts = Json::object(), spans = Json::array();
        for (size_t t = 0; t < totals.size(); ++t) {
          if (item.out.counts[t] == 0) continue;
          counts[pii_type_name(static_cast<PiiType>(t))] = item.out.counts[t];
          totals[t] += static_cast<uint64_t>(item.out.counts[t]);
        }
        for (const auto& s : item.out.spans) spans.push_back({s.begin, s.end, pii_type_name(s.type)});
        if (!item.out.spans.empty()) ++docs_with_pii;
        j["counts"] = counts;
        j["spans"] = spans;
        return out->line(j.dump(-1, ' ', false, Json::error_handler_t::replace));
      })));
  KANANA_RETURN_IF_ERROR(out->commit());
  Json by_type = Json::object();
  for (size_t t = 0; t < totals.size(); ++t) by_type[pii_type_name(static_cast<PiiType>(t))] = totals[t];
  run.summary["pii_by_type"] = by_type;
  run.summary["documents_with_pii"] = docs_with_pii;
  return run.finish();
}

Result<Json> run_classify_job(const CorpusJobOptions& o) {
  if (o.classifier_label.empty()) return invalid_argument("classify: no label to score (--label)");
  KANANA_ASSIGN_OR_RETURN(auto model, QualityClassifier::load(o.classifier));
  JobRun run(o, "classify");
  KANANA_RETURN_IF_ERROR(run.open());
  KANANA_ASSIGN_OR_RETURN(auto scores, OutFile::open(o.out_dir / "scores.jsonl"));
  KANANA_ASSIGN_OR_RETURN(auto kept, OutFile::open(o.out_dir / "kept.jsonl"));
  uint64_t kept_docs = 0;
  const QualityClassifier* m = model.get();
  KANANA_RETURN_IF_ERROR((run_pipeline<double>(
      *run.reader, run.pipeline(), [&](const Document& d) { return m->score(d.text, o.classifier_label); },
      [&](PipelineItem<double>& item) -> Status {
        Json j = position(*run.reader, *item.raw);
        if (!run.note(item)) { j["bad"] = item.bad->reason; j["keep"] = false; return scores->line(j.dump()); }
        const bool keep = item.out >= o.classifier_threshold;
        j["score"] = item.out;
        j["keep"] = keep;
        KANANA_RETURN_IF_ERROR(scores->line(j.dump()));
        if (!keep) return Status::ok();
        ++kept_docs;
        return kept->line(kept_line(item));
      })));
  KANANA_RETURN_IF_ERROR(scores->commit());
  KANANA_RETURN_IF_ERROR(kept->commit());
  run.summary["model"] = o.classifier.string();
  run.summary["label"] = o.classifier_label;
  run.summary["threshold"] = o.classifier_threshold;
  run.summary["kept"] = kept_docs;
  run.summary["removed"] = run.documents - kept_docs;
  return run.finish();
}

}  // namespace kanana::data
