// Language identification with fastText's lid.176 model (176 languages; "__label__ko" → "ko"),
// run by FastTextModel (the same predictions as libfasttext, faster). Loaded once, then
// predict() is const and safe to call from many worker threads at once.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace kanana::data {

class FastTextModel;

class LanguageIdentifier {
 public:
  struct Prediction {
    std::string lang;   // ISO code without the "__label__" prefix; empty if nothing predicted
    double score = 0;   // probability
  };
  static Result<std::unique_ptr<LanguageIdentifier>> load(const std::filesystem::path& model);
  ~LanguageIdentifier();
  Prediction predict(std::string_view text) const;
  std::vector<Prediction> predict_top(std::string_view text, int k) const;

 private:
  LanguageIdentifier();
  std::unique_ptr<FastTextModel> model_;
};

// Where the demo setup puts lid.176.ftz: $KANANA_DATA_CACHE (or ~/.cache/kanana-workbench)/models/.
std::filesystem::path default_lid_model_path();

}  // namespace kanana::data
