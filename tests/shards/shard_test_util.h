// Helpers shared by the shard tests: synthetic packs written straight through ShardSetWriter,
// and a small generated bilingual corpus.
#pragma once

#include <QtTest>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "shards/shard.h"

namespace kanana::shards::test {

// Documents of token ids 1..vocab-1 with lengths in [min_len, max_len], each ending in eos.
inline std::vector<std::vector<int32_t>> synthetic_docs(size_t n, uint32_t seed, int32_t vocab = 1000,
                                                        int min_len = 3, int max_len = 40, int32_t eos = 0) {
  std::mt19937 rng(seed);
  std::vector<std::vector<int32_t>> docs(n);
  for (auto& d : docs) {
    const int len = min_len + int(rng() % uint32_t(max_len - min_len + 1));
    for (int i = 0; i < len; ++i) d.push_back(1 + int32_t(rng() % uint32_t(vocab - 1)));
    d.push_back(eos);
  }
  return docs;
}

// Writes docs (every `val_every`-th to the val split when > 0) and a manifest.
inline Result<Manifest> write_synthetic_pack(const std::filesystem::path& dir,
                                             const std::vector<std::vector<int32_t>>& docs,
                                             const std::string& name, uint64_t shard_tokens = 1ull << 20,
                                             size_t val_every = 0, const std::string& fingerprint = "fp-test",
                                             int64_t vocab = 1000, const std::string& tokenizer_path = "") {
  ShardWriterOptions opts;
  opts.dtype_bytes = dtype_bytes_for_vocab(vocab);
  opts.shard_tokens = shard_tokens;
  opts.overwrite = true;
  KANANA_ASSIGN_OR_RETURN(auto writer, ShardSetWriter::create(dir, opts));
  for (size_t i = 0; i < docs.size(); ++i) {
    const bool val = val_every > 0 && i % val_every == val_every - 1;
    KANANA_RETURN_IF_ERROR(writer->add_document(docs[i], val ? Split::kValidation : Split::kTrain));
  }
  Manifest m;
  m.source_name = name;
  m.tokenizer_kind = "test";
  m.tokenizer_path = tokenizer_path;
  m.tokenizer_fingerprint = fingerprint;
  m.vocab_size = vocab;
  m.eos_id = 0;
  return writer->finish(std::move(m));
}

// Concatenation of the docs that went to one split (the token stream a ShardSet exposes).
inline std::vector<int32_t> stream_of(const std::vector<std::vector<int32_t>>& docs, size_t val_every, bool val) {
  std::vector<int32_t> out;
  for (size_t i = 0; i < docs.size(); ++i) {
    const bool is_val = val_every > 0 && i % val_every == val_every - 1;
    if (is_val == val) out.insert(out.end(), docs[i].begin(), docs[i].end());
  }
  return out;
}

inline std::string ko_en_sentence(std::mt19937& rng, bool korean, int words) {
  static const char* ko[] = {"한국어", "언어", "모델", "학습", "데이터", "토크나이저", "문장", "서울", "날씨",
                             "오늘은", "좋은", "하루", "입니다", "우리는", "새로운", "연구", "결과를", "발표했다",
                             "컴퓨터", "과학", "사람들이", "읽는", "책", "이야기", "바다", "산", "그리고", "하지만"};
  static const char* en[] = {"the", "language", "model", "learns", "from", "data", "tokenizer", "sentence",
                             "weather", "today", "is", "good", "we", "present", "new", "research", "results",
                             "computer", "science", "people", "read", "books", "story", "sea", "mountain", "and"};
  std::string s;
  for (int i = 0; i < words; ++i) {
    if (i) s += ' ';
    s += korean ? ko[rng() % (sizeof ko / sizeof *ko)] : en[rng() % (sizeof en / sizeof *en)];
  }
  return s + ".";
}

}  // namespace kanana::shards::test
