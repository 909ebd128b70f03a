// Token-sized chunks that respect paragraphs. A chunk is a byte range of the document made of
// whole units: a paragraph when it fits the size, else its sentences, else groups of words,
// else (one word longer than the size) groups of characters. Consecutive chunks overlap by the
// last units of the previous chunk that fit in overlap_tokens, so a chunk never starts or ends
// inside a paragraph unless that paragraph alone is longer than max_tokens.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace kanana::rag {

struct ChunkOptions {
  int64_t max_tokens = 200;     // tokens per chunk at most (the sum of its units' counts)
  int64_t overlap_tokens = 40;  // tokens repeated from the previous chunk at most; < max_tokens
};

struct TextChunk {
  size_t begin = 0, end = 0;  // byte range in the text
  int64_t tokens = 0;         // token count of text[begin, end)
};

// Counts the tokens of a piece of text (the embedding model's tokenizer, without BOS).
using TokenCounter = std::function<int64_t(std::string_view)>;

// Chunks of `text` in order, covering every paragraph. Empty text → no chunks. Error for
// invalid options (max_tokens <= 0, overlap outside [0, max_tokens)).
Result<std::vector<TextChunk>> chunk_text(std::string_view text, const ChunkOptions& options,
                                          const TokenCounter& count_tokens);

}  // namespace kanana::rag
