// Computing importance scores (importance.h) with forward passes over a calibration set,
// streamed batch by batch: only running sums of size (layers × heads / neurons / channels)
// are kept, never the activations of the whole set.
//
// Calibration data comes from a CalibrationSource: windows of a packed token dataset
// (`kanana data pack`, evenly spaced through the split), or JSONL/text documents encoded
// with a tokenizer (one document per row, truncated, right-padded with an attention mask).
//
// Threading: estimate_importance runs on the calling thread (activation capture is
// thread-local); `cancel` may be set from any thread and is checked between batches.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/progress.h"
#include "base/status.h"
#include "model/llama.h"
#include "surgery/importance.h"

namespace kanana::tok {
class Tokenizer;
}

namespace kanana::surgery {

struct CalibrationBatch {
  torch::Tensor ids;   // (rows, seq + 1) int64: inputs ids[:, :-1], next-token targets ids[:, 1:]
  torch::Tensor mask;  // (rows, seq + 1) int64 0/1, right padding; undefined = every position is real
};

class CalibrationSource {
 public:
  virtual ~CalibrationSource() = default;
  // Up to `max_rows` rows; false when the set is exhausted.
  virtual Result<bool> next(int64_t max_rows, CalibrationBatch* batch) = 0;
  virtual int64_t total_rows() const = 0;      // rows the whole pass will yield (upper bound for text)
  virtual std::string description() const = 0;
  // Starts again from the first row (iterative pruning recomputes importance on the same set).
  virtual Status rewind() = 0;
};

struct CalibrationSpec {
  // Exactly one of: a token pack folder, or text inputs (JSONL with "text", or plain text)
  // plus a tokenizer file/folder.
  std::filesystem::path pack;
  bool pack_validation_split = false;          // use the pack's val/ split instead of train
  std::vector<std::filesystem::path> text;
  std::filesystem::path tokenizer;
  std::string text_field = "text";
  int64_t samples = 1024;                      // rows (Minitron: 1024 samples)
  int64_t seq_len = 512;                       // tokens per row (inputs)
};

// Opens the source a spec names; errors name the pack folder / file and what is wrong
// (no windows of seq_len + 1 tokens, bad JSONL line ...).
Result<std::unique_ptr<CalibrationSource>> open_calibration(const CalibrationSpec& spec);
// The same for an already loaded tokenizer (GUI, tests).
Result<std::unique_ptr<CalibrationSource>> open_text_calibration(const std::vector<std::filesystem::path>& inputs,
                                                                 std::shared_ptr<const tok::Tokenizer> tokenizer,
                                                                 int64_t samples, int64_t seq_len,
                                                                 const std::string& text_field = "text");
// Fixed rows (tests, small in-memory sets): ids (rows, seq + 1) int64 without padding.
std::unique_ptr<CalibrationSource> tensor_calibration(torch::Tensor ids, std::string description);

// Scores every head, neuron, channel and layer of `model` (forward passes only, no
// gradients, in the model's dtype and device; reductions in fp64).
Result<ImportanceScores> estimate_importance(model::LlamaForCausalLM& model, CalibrationSource& source,
                                             const ImportanceOptions& options, Progress* progress = nullptr,
                                             const CancelToken* cancel = nullptr);

// See ModelFingerprint (importance.h).
ModelFingerprint model_fingerprint(model::LlamaForCausalLM& model);

}  // namespace kanana::surgery
