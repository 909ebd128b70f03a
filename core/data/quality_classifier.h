// Model-based quality filter: a fastText supervised classifier (the kind Kanana trains for
// Korean "edu" quality, FineWeb-Edu style) trained from labelled JSONL ({"text", "label"}),
// evaluated on a held-out split, then used to score documents (probability of a label).
// Character n-grams (minn..maxn) are on by default: Korean eojeol are too sparse as words.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "base/progress.h"
#include "base/status.h"
#include "data/fasttext_model.h"


namespace kanana::data {

struct ClassifierTrainOptions {
  std::filesystem::path data;          // JSONL with text and label fields
  std::string text_field = "text";
  std::string label_field = "label";
  std::filesystem::path model_out;     // .bin written here
  double held_out = 0.1;               // fraction of documents kept for evaluation (every k-th)
  int epoch = 10;
  double lr = 0.5;
  int dim = 64;
  int word_ngrams = 2;
  int minn = 2, maxn = 4;              // character n-grams
  int threads = 1;
  int seed = 0;
  const CancelToken* cancel = nullptr;
};

struct LabelMetrics {
  uint64_t support = 0, predicted = 0, correct = 0;
  double precision = 0, recall = 0, f1 = 0;
};

struct ClassifierReport {
  uint64_t train_docs = 0, eval_docs = 0, skipped = 0;
  double accuracy = 0;
  std::map<std::string, LabelMetrics> labels;
};

Result<ClassifierReport> train_quality_classifier(const ClassifierTrainOptions& options);

class QualityClassifier {
 public:
  static Result<std::unique_ptr<QualityClassifier>> load(const std::filesystem::path& model);
  ~QualityClassifier();
  // Probability of `label` (0 if the model does not predict it among its labels). Thread-safe.
  double score(std::string_view text, const std::string& label) const;
  // The most likely label and its probability.
  std::pair<std::string, double> predict(std::string_view text) const;

 private:
  QualityClassifier();
  std::vector<FastTextModel::Label> labels_of(std::string_view text, int k) const;
  std::unique_ptr<FastTextModel> model_;  // libfasttext trains; this scores (same predictions)
};

}  // namespace kanana::data
