// Corpus jobs (see corpus_jobs.h).
#include "data/corpus_jobs.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <optional>

#include "base/files.h"
#include "base/log.h"
#include "data/filters.h"
#include "data/hashing.h"
#include "data/lang_id.h"
#include "data/partial_file.h"
#include "data/pipeline.h"
#include "data/quality_classifier.h"
#include "data/signals.h"

namespace kanana::data {
namespace fs = std::filesystem;

namespace {

constexpr const char* kCheckpointFile = "checkpoint.json";
constexpr const char* kLockFile = "lock";
constexpr int kCheckpointVersion = 1;
// Test hook: after this many records the job flushes its outputs and SIGKILLs itself, as a
// crash would stop it (tests/data/test_data_resume.cpp resumes from there).
constexpr const char* kKillAfterEnv = "KANANA_TEST_KILL_AFTER_RECORDS";


uint64_t record_hash(const RawRecord& r) { return hash_combine(hash64(r.bytes), hash64(r.too_long)); }

// Shared bookkeeping of every job: partial outputs, checkpoints and resume, bad lines,
// counts, timings, and the final publish + summary.json.
struct JobRun {
  struct Output { std::string name; bool publish = true; };

  const CorpusJobOptions& o;
  std::string job;
  std::unique_ptr<CorpusReader> reader;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  uint64_t records = 0, documents = 0, bad = 0, text_bytes = 0;
  Json bad_lines = Json::array();
  std::vector<uint64_t> file_records;  // records per input file (files with none are warned about)
  Json summary = Json::object();

  // Job-specific counters into and out of checkpoints (load may throw on a damaged file).
  std::function<Json()> save_counters;
  std::function<void(const Json&)> load_counters;

  std::vector<std::unique_ptr<PartialFile>> outputs;
  bool resumed = false;

 private:
  Json fingerprint_;
  double seconds_before_ = 0;  // time spent by the interrupted runs
  Json resumed_at_ = Json::array();
  bool have_last_ = false;
  DocId last_id_;
  uint64_t last_index_ = 0, last_hash_ = 0;
  uint64_t since_checkpoint_ = 0;
  std::chrono::steady_clock::time_point last_checkpoint_ = std::chrono::steady_clock::now();
  uint64_t kill_after_ = 0;
  int lock_fd_ = -1;

 public:
  explicit JobRun(const CorpusJobOptions& opts, std::string name) : o(opts), job(std::move(name)) {}
  ~JobRun() {
    if (lock_fd_ >= 0) ::close(lock_fd_);
  }

  fs::path partial_dir() const { return o.out_dir / kPartialDir; }
  fs::path checkpoint_path() const { return partial_dir() / kCheckpointFile; }
  PartialFile& output(size_t i) { return *outputs[i]; }

  // Validate, open the inputs, and either resume from the checkpoint or start afresh.
  // `options` holds every option that changes the results (the fingerprint adds the inputs).
  Status open(const std::vector<Output>& names, Json options) {
    if (o.inputs.empty()) return invalid_argument("no input files given");
    if (o.out_dir.empty()) return invalid_argument("no output folder given (--out DIR)");
    if (o.threads < 1) return invalid_argument("--threads must be at least 1");
    ReaderOptions reader_options = o.reader;
    reader_options.cancel = o.cancel;
    // Nothing is read or removed before these checks: a refused run leaves DIR as it was.
    // The results get a folder of their own: one that holds an input would mix two jobs' files
    // under one summary.json, and --overwrite would replace what is being read.
    KANANA_RETURN_IF_ERROR(check_not_input(o.out_dir, o.inputs, "--out"));
    if (!o.resume) KANANA_RETURN_IF_ERROR(check_output_target(o.out_dir / "summary.json", o.overwrite, "--out"));
    KANANA_ASSIGN_OR_RETURN(reader, CorpusReader::open(o.inputs, reader_options));
    std::error_code ec;
    fs::create_directories(partial_dir(), ec);
    if (ec) return unavailable(o.out_dir.string() + ": cannot create output folder: " + ec.message());
    KANANA_RETURN_IF_ERROR(lock());
    file_records.assign(reader->files().size(), 0);

    const ReaderOptions& r = o.reader;
    options["job"] = job;
    options["reader"] = {{"format", static_cast<int>(r.format)}, {"text_field", r.text_field}, {"id_field", r.id_field},
                         {"lang_field", r.lang_field}, {"text_unit", r.text_unit == TextUnit::kFile ? "file" : "paragraph"},
                         {"max_line_bytes", r.max_line_bytes}, {"max_document_bytes", r.max_document_bytes}};
    options["max_bad_lines_listed"] = o.max_bad_lines_listed;
    Json inputs = Json::array();
    for (const auto& f : reader->files()) inputs.push_back(file_identity(f));
    fingerprint_ = {{"inputs", inputs}, {"options", options}};

    std::optional<Json> checkpoint;
    if (o.resume) {
      if (fs::exists(checkpoint_path())) {
        auto c = read_json_file(checkpoint_path());
        if (!c.is_ok())
          return c.status().with_context("cannot resume from " + checkpoint_path().string() + " (run without --resume to start over)");
        checkpoint = std::move(c).value();
      } else {
        log::info("no partial state of an earlier run in " + o.out_dir.string() + "; starting from the beginning");
      }
    } else if (has_partial_state()) {
      log::info("discarding the partial state of an earlier run in " + partial_dir().string() +
                " (pass --resume to continue it instead)");
    }
    if (checkpoint) {
      KANANA_RETURN_IF_ERROR(check_fingerprint(*checkpoint));
      KANANA_RETURN_IF_ERROR(restore(*checkpoint, names));
    } else {
      KANANA_RETURN_IF_ERROR(clear_partial_dir());
      for (const auto& n : names) {
        KANANA_ASSIGN_OR_RETURN(auto f, PartialFile::open(o.out_dir, n.name, n.publish, std::nullopt));
        outputs.push_back(std::move(f));
      }
    }
    // Results of an earlier run (allowed by --overwrite) stay until finish() publishes this
    // run's: a failed or cancelled re-run never removes them.
    if (const char* k = std::getenv(kKillAfterEnv); k && *k) kill_after_ = std::strtoull(k, nullptr, 10);
    last_checkpoint_ = std::chrono::steady_clock::now();
    return Status::ok();
  }

  // Common per-item bookkeeping; false for a bad record.
  template <typename T>
  bool note(const PipelineItem<T>& item) {
    ++records;
    if (item.raw->id.file_index < file_records.size()) ++file_records[item.raw->id.file_index];
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

  // Wraps a job's consume step: after each record, remember where the run is and checkpoint
  // when one is due.
  template <typename T>
  std::function<Status(PipelineItem<T>&)> consumer(std::function<Status(PipelineItem<T>&)> f) {
    return [this, f = std::move(f)](PipelineItem<T>& item) -> Status {
      KANANA_RETURN_IF_ERROR(f(item));
      return after(*item.raw);
    };
  }

  PipelineOptions pipeline() const {
    PipelineOptions p;
    p.threads = o.threads;
    p.progress = o.progress;
    p.cancel = o.cancel;
    return p;
  }

  // After the pipeline: on success a last checkpoint (a crash while publishing can still be
  // resumed); on failure or cancel, keep what was done so far for --resume when the outputs
  // are intact, and return the failure.
  Status pipeline_done(Status st) {
    if (st.is_ok()) return checkpoint();
    if (checkpoint().is_ok())
      log::info("the partial results of " + std::to_string(records) + " records are kept in " + partial_dir().string() +
                "; rerun with --resume to continue from there");
    return st;
  }

  Status checkpoint() {
    for (auto& f : outputs) KANANA_RETURN_IF_ERROR(f->sync());
    Json c = {{"version", kCheckpointVersion},
              {"job", job},
              {"fingerprint", fingerprint_},
              {"records", records},
              {"documents", documents},
              {"bad_lines", bad},
              {"text_bytes", text_bytes},
              {"bad_line_list", bad_lines},
              {"file_records", file_records},
              {"seconds", seconds_before_ + elapsed()},
              {"resumed_at", resumed_at_}};
    if (have_last_)
      c["last"] = {{"file", last_id_.file_index}, {"line", last_id_.line}, {"offset", last_id_.byte_offset},
                   {"index", last_index_}, {"hash", last_hash_}};
    Json sizes = Json::object();
    for (auto& f : outputs) sizes[f->name()] = f->size();
    c["outputs"] = sizes;
    c["counters"] = save_counters ? save_counters() : Json::object();
    return write_json_file(checkpoint_path(), c, 1);
  }

  // Publish every output, then summary.json last, then drop the partial state.
  Result<Json> finish() {
    // The old summary goes first, so that while the outputs are renamed into place the folder
    // never looks complete with a mix of two runs' files; it is written again last.
    std::error_code rm;
    fs::remove(o.out_dir / "summary.json", rm);
    for (auto& f : outputs) KANANA_RETURN_IF_ERROR(f->publish());
    if (int dfd = ::open(o.out_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
    const double secs = seconds_before_ + elapsed();
    Json inputs = Json::array(), warnings = Json::array();
    for (size_t i = 0; i < reader->files().size(); ++i) {
      const auto& f = reader->files()[i];
      inputs.push_back(f.string());
      if (file_records[i] > 0) continue;
      std::error_code ec;
      const auto size = fs::file_size(f, ec);
      warnings.push_back(f.string() + (!ec && size == 0 ? ": empty file (no records)"
                                                        : ": no records (" + std::to_string(ec ? 0 : size) + " bytes, all blank)"));
    }
    if (records == 0) warnings.push_back("the input has no records at all");
    for (const auto& w : warnings) log::warning(w.get<std::string>());
    summary["job"] = job;
    summary["inputs"] = inputs;
    summary["records"] = records;
    summary["documents"] = documents;
    summary["bad_lines"] = bad;
    summary["bad_line_list"] = bad_lines;
    summary["warnings"] = warnings;
    summary["input_bytes"] = reader->total_input_bytes();
    summary["text_bytes"] = text_bytes;
    summary["threads"] = o.threads;
    summary["seconds"] = secs;
    summary["mb_per_second"] = secs > 0 ? static_cast<double>(reader->total_input_bytes()) / 1e6 / secs : 0.0;
    summary["docs_per_second"] = secs > 0 ? static_cast<double>(records) / secs : 0.0;
    if (!resumed_at_.empty()) summary["resumed_at_records"] = resumed_at_;
    KANANA_RETURN_IF_ERROR(write_json_file(o.out_dir / "summary.json", summary));
    outputs.clear();
    std::error_code ec;
    fs::remove_all(partial_dir(), ec);
    if (o.progress) o.progress->finish(std::to_string(documents) + " documents");
    return summary;
  }

 private:
  double elapsed() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); }

  Status after(const RawRecord& raw) {
    have_last_ = true;
    last_id_ = raw.id;
    last_index_ = raw.index;
    last_hash_ = record_hash(raw);
    ++since_checkpoint_;
    bool due = o.checkpoint_every_records > 0 && since_checkpoint_ >= o.checkpoint_every_records;
    if (!due && o.checkpoint_every_seconds > 0 && (since_checkpoint_ & 255) == 0)
      due = std::chrono::duration<double>(std::chrono::steady_clock::now() - last_checkpoint_).count() >= o.checkpoint_every_seconds;
    if (due) {
      since_checkpoint_ = 0;
      last_checkpoint_ = std::chrono::steady_clock::now();
      KANANA_RETURN_IF_ERROR(checkpoint());
    }
    if (kill_after_ > 0 && records == kill_after_) {
      // Test hook: what a crash leaves — bytes past the last checkpoint, no clean-up.
      for (auto& f : outputs) (void)f->flush();
      std::raise(SIGKILL);
      std::_Exit(137);
    }
    return Status::ok();
  }

  Status lock() {
    const fs::path p = partial_dir() / kLockFile;
    lock_fd_ = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd_ < 0) return errno_status(p, "cannot create");
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK)
        return failed_precondition("another job is writing to " + o.out_dir.string() + " (it holds " + p.string() + ")");
      return errno_status(p, "cannot lock");
    }
    return Status::ok();
  }

  bool has_partial_state() const {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(partial_dir(), ec))
      if (e.path().filename() != kLockFile) return true;
    return false;
  }

  Status clear_partial_dir() {
    std::error_code ec;
    std::vector<fs::path> old;
    for (const auto& e : fs::directory_iterator(partial_dir(), ec))
      if (e.path().filename() != kLockFile) old.push_back(e.path());
    for (const auto& p : old) {
      fs::remove_all(p, ec);
      if (ec) return unavailable(p.string() + ": cannot remove the partial state of an earlier run: " + ec.message());
    }
    return Status::ok();
  }

  Status check_fingerprint(const Json& c) const {
    const std::string where = o.out_dir.string();
    const std::string again = ". Run without --resume to start over.";
    if (!c.is_object() || c.value("version", 0) != kCheckpointVersion || !c.contains("fingerprint"))
      return failed_precondition("cannot resume in " + where + ": " + checkpoint_path().string() +
                                 " is not a checkpoint this version understands" + again);
    const std::string was_job = c.value("job", std::string("?"));
    if (was_job != job)
      return failed_precondition("cannot resume in " + where + ": its partial state is from `kanana data " + was_job +
                                 "`, not `kanana data " + job + "`" + again);
    std::vector<std::string> diffs;
    const Json& fp = c["fingerprint"];
    const Json was = fp.value("inputs", Json::array()), now = fingerprint_["inputs"];
    auto path_of = [](const Json& j) { return j.is_object() ? j.value("path", std::string("?")) : std::string("?"); };
    if (was.size() != now.size()) {
      std::string d = "the input list changed (" + std::to_string(was.size()) + " files then, " + std::to_string(now.size()) + " now";
      std::map<std::string, int> seen;
      for (const auto& j : was) seen[path_of(j)] |= 1;
      for (const auto& j : now) seen[path_of(j)] |= 2;
      for (const auto& [p, w] : seen)
        if (w != 3) d += std::string(w == 1 ? "; gone: " : "; new: ") + p;
      diffs.push_back(d + ")");
    } else {
      for (size_t i = 0; i < was.size(); ++i) {
        const std::string a = path_of(was[i]), b = path_of(now[i]);
        if (a != b) { diffs.push_back("input #" + std::to_string(i + 1) + " was " + a + ", now " + b); continue; }
        if (was[i].value("size", int64_t(-1)) != now[i].value("size", int64_t(-1)))
          diffs.push_back(a + " changed size (" + std::to_string(was[i].value("size", int64_t(-1))) + " bytes then, " +
                          std::to_string(now[i].value("size", int64_t(-1))) + " now)");
        else if (was[i].value("mtime_ns", int64_t(0)) != now[i].value("mtime_ns", int64_t(0)))
          diffs.push_back(a + " was modified since the interrupted run");
      }
    }
    diff_options(fp.value("options", Json::object()), fingerprint_["options"], "", &diffs);
    if (diffs.empty()) return Status::ok();
    std::string msg = "cannot resume the " + job + " run in " + where + ": ";
    for (size_t i = 0; i < diffs.size(); ++i) msg += (i ? "; " : "") + diffs[i];
    return failed_precondition(msg + again);
  }

  Status restore(const Json& c, const std::vector<Output>& names) {
    try {
      records = c.at("records").get<uint64_t>();
      documents = c.at("documents").get<uint64_t>();
      bad = c.at("bad_lines").get<uint64_t>();
      text_bytes = c.at("text_bytes").get<uint64_t>();
      bad_lines = c.at("bad_line_list");
      file_records = c.at("file_records").get<std::vector<uint64_t>>();
      if (file_records.size() != reader->files().size()) throw std::runtime_error("file_records does not match the inputs");
      seconds_before_ = c.at("seconds").get<double>();
      resumed_at_ = c.value("resumed_at", Json::array());
      resumed_at_.push_back(records);
      const Json& sizes = c.at("outputs");
      for (const auto& n : names) {
        const fs::path partial = partial_dir() / n.name, final = o.out_dir / n.name;
        std::error_code ec;
        // Interrupted while publishing: the finished file was already renamed into place.
        if (n.publish && !fs::exists(partial, ec) && fs::exists(final, ec)) fs::rename(final, partial, ec);
        KANANA_ASSIGN_OR_RETURN(auto f, PartialFile::open(o.out_dir, n.name, n.publish, sizes.at(n.name).get<uint64_t>()));
        outputs.push_back(std::move(f));
      }
      if (c.contains("last")) {
        const Json& l = c["last"];
        DocId id;
        id.file_index = l.at("file").get<uint32_t>();
        id.line = l.at("line").get<uint64_t>();
        id.byte_offset = l.at("offset").get<uint64_t>();
        RawRecord again;
        Status s = reader->resume_after(id, l.at("index").get<uint64_t>(), &again);
        if (!s.is_ok()) return s.with_context("cannot resume in " + o.out_dir.string() + " (run without --resume to start over)");
        if (record_hash(again) != l.at("hash").get<uint64_t>())
          return data_loss("cannot resume in " + o.out_dir.string() + ": the record at " + reader->files()[id.file_index].string() +
                           ":" + std::to_string(id.line) + " is not the one the interrupted run read there" +
                           " (run without --resume to start over)");
        have_last_ = true;
        last_id_ = id;
        last_index_ = again.index;
        last_hash_ = record_hash(again);
      }
      if (load_counters) load_counters(c.at("counters"));
    } catch (const std::exception& e) {
      return data_loss(checkpoint_path().string() + " is damaged (" + e.what() + "); run without --resume to start over");
    }
    resumed = true;
    log::info("resuming the " + job + " run in " + o.out_dir.string() + " after " + std::to_string(records) + " records");
    return Status::ok();
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

// Dedup's resumable state: one entry per record, in order (a bad record, or a document's
// fingerprint), replayed into a fresh DedupIndex on resume so the index is exactly as it was.
void append_fingerprint(std::string* out, const DocFingerprint* fp) {
  if (fp == nullptr) { out->push_back('\0'); return; }
  out->push_back('\1');
  auto put = [&](const void* p, size_t n) { out->append(static_cast<const char*>(p), n); };
  put(&fp->exact_hi, 8);
  put(&fp->exact_lo, 8);
  out->push_back(fp->used_chars ? '\1' : '\0');
  const uint32_t n = static_cast<uint32_t>(fp->minhash.size());
  put(&n, 4);
  if (n) put(fp->minhash.data(), 4 * static_cast<size_t>(n));
}

}  // namespace

Result<Json> run_scan_job(const CorpusJobOptions& o) {
  JobRun run(o, "scan");
  KANANA_ASSIGN_OR_RETURN(auto lid, maybe_lid(o.lid_model));
  std::map<std::string, uint64_t> langs;
  std::vector<double> sums(signal_fields().size(), 0.0);
  run.save_counters = [&] { return Json{{"languages", langs}, {"signal_sums", doubles_to_bits(sums)}}; };
  run.load_counters = [&](const Json& c) {
    langs = c.at("languages").get<std::map<std::string, uint64_t>>();
    sums = bits_to_doubles(c.at("signal_sums"), sums.size());
  };
  KANANA_RETURN_IF_ERROR(run.open({{"signals.jsonl"}}, {{"lid_model", file_identity(o.lid_model)}}));
  PartialFile& out = run.output(0);
  const LanguageIdentifier* lid_ptr = lid.get();
  KANANA_RETURN_IF_ERROR(run.pipeline_done(run_pipeline<DocSignals>(
      *run.reader, run.pipeline(), [&](const Document& d) { return compute_signals(d.text, lid_ptr); },
      run.consumer<DocSignals>([&](PipelineItem<DocSignals>& item) -> Status {
        Json j = position(*run.reader, *item.raw);
        if (!run.note(item)) {
          j["bad"] = item.bad->reason;
          return out.line(j.dump());
        }
        if (!item.doc->source_id.empty()) j["id"] = item.doc->source_id;
        j["signals"] = signals_to_json(item.out);
        ++langs[effective_language(item.out, item.doc->lang)];
        for (size_t k = 0; k < sums.size(); ++k) sums[k] += item.out.*(signal_fields()[k].member);
        return out.line(j.dump(-1, ' ', false, Json::error_handler_t::replace));
      }))));
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
  fs::path lid_model;
  if (recipe.needs_language_id()) {
    lid_model = o.lid_model.empty() ? default_lid_model_path() : o.lid_model;
    auto loaded = LanguageIdentifier::load(lid_model);
    if (!loaded.is_ok()) return loaded.status().with_context("recipe '" + recipe.name + "' has a language rule");
    lid = std::move(loaded).value();
  }
  std::vector<uint64_t> first_counts(recipe.rules.size(), 0), fail_counts(recipe.rules.size(), 0);
  uint64_t kept_docs = 0, kept_bytes = 0;
  run.save_counters = [&] {
    return Json{{"removed_by_rule", first_counts}, {"failing_by_rule", fail_counts}, {"kept", kept_docs}, {"kept_text_bytes", kept_bytes}};
  };
  run.load_counters = [&](const Json& c) {
    first_counts = c.at("removed_by_rule").get<std::vector<uint64_t>>();
    fail_counts = c.at("failing_by_rule").get<std::vector<uint64_t>>();
    if (first_counts.size() != recipe.rules.size() || fail_counts.size() != recipe.rules.size())
      throw std::runtime_error("rule counts do not match the recipe");
    kept_docs = c.at("kept").get<uint64_t>();
    kept_bytes = c.at("kept_text_bytes").get<uint64_t>();
  };
  KANANA_RETURN_IF_ERROR(run.open({{"decisions.jsonl"}, {"kept.jsonl"}},
                                  {{"recipe", file_identity(recipe_path)}, {"lid_model", file_identity(lid_model)}}));
  PartialFile& decisions = run.output(0);
  PartialFile& kept = run.output(1);
  struct Out { DocSignals s; FilterDecision d; };
  const LanguageIdentifier* lid_ptr = lid.get();
  KANANA_RETURN_IF_ERROR(run.pipeline_done(run_pipeline<Out>(
      *run.reader, run.pipeline(),
      [&](const Document& d) {
        Out out;
        out.s = compute_signals(d.text, lid_ptr);
        out.d = apply_filters(recipe, out.s, d.lang);
        return out;
      },
      run.consumer<Out>([&](PipelineItem<Out>& item) -> Status {
        Json j = position(*run.reader, *item.raw);
        if (!run.note(item)) {
          j["bad"] = item.bad->reason;
          j["keep"] = false;
          return decisions.line(j.dump());
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
        KANANA_RETURN_IF_ERROR(decisions.line(j.dump()));
        if (!d.keep) return Status::ok();
        ++kept_docs;
        kept_bytes += item.doc->text.size();
        return kept.line(kept_line(item));
      }))));
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
  if (run.documents > 0 && kept_docs == 0) {
    // Almost always a recipe or --text-field mistake, not a corpus with nothing worth keeping.
    const std::string w = "the filter recipe '" + recipe.name + "' removed every one of the " +
                          std::to_string(run.documents) + " documents (kept.jsonl is empty); check its thresholds and --text-field";
    log::warning(w);
    run.summary["kept_nothing"] = w;
  }
  return run.finish();
}

Result<Json> run_dedup_job(const CorpusJobOptions& o) {
  if (o.dedup.near && o.dedup.bands * o.dedup.rows != o.dedup.num_perm)
    return invalid_argument("dedup: bands (" + std::to_string(o.dedup.bands) + ") × rows (" + std::to_string(o.dedup.rows) +
                            ") must equal the number of permutations (" + std::to_string(o.dedup.num_perm) + ")");
  JobRun run(o, "dedup");
  const Json options = {{"exact", o.dedup.exact}, {"near", o.dedup.near}, {"word_ngram", o.dedup.word_ngram},
                        {"char_ngram", o.dedup.char_ngram}, {"num_perm", o.dedup.num_perm},
                        {"bands", o.dedup.bands}, {"rows", o.dedup.rows}, {"verify_jaccard", o.dedup.verify_jaccard},
                        {"unit", o.dedup.unit == ShingleUnit::kAuto ? "auto" : o.dedup.unit == ShingleUnit::kWord ? "word" : "char"}};
  Json fingerprint_options = options;
  fingerprint_options["auto_char_hangul_ratio"] = o.dedup.auto_char_hangul_ratio;
  fingerprint_options["seed"] = o.dedup.seed;
  // clusters.jsonl is written after the last record (a document's cluster can change as later
  // ones join); fingerprints.bin is the resumable state of the index and is never published.
  KANANA_RETURN_IF_ERROR(run.open({{"kept.jsonl"}, {"fingerprints.bin", false}, {"clusters.jsonl"}}, {{"dedup", fingerprint_options}}));
  PartialFile& kept = run.output(0);
  PartialFile& fps = run.output(1);
  PartialFile& clusters = run.output(2);
  DedupIndex index(o.dedup);
  // Per-record results wait for the end, so only a few numbers per record are kept in memory.
  struct Row { uint64_t doc = UINT64_MAX; DupKind kind = DupKind::kNone; uint64_t of = 0; };
  std::vector<Row> rows;
  if (run.resumed) {
    // Rebuild the index from the fingerprints of the records already done.
    const fs::path state = fps.partial_path();
    std::ifstream in(state, std::ios::binary);
    if (!in) return unavailable(state.string() + ": cannot open the dedup state to resume");
    uint64_t left = fps.size();
    auto read = [&](void* p, size_t n) -> bool {
      if (n > left) return false;
      in.read(static_cast<char*>(p), static_cast<std::streamsize>(n));
      left -= n;
      return static_cast<size_t>(in.gcount()) == n;
    };
    DocFingerprint fp;
    while (left > 0) {
      char tag = 0;
      if (!read(&tag, 1)) break;
      if (tag == '\0') { rows.push_back({}); continue; }
      uint32_t n = 0;
      char chars = 0;
      if (tag != '\1' || !read(&fp.exact_hi, 8) || !read(&fp.exact_lo, 8) || !read(&chars, 1) || !read(&n, 4) ||
          n > 1u << 20)
        return data_loss(state.string() + ": damaged dedup state (run without --resume to start over)");
      fp.used_chars = chars != 0;
      fp.minhash.resize(n);
      if (n && !read(fp.minhash.data(), 4 * static_cast<size_t>(n)))
        return data_loss(state.string() + ": damaged dedup state (run without --resume to start over)");
      const uint64_t doc = index.size();
      const DedupMatch m = index.add(fp);
      rows.push_back({doc, m.kind, m.duplicate_of});
    }
    if (left != 0 || rows.size() != run.records)
      return data_loss(state.string() + ": the dedup state holds " + std::to_string(rows.size()) + " records, the checkpoint " +
                       std::to_string(run.records) + " (run without --resume to start over)");
  }
  std::string entry;
  KANANA_RETURN_IF_ERROR(run.pipeline_done(run_pipeline<DocFingerprint>(
      *run.reader, run.pipeline(), [&](const Document& d) { return fingerprint(d.text, o.dedup); },
      run.consumer<DocFingerprint>([&](PipelineItem<DocFingerprint>& item) -> Status {
        entry.clear();
        if (!run.note(item)) {
          rows.push_back({});
          append_fingerprint(&entry, nullptr);
          return fps.append(entry);
        }
        const uint64_t doc = index.size();
        const DedupMatch m = index.add(item.out);
        rows.push_back({doc, m.kind, m.duplicate_of});
        append_fingerprint(&entry, &item.out);
        KANANA_RETURN_IF_ERROR(fps.append(entry));
        if (m.kind != DupKind::kNone) return Status::ok();
        return kept.line(kept_line(item));
      }))));
  // doc number → record index, to name representatives by record index.
  std::vector<uint64_t> record_of;
  record_of.reserve(index.size());
  for (uint64_t r = 0; r < rows.size(); ++r) if (rows[r].doc != UINT64_MAX) record_of.push_back(r);
  for (uint64_t r = 0; r < rows.size(); ++r) {
    Json j = {{"index", r}};
    if (rows[r].doc == UINT64_MAX) { j["bad"] = true; KANANA_RETURN_IF_ERROR(clusters.line(j.dump())); continue; }
    const uint64_t c = index.cluster_of(rows[r].doc);
    j["cluster"] = record_of[c];
    j["representative"] = record_of[c];
    j["cluster_size"] = index.cluster_size(rows[r].doc);
    j["duplicate"] = rows[r].kind != DupKind::kNone;
    if (rows[r].kind != DupKind::kNone) {
      j["match"] = dup_kind_name(rows[r].kind);
      j["duplicate_of"] = record_of[rows[r].of];
    }
    KANANA_RETURN_IF_ERROR(clusters.line(j.dump()));
  }
  const auto st = index.stats();
  run.summary["kept"] = st.documents - st.exact_duplicates - st.near_duplicates;
  run.summary["exact_duplicates"] = st.exact_duplicates;
  run.summary["near_duplicates"] = st.near_duplicates;
  run.summary["clusters"] = st.clusters;
  run.summary["clusters_with_duplicates"] = st.clusters_with_duplicates;
  run.summary["largest_cluster"] = st.largest_cluster;
  run.summary["options"] = options;
  return run.finish();
}

Result<Json> run_pii_job(const CorpusJobOptions& o) {
  JobRun run(o, "pii");
  std::array<uint64_t, static_cast<size_t>(PiiType::kCount)> totals{};
  uint64_t docs_with_pii = 0;
  run.save_counters = [&] { return Json{{"pii_by_type", totals}, {"documents_with_pii", docs_with_pii}}; };
  run.load_counters = [&](const Json& c) {
    totals = c.at("pii_by_type").get<std::array<uint64_t, static_cast<size_t>(PiiType::kCount)>>();
    docs_with_pii = c.at("documents_with_pii").get<uint64_t>();
  };
  const Json options = {{"email", o.pii.email}, {"phone", o.pii.phone}, {"kr_rrn", o.pii.kr_rrn},
                        {"card", o.pii.card}, {"ip", o.pii.ip}, {"rrn_checksum", o.pii.rrn_checksum}};
  KANANA_RETURN_IF_ERROR(run.open({{"anonymized.jsonl"}}, {{"pii", options}}));
  PartialFile& out = run.output(0);
  KANANA_RETURN_IF_ERROR(run.pipeline_done(run_pipeline<PiiResult>(
      *run.reader, run.pipeline(), [&](const Document& d) { return anonymize_pii(d.text, o.pii); },
      run.consumer<PiiResult>([&](PipelineItem<PiiResult>& item) -> Status {
        Json j = position(*run.reader, *item.raw);
        if (!run.note(item)) { j["bad"] = item.bad->reason; return out.line(j.dump()); }
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
        return out.line(j.dump(-1, ' ', false, Json::error_handler_t::replace));
      }))));
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
  uint64_t kept_docs = 0;
  run.save_counters = [&] { return Json{{"kept", kept_docs}}; };
  run.load_counters = [&](const Json& c) { kept_docs = c.at("kept").get<uint64_t>(); };
  KANANA_RETURN_IF_ERROR(run.open({{"scores.jsonl"}, {"kept.jsonl"}},
                                  {{"model", file_identity(o.classifier)}, {"label", o.classifier_label},
                                   {"threshold", o.classifier_threshold}}));
  PartialFile& scores = run.output(0);
  PartialFile& kept = run.output(1);
  const QualityClassifier* m = model.get();
  KANANA_RETURN_IF_ERROR(run.pipeline_done(run_pipeline<double>(
      *run.reader, run.pipeline(), [&](const Document& d) { return m->score(d.text, o.classifier_label); },
      run.consumer<double>([&](PipelineItem<double>& item) -> Status {
        Json j = position(*run.reader, *item.raw);
        if (!run.note(item)) { j["bad"] = item.bad->reason; j["keep"] = false; return scores.line(j.dump()); }
        const bool keep = item.out >= o.classifier_threshold;
        j["score"] = item.out;
        j["keep"] = keep;
        KANANA_RETURN_IF_ERROR(scores.line(j.dump()));
        if (!keep) return Status::ok();
        ++kept_docs;
        return kept.line(kept_line(item));
      }))));
  run.summary["model"] = o.classifier.string();
  run.summary["label"] = o.classifier_label;
  run.summary["threshold"] = o.classifier_threshold;
  run.summary["kept"] = kept_docs;
  run.summary["removed"] = run.documents - kept_docs;
  return run.finish();
}

}  // namespace kanana::data
