// Inference for fastText supervised models (.bin and quantized .ftz, format version 12, as
// written by fastText 0.9): the language-ID model lid.176.ftz and the quality classifiers
// `kanana data classify-train` makes. Predictions equal libfasttext's predictLine (same labels,
// same order, probabilities within float rounding) — tests check this against the library on
// real text — but a document is read in place: n-gram hashes are computed incrementally without
// building strings, the pruned-bucket map is a flat table behind a bitmap, and in-vocabulary
// words use precomputed subword lists. Training stays with libfasttext.
//
// Supported: supervised models, losses softmax / hs (hierarchical softmax) / ova, dense or
// product-quantized input and output matrices (with or without norm quantization), pruned
// dictionaries, character n-grams (minn..maxn) and word n-grams. A malformed file is an error
// naming the field and byte offset; nothing is read out of bounds.
//
// Thread safety: load() once; predict() is const and may run on many threads at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace kanana::data {

class FastTextModel {
 public:
  struct Label {
    std::string label;  // as stored, e.g. "__label__ko"
    float probability = 0;
  };

  static Result<std::unique_ptr<FastTextModel>> load(const std::filesystem::path& file);
  ~FastTextModel();

  // The k most probable labels of one line of text (k < 0: all labels), best first, with
  // probability >= threshold. Like fastText, a line ends at the first '\n'; an empty line
  // (no tokens at all) predicts nothing.
  std::vector<Label> predict(std::string_view line, int k = 1, float threshold = 0.0f) const;

  int labels() const;
  std::string describe() const;  // "supervised, hs loss, 176 labels, dim 16, quantized input, pruned to 42765 buckets"

 private:
  FastTextModel();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kanana::data
