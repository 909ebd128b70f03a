// fastText language ID wrapper (see lang_id.h).
#include "data/lang_id.h"

#include <fasttext/fasttext.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "data/fasttext_model.h"

namespace kanana::data {

LanguageIdentifier::LanguageIdentifier() = default;
LanguageIdentifier::~LanguageIdentifier() = default;

Result<LidBackend> lid_backend_from_env() {
  const char* env = std::getenv("KANANA_LID_BACKEND");
  const std::string v = env ? env : "";
  if (v.empty() || v == "native") return LidBackend::kNative;
  if (v == "libfasttext") return LidBackend::kLibFastText;
  return invalid_argument("KANANA_LID_BACKEND='" + v + "': use native or libfasttext");
}

Result<std::unique_ptr<LanguageIdentifier>> LanguageIdentifier::load(const std::filesystem::path& model) {
  KANANA_ASSIGN_OR_RETURN(LidBackend backend, lid_backend_from_env());
  return load(model, backend);
}

Result<std::unique_ptr<LanguageIdentifier>> LanguageIdentifier::load(const std::filesystem::path& model, LidBackend backend) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(model, ec))
    return not_found(model.string() + ": language-ID model not found (run scripts/fetch-demo-data.sh, or pass --lid-model)");
  std::unique_ptr<LanguageIdentifier> lid(new LanguageIdentifier());
  if (backend == LidBackend::kNative) {
    KANANA_ASSIGN_OR_RETURN(lid->model_, FastTextModel::load(model));
    return lid;
  }
  lid->library_ = std::make_unique<fasttext::FastText>();
  try {
    lid->library_->loadModel(model.string());
  } catch (const std::exception& e) {
    return data_loss(model.string() + ": not a fastText model: " + e.what());
  }
  return lid;
}

std::vector<LanguageIdentifier::Prediction> LanguageIdentifier::predict_top(std::string_view text, int k) const {
  const std::string line = lid_input_line(text);
  std::vector<Prediction> out;
  auto add = [&out](const std::string& label, double probability) {
    Prediction p;
    p.lang = label.rfind("__label__", 0) == 0 ? label.substr(9) : label;
    p.score = probability;
    out.push_back(std::move(p));
  };
  if (model_) {
    for (const auto& [label, probability] : model_->predict(line, k)) add(label, probability);
    return out;
  }
  std::istringstream in(line);
  std::vector<std::pair<fasttext::real, std::string>> preds;
  try {
    library_->predictLine(in, preds, k, 0.0);
  } catch (const std::exception&) {
    return out;
  }
  for (const auto& [probability, label] : preds) add(label, probability);
  return out;
}

std::string lid_input_line(std::string_view text) {
  // fastText reads one line: newlines would end the input early, so they become spaces.
  size_t cut = std::min<size_t>(text.size(), 4096);
  while (cut < text.size() && cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  std::string line(text.substr(0, cut));
  for (char& c : line) if (c == '\n' || c == '\r') c = ' ';
  line.push_back('\n');
  return line;
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
