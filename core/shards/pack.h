// Tokenize-and-pack: corpus files (anything core/data's readers take) → a packed token folder
// (see shard.h). One reader thread cuts records, `threads` workers parse and tokenize chunks
// of them, and the results are written in input order, so the output is identical for any
// thread count. A deterministic hash of each record's ordinal sends val_fraction of the
// documents to the held-out val/ split.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/progress.h"
#include "base/status.h"
#include "data/reader.h"
#include "shards/shard.h"
#include "tokenizer/tokenizer.h"

namespace kanana::shards {

struct PackOptions {
  std::string source_name;                // default: the output folder's name
  data::ReaderOptions reader;             // text field, format, limits
  bool add_bos = false;                   // prepend BOS to each document
  bool add_eos = true;                    // append EOS (the separator of GPT packing)
  double val_fraction = 0.0;              // [0, 1): share of documents held out
  uint64_t val_seed = 0x6b616e616e61ull;  // which documents are held out
  uint64_t shard_tokens = 1ull << 28;     // rotate shards at this many tokens
  uint64_t seq_len_hint = 0;              // recorded in the manifest; warns when a split is shorter
  int threads = 0;                        // tokenizer workers; 0 = hardware concurrency
  size_t chunk_records = 256;             // records per work unit
  bool overwrite = false;
  std::string tokenizer_path;             // recorded in the manifest
};

struct PackResult {
  Manifest manifest;
  uint64_t input_bytes = 0;               // on-disk bytes of the inputs
  uint64_t text_bytes = 0;                // UTF-8 bytes of the packed documents' text
  double seconds = 0;
  std::vector<data::BadLine> bad_line_samples;  // the first few, for the summary
};

// True when record `index` belongs to the validation split (hash of index and seed).
bool is_validation_record(uint64_t index, double val_fraction, uint64_t seed);

Result<PackResult> pack(const std::vector<std::filesystem::path>& inputs,
                        std::shared_ptr<const tok::Tokenizer> tokenizer, const std::filesystem::path& out_dir,
                        const PackOptions& options, Progress* progress = nullptr,
                        const CancelToken* cancel = nullptr);

}  // namespace kanana::shards
