// fastText language ID wrapper (see lang_id.h).
#include "data/lang_id.h"

#include <fasttext/fasttext.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>

namespace kanana::data {

LanguageIdentifier::LanguageIdentifier() : model_(std::make_unique<fasttext::FastText>()) {}
LanguageIdentifier::~LanguageIdentifier() = default;

Result<std::unique_ptr<LanguageIdentifier>> LanguageIdentifier::load(const std::filesystem::path& model) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(model, ec))
    return not_found(model.string() + ": language-ID model not found (run scripts/fetch-demo-data.sh, or pass --lid-model)");
  std::unique_ptr<LanguageIdentifier> lid(new LanguageIdentifier());
  try {
    lid->model_->loadModel(model.string());
  } catch (const std::exception& e) {
    return data_loss(model.string() + ": not a fastText model: " + e.what());
  }
  return lid;
}

std::vector<LanguageIdentifier::Prediction> LanguageIdentifier::predict_top(std::string_view text, int k) const {
  // fastText reads one line: newlines would end the input early, so they become spaces.
  // The first few KB decide the language; more text only costs time (fastText is linear).
  size_t cut = std::min<size_t>(text.size(), 4096);
  while (cut < text.size() && cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  std::string line(text.substr(0, cut));
  for (char& c : line) if (c == '\n' || c == '\r') c = ' ';
  line.push_back('\n');
  std::istringstream in(line);
  std::vector<std::pair<fasttext::real, std::string>> preds;
  std::vector<Prediction> out;
  try {
    model_->predictLine(in, preds, k, 0.0);
  } catch (const std::exception&) {
    return out;
  }
  for (auto& [score, label] : preds) {
    Prediction p;
    p.lang = label.rfind("__label__", 0) == 0 ? label.substr(9) : label;
    p.score = score;
    out.push_back(std::move(p));
  }
  return out;
}

LanguageIdentifier::Prediction LanguageIdentifier::predict(std::string_view text) const {
  auto top = predict_top(text, 1);
  return top.empty() ? Prediction{} : top.front();
}

std::filesystem::path default_lid_model_path() {
  const char* env = std::getenv("KANANA_DATA_CACHE");
  std::filesystem::path cache = env && *env ? env : std::filesystem::path(std::getenv("HOME") ? std::getenv("HOME") : ".") / ".cache/kanana-workbench";
  return cache / "models" / "lid.176.ftz";
}

}  // namespace kanana::data
