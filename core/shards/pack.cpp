// The pack pipeline: ordered parallel tokenization of reader records into a ShardSetWriter.
#include "shards/pack.h"

#include <sys/stat.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "shards/sampler.h"

namespace kanana::shards {

namespace fs = std::filesystem;

bool is_validation_record(uint64_t index, double val_fraction, uint64_t seed) {
  if (!(val_fraction > 0)) return false;
  const double u = double(mix64(mix64(seed) ^ index) >> 11) * 0x1.0p-53;
  return u < val_fraction;
}

namespace {

struct Chunk {
  uint64_t seq = 0;
  std::vector<data::RawRecord> records;
};

struct ChunkResult {
  std::vector<std::vector<int32_t>> docs;   // tokens with BOS/EOS, in record order
  std::vector<bool> is_val;
  std::vector<data::BadLine> bad;
  uint64_t empty = 0;
  uint64_t text_bytes = 0;
  uint64_t records = 0;
  std::string error;                         // a worker failure (exception from a tokenizer)
};

// Workers take chunks from `pending`, and put results into `done` keyed by chunk sequence.
class Pipeline {
 public:
  Pipeline(const data::CorpusReader& reader, const tok::Tokenizer& tokenizer, const PackOptions& options, int threads)
      : reader_(reader), tokenizer_(tokenizer), options_(options) {
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  ~Pipeline() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_work_.notify_all();
    for (auto& t : workers_) t.join();
  }
  void submit(Chunk chunk) {
    {
      std::lock_guard lock(mu_);
      pending_.push_back(std::move(chunk));
    }
    cv_work_.notify_one();
  }
  ChunkResult wait_for(uint64_t seq) {
    std::unique_lock lock(mu_);
    cv_done_.wait(lock, [&] { return done_.count(seq) > 0; });
    ChunkResult r = std::move(done_[seq]);
    done_.erase(seq);
    return r;
  }
  bool ready(uint64_t seq) {
    std::lock_guard lock(mu_);
    return done_.count(seq) > 0;
  }

 private:
  void work() {
    for (;;) {
      Chunk chunk;
      {
        std::unique_lock lock(mu_);
        cv_work_.wait(lock, [&] { return stop_ || !pending_.empty(); });
        if (stop_ || pending_.empty()) return;  // stop: an error or cancel ended the run
        chunk = std::move(pending_.front());
        pending_.pop_front();
      }
      ChunkResult result = process(chunk);
      {
        std::lock_guard lock(mu_);
        done_.emplace(chunk.seq, std::move(result));
      }
      cv_done_.notify_all();
    }
  }

  ChunkResult process(const Chunk& chunk) const {
    ChunkResult out;
    tok::EncodeOptions enc;
    enc.add_bos = options_.add_bos;
    enc.add_eos = false;
    enc.parse_special = false;  // corpus text that spells "<|eot_id|>" must not become a control token
    const auto bos = tokenizer_.bos_id();
    const auto eos = tokenizer_.eos_id();
    try {
      for (const auto& raw : chunk.records) {
        ++out.records;
        if (!raw.too_long.empty()) {
          out.bad.push_back(reader_.bad_line(raw, raw.too_long));
          continue;
        }
        auto doc = data::parse_record(raw, reader_.options());
        if (!doc.is_ok()) {
          out.bad.push_back(reader_.bad_line(raw, doc.status().message()));
          continue;
        }
        std::vector<int32_t> ids = tokenizer_.encode(doc->text, enc);
        const size_t content = ids.size() - ((options_.add_bos && bos && !ids.empty() && ids.front() == *bos) ? 1 : 0);
        if (content == 0) {
          ++out.empty;
          continue;
        }
        if (options_.add_eos) ids.push_back(*eos);
        out.text_bytes += doc->text.size();
        out.docs.push_back(std::move(ids));
        out.is_val.push_back(is_validation_record(raw.index, options_.val_fraction, options_.val_seed));
      }
    } catch (const std::exception& e) {
      out.error = std::string("tokenizer failed: ") + e.what();
    }
    return out;
  }

  const data::CorpusReader& reader_;
  const tok::Tokenizer& tokenizer_;
  const PackOptions& options_;
  std::mutex mu_;
  std::condition_variable cv_work_, cv_done_;
  std::deque<Chunk> pending_;
  std::map<uint64_t, ChunkResult> done_;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace

Result<PackResult> pack(const std::vector<fs::path>& inputs, std::shared_ptr<const tok::Tokenizer> tokenizer,
                        const fs::path& out_dir, const PackOptions& options, Progress* progress,
                        const CancelToken* cancel) {
  const auto start = std::chrono::steady_clock::now();
  if (!tokenizer) return invalid_argument("pack: no tokenizer");
  if (!(options.val_fraction >= 0 && options.val_fraction < 1))
    return invalid_argument("--val-fraction must be in [0, 1), got " + std::to_string(options.val_fraction));
  if (options.add_eos && !tokenizer->eos_id())
    return invalid_argument("the tokenizer has no EOS token to separate documents; give it one "
                            "(tokenizer_config.json) or pack without EOS (--no-eos)");
  if (options.add_bos && !tokenizer->bos_id())
    return invalid_argument("--add-bos: the tokenizer has no BOS token");
  if (options.chunk_records == 0) return invalid_argument("pack: chunk_records must be > 0");
  KANANA_ASSIGN_OR_RETURN(auto reader, data::CorpusReader::open(inputs, options.reader));
  if (reader->files().empty()) return invalid_argument("no input files found");

  ShardWriterOptions wopts;
  wopts.dtype_bytes = dtype_bytes_for_vocab(tokenizer->vocab_size());
  wopts.shard_tokens = options.shard_tokens;
  wopts.overwrite = options.overwrite;
  KANANA_ASSIGN_OR_RETURN(auto writer, ShardSetWriter::create(out_dir, wopts));

  PackResult result;
  result.input_bytes = reader->total_input_bytes();
  Manifest manifest;
  manifest.source_name = options.source_name.empty() ? fs::absolute(out_dir).lexically_normal().filename().string()
                                                     : options.source_name;
  if (manifest.source_name.empty()) manifest.source_name = "data";
  for (const auto& f : reader->files()) {
    InputFileEntry e;
    e.path = fs::absolute(f).lexically_normal().string();
    struct stat st {};
    if (::stat(f.c_str(), &st) == 0) {
      e.size = uint64_t(st.st_size);
      e.mtime = int64_t(st.st_mtime);
    }
    manifest.inputs.push_back(std::move(e));
  }
  manifest.text_field = options.reader.text_field;
  manifest.tokenizer_path = options.tokenizer_path;
  manifest.tokenizer_kind = tokenizer->kind();
  manifest.tokenizer_fingerprint = tokenizer->fingerprint();
  manifest.vocab_size = tokenizer->vocab_size();
  manifest.bos_id = tokenizer->bos_id();
  manifest.eos_id = tokenizer->eos_id();
  manifest.add_bos = options.add_bos;
  manifest.add_eos = options.add_eos;
  manifest.val_fraction = options.val_fraction;
  manifest.seq_len_hint = options.seq_len_hint;

  int threads = options.threads > 0 ? options.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  const uint64_t max_in_flight = uint64_t(threads) * 3;
  Pipeline pipeline(*reader, *tokenizer, options, threads);
  uint64_t next_seq = 0, next_write = 0;
  uint64_t records = 0, bad = 0, empty = 0;

  auto write_result = [&](ChunkResult r) -> Status {
    if (!r.error.empty()) return internal_error(r.error);
    for (size_t i = 0; i < r.docs.size(); ++i) {
      KANANA_RETURN_IF_ERROR(writer->add_document(r.docs[i], r.is_val[i] ? Split::kValidation : Split::kTrain));
    }
    records += r.records;
    bad += r.bad.size();
    empty += r.empty;
    result.text_bytes += r.text_bytes;
    for (auto& b : r.bad) {
      if (result.bad_line_samples.size() < 10) result.bad_line_samples.push_back(std::move(b));
    }
    if (progress) {
      progress->update(int64_t(reader->bytes_done()), int64_t(reader->total_input_bytes()),
                       std::to_string(writer->tokens(Split::kTrain) + writer->tokens(Split::kValidation)) + " tokens, " +
                           std::to_string(writer->docs(Split::kTrain) + writer->docs(Split::kValidation)) + " docs");
    }
    return Status::ok();
  };

  bool more = true;
  while (more) {
    if (cancel && cancel->is_cancelled()) return cancelled("pack cancelled; " + out_dir.string() + " is incomplete");
    // Keep the workers fed but bound memory: write finished chunks in order first.
    while (next_write < next_seq && (next_seq - next_write >= max_in_flight || pipeline.ready(next_write))) {
      KANANA_RETURN_IF_ERROR(write_result(pipeline.wait_for(next_write++)));
    }
    Chunk chunk;
    chunk.seq = next_seq;
    size_t bytes = 0;
    while (chunk.records.size() < options.chunk_records && bytes < (8u << 20)) {
      data::RawRecord raw;
      KANANA_ASSIGN_OR_RETURN(bool got, reader->next(&raw));
      if (!got) {
        more = false;
        break;
      }
      bytes += raw.bytes.size();
      chunk.records.push_back(std::move(raw));
    }
    if (!chunk.records.empty()) {
      pipeline.submit(std::move(chunk));
      ++next_seq;
    }
  }
  while (next_write < next_seq) {
    if (cancel && cancel->is_cancelled()) return cancelled("pack cancelled; " + out_dir.string() + " is incomplete");
    KANANA_RETURN_IF_ERROR(write_result(pipeline.wait_for(next_write++)));
  }
  if (writer->docs(Split::kTrain) == 0)
    return invalid_argument("no documents to pack: " + std::to_string(records) + " records read, " +
                            std::to_string(bad) + " bad, " + std::to_string(empty) +
                            " empty (check --text-field, now '" + options.reader.text_field + "')");
  manifest.input_records = records;
  manifest.bad_lines = bad;
  manifest.empty_docs = empty;
  KANANA_ASSIGN_OR_RETURN(result.manifest, writer->finish(std::move(manifest)));
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (progress) progress->finish(std::to_string(result.manifest.train_tokens + result.manifest.val_tokens) + " tokens");
  return result;
}

}  // namespace kanana::shards
