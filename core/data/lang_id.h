// Language identification with fastText's lid.176 model (176 languages; "__label__ko" → "ko").
// Two backends give the same predictions (test_fasttext_model checks them against each other):
// FastTextModel, the default (4-7x faster), and Debian's libfasttext itself, chosen with
// KANANA_LID_BACKEND=libfasttext. Loaded once, then predict() is const and safe to call from
// many worker threads at once.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace fasttext { class FastText; }

namespace kanana::data {

class FastTextModel;

enum class LidBackend { kNative, kLibFastText };
// KANANA_LID_BACKEND: unset or "native" -> kNative, "libfasttext" -> kLibFastText; else an error.
Result<LidBackend> lid_backend_from_env();

class LanguageIdentifier {
 public:
  struct Prediction {
    std::string lang;   // ISO code without the "__label__" prefix; empty if nothing predicted
    double score = 0;   // probability
  };
  // backend: default from lid_backend_from_env().
  static Result<std::unique_ptr<LanguageIdentifier>> load(const std::filesystem::path& model);
  static Result<std::unique_ptr<LanguageIdentifier>> load(const std::filesystem::path& model, LidBackend backend);
  ~LanguageIdentifier();
  Prediction predict(std::string_view text) const;
  std::vector<Prediction> predict_top(std::string_view text, int k) const;

 private:
  LanguageIdentifier();
  std::unique_ptr<FastTextModel> model_;         // kNative
  std::unique_ptr<fasttext::FastText> library_;  // kLibFastText
};

// A document as language ID reads it: its first 4 KB (whole characters), newlines as spaces,
// one newline-terminated line. The first few KB decide the language; more text only costs time.
std::string lid_input_line(std::string_view text);

// Where the demo setup puts lid.176.ftz: $KANANA_DATA_CACHE (or ~/.cache/kanana-workbench)/models/.
std::filesystem::path default_lid_model_path();

}  // namespace kanana::data
