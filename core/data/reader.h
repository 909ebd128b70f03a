// Corpus readers: JSONL (text at a configurable dotted field path), plain text (one document
// per file or per blank-line paragraph), and folders of either, read recursively in sorted
// order; .gz and .zst are decompressed transparently. Streaming with constant memory.
//
// Two stages, so a pipeline can split the work: CorpusReader (one thread) cuts the input
// into RawRecords (a line or a text unit with its DocId); parse_record (any thread) turns a
// RawRecord into a Document or a BadLine. Bad lines never stop a run: they are counted and
// reported with file, line and reason. A file that vanishes or fails to read mid-scan is an
// error (the run cannot say what it skipped). DocIds let a GUI seek to any document.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "data/byte_source.h"

namespace kanana::data {

enum class InputFormat { kAuto, kJsonl, kText };
enum class TextUnit { kFile, kParagraph };

struct ReaderOptions {
  InputFormat format = InputFormat::kAuto;  // auto: ".jsonl"/".json"/".ndjson" in the name → JSONL
  std::string text_field = "text";          // dotted path into each JSON object: "meta.body"
  std::string id_field = "id";              // optional; copied into Document::source_id
  std::string lang_field = "lang";          // optional; copied into Document::lang
  TextUnit text_unit = TextUnit::kFile;     // for plain text files
  uint64_t max_line_bytes = 100ull << 20;   // longer lines are bad lines (memory bound)
  uint64_t max_document_bytes = 100ull << 20;  // text files / paragraphs over this are skipped
  const CancelToken* cancel = nullptr;      // reads stop with kCancelled once set (see byte_source.h)
};

// Where a document lives: enough to seek straight back to it.
struct DocId {
  uint32_t file_index = 0;   // into CorpusReader::files()
  uint64_t line = 0;         // 1-based line (JSONL) or first line of the paragraph (text)
  uint64_t byte_offset = 0;  // decompressed byte offset of that line
  bool operator==(const DocId&) const = default;
};

struct RawRecord {
  DocId id;
  uint64_t index = 0;      // 0-based ordinal over all records of the run (bad ones included)
  bool jsonl = true;
  std::string bytes;       // a JSON line, or a text unit
  std::string too_long;    // non-empty: the reason this record was skipped before parsing
};

struct Document {
  DocId id;
  uint64_t index = 0;
  std::string text;
  std::string source_id;   // the JSON id field when present
  std::string lang;        // the JSON lang field when present
};

struct BadLine {
  std::string file;
  uint64_t line = 0;
  uint64_t byte_offset = 0;
  std::string reason;
};

// Expand files and folders (recursive, sorted by path; hidden files skipped) to input files.
Result<std::vector<std::filesystem::path>> expand_inputs(const std::vector<std::filesystem::path>& inputs);

// JSONL: "text" at options.text_field, which must exist and be a string of valid UTF-8.
// Text: the bytes must be valid UTF-8. Errors become BadLine reasons.
Result<Document> parse_record(const RawRecord& raw, const ReaderOptions& options);

class CorpusReader {
 public:
  static Result<std::unique_ptr<CorpusReader>> open(const std::vector<std::filesystem::path>& inputs,
                                                    ReaderOptions options = {});
  ~CorpusReader();
  // Next record in input order; false at the end. Errors: a file vanished, unreadable, corrupt.
  Result<bool> next(RawRecord* record);
  // Convenience for single-threaded callers: next good Document; bad records go to `bad`.
  Result<bool> next_document(Document* doc, std::vector<BadLine>* bad);

  const std::vector<std::filesystem::path>& files() const { return files_; }
  uint64_t total_input_bytes() const { return total_bytes_; }  // on-disk sizes at open()
  uint64_t bytes_done() const;                                 // on-disk bytes of finished files + current progress
  const ReaderOptions& options() const { return options_; }
  BadLine bad_line(const RawRecord& raw, const std::string& reason) const;

  // Random access: the document at `id` (re-reads from disk; compressed files are re-streamed).
  Result<Document> read_at(const DocId& id) const;

  // Resuming a run: position the reader just after the record `last` whose run ordinal was
  // `last_index`, so next() continues with record last_index + 1. The record itself is read
  // again (plain files seek straight to its byte offset; compressed ones are re-streamed up to
  // it) and returned in `reread`, so the caller can check it is the record it saw before.
  // Errors when no record starts at `last` any more.
  Status resume_after(const DocId& last, uint64_t last_index, RawRecord* reread);

 private:
  CorpusReader(std::vector<std::filesystem::path> files, ReaderOptions options);
  bool is_jsonl(const std::filesystem::path& path) const;
  Status open_file(size_t index);

  std::vector<std::filesystem::path> files_;
  std::vector<uint64_t> sizes_;
  ReaderOptions options_;
  uint64_t total_bytes_ = 0;
  uint64_t finished_bytes_ = 0;
  size_t current_ = 0;
  bool current_open_ = false;
  bool current_jsonl_ = true;
  std::unique_ptr<LineReader> lines_;
  uint64_t next_index_ = 0;
};

}  // namespace kanana::data
