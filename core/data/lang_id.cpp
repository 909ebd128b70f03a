// fastText language ID wrapper (see lang_id.h).
#include "data/lang_id.h"

#include <algorithm>
#include <cstdlib>

#include "data/fasttext_model.h"

namespace kanana::data {

LanguageIdentifier::LanguageIdentifier() = default;
LanguageIdentifier::~LanguageIdentifier() = default;

Result<std::unique_ptr<LanguageIdentifier>> LanguageIdentifier::load(const std::filesystem::path& model) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(model, ec))
    return not_found(model.string() + ": language-ID model not found (run scripts/fetch-demo-data.sh, or pass --lid-model)");
  std::unique_ptr<LanguageIdentifier> lid(new LanguageIdentifier());
  KANANA_ASSIGN_OR_RETURN(lid->model_, FastTextModel::load(model));
  return lid;
}

std::vector<LanguageIdentifier::Prediction> LanguageIdentifier::predict_top(std::string_view text, int k) const {
  // fastText reads one line: newlines would end the input early, so they become spaces.
  // The first few KB decide the language; more text only costs time (fastText is linear).
  size_t cut = std::min<size_t>(text.size(), 4096);
  while (cut < text.size() && cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  thread_local std::string line;
  line.assign(text.substr(0, cut));
  for (char& c : line) if (c == '\n' || c == '\r') c = ' ';
  line.push_back('\n');
  std::vector<Prediction> out;
  for (const auto& [label, probability] : model_->predict(line, k)) {
    Prediction p;
    p.lang = label.rfind("__label__", 0) == 0 ? label.substr(9) : label;
    p.score = probability;
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
