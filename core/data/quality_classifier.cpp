// fastText quality classifier (see quality_classifier.h).
#include "data/quality_classifier.h"

#include <fasttext/fasttext.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/json.h"
#include "data/fasttext_model.h"
#include "data/reader.h"

namespace kanana::data {
namespace fs = std::filesystem;

namespace {

// fastText reads whitespace-separated tokens from one line per example.
std::string one_line(std::string_view text) {
  std::string s(text.substr(0, 1 << 16));
  for (char& c : s) if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  return s;
}

std::string label_token(const std::string& label) {
  std::string t = label;
  for (char& c : t) if (c == ' ' || c == '\t' || c == '\n') c = '_';
  return "__label__" + t;
}

}  // namespace

Result<ClassifierReport> train_quality_classifier(const ClassifierTrainOptions& o) {
  if (o.model_out.empty()) return invalid_argument("classifier: no output model path");
  if (o.held_out < 0 || o.held_out >= 1) return invalid_argument("classifier: held-out fraction must be in [0, 1)");
  ReaderOptions ro;
  ro.text_field = o.text_field;
  ro.format = InputFormat::kJsonl;
  KANANA_ASSIGN_OR_RETURN(auto reader, CorpusReader::open({o.data}, ro));
  const fs::path train_file = o.model_out.string() + ".train-" + std::to_string(::getpid()) + ".txt";
  struct Cleanup { fs::path p; ~Cleanup() { std::error_code ec; fs::remove(p, ec); } } cleanup{train_file};
  std::ofstream train(train_file);
  if (!train) return unavailable(train_file.string() + ": cannot write the training file");
  std::vector<std::pair<std::string, std::string>> eval;  // (label, text)
  ClassifierReport rep;
  const uint64_t every = o.held_out > 0 ? std::max<uint64_t>(2, static_cast<uint64_t>(1.0 / o.held_out + 0.5)) : 0;
  RawRecord raw;
  uint64_t n = 0;
  for (;;) {
    if (o.cancel && o.cancel->is_cancelled()) return cancelled();
    KANANA_ASSIGN_OR_RETURN(bool more, reader->next(&raw));
    if (!more) break;
    auto doc = parse_record(raw, ro);
    nlohmann::json j = parse_json_or_discarded(raw.bytes);
    if (!doc.is_ok() || !j.is_object() || !j.contains(o.label_field) ||
        !(j[o.label_field].is_string() || j[o.label_field].is_number_integer() || j[o.label_field].is_boolean())) {
      ++rep.skipped;
      continue;
    }
    const auto& lv = j[o.label_field];
    const std::string label = lv.is_string() ? lv.get<std::string>() : lv.dump();
    if (every && ++n % every == 0) {
      eval.emplace_back(label, doc->text);
      ++rep.eval_docs;
    } else {
      train << label_token(label) << ' ' << one_line(doc->text) << '\n';
      ++rep.train_docs;
    }
  }
  train.close();
  if (!train) return unavailable(train_file.string() + ": writing the training file failed (disk full?)");
  if (rep.train_docs == 0) return invalid_argument(o.data.string() + ": no labelled documents (need '" + o.text_field + "' and '" + o.label_field + "')");
  fasttext::Args args;
  args.input = train_file.string();
  args.output = o.model_out.string();
  args.model = fasttext::model_name::sup;
  args.loss = fasttext::loss_name::softmax;
  args.epoch = o.epoch;
  args.lr = o.lr;
  args.dim = o.dim;
  args.wordNgrams = o.word_ngrams;
  args.minn = o.minn;
  args.maxn = o.maxn;
  args.minCount = 1;
  args.bucket = 200000;
  args.thread = std::max(1, o.threads);
  args.seed = o.seed;
  args.verbose = 0;
  auto model = std::make_unique<fasttext::FastText>();
  try {
    model->train(args);
    const fs::path tmp = o.model_out.string() + ".tmp-" + std::to_string(::getpid());
    model->saveModel(tmp.string());
    fs::rename(tmp, o.model_out);
  } catch (const std::exception& e) {
    return internal_error("fastText training failed: " + std::string(e.what()));
  }
  // Held-out evaluation through the saved file and the scorer `data classify` uses.
  KANANA_ASSIGN_OR_RETURN(auto scorer, QualityClassifier::load(o.model_out));
  uint64_t correct = 0;
  for (const auto& [label, text] : eval) {
    const std::string got = scorer->predict(text).first;
    rep.labels[label].support++;
    if (!got.empty()) rep.labels[got].predicted++;
    if (got == label) { rep.labels[label].correct++; ++correct; }
  }
  for (auto& [label, m] : rep.labels) {
    m.precision = m.predicted ? static_cast<double>(m.correct) / static_cast<double>(m.predicted) : 0;
    m.recall = m.support ? static_cast<double>(m.correct) / static_cast<double>(m.support) : 0;
    m.f1 = m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0;
  }
  rep.accuracy = eval.empty() ? 0 : static_cast<double>(correct) / static_cast<double>(eval.size());
  return rep;
}

QualityClassifier::QualityClassifier() = default;
QualityClassifier::~QualityClassifier() = default;

Result<std::unique_ptr<QualityClassifier>> QualityClassifier::load(const fs::path& model) {
  std::error_code ec;
  if (!fs::is_regular_file(model, ec)) return not_found(model.string() + ": classifier model not found");
  std::unique_ptr<QualityClassifier> c(new QualityClassifier());
  KANANA_ASSIGN_OR_RETURN(c->model_, FastTextModel::load(model));
  return c;
}

std::vector<FastTextModel::Label> QualityClassifier::labels_of(std::string_view text, int k) const {
  thread_local std::string line;
  line = one_line(text);
  line.push_back('\n');
  auto preds = model_->predict(line, k);
  for (auto& p : preds) if (p.label.rfind("__label__", 0) == 0) p.label.erase(0, 9);
  return preds;
}

double QualityClassifier::score(std::string_view text, const std::string& label) const {
  for (const auto& p : labels_of(text, -1))
    if (p.label == label) return p.probability;
  return 0;
}

std::pair<std::string, double> QualityClassifier::predict(std::string_view text) const {
  auto preds = labels_of(text, 1);
  if (preds.empty()) return {"", 0.0};
  return {preds[0].label, preds[0].probability};
}

}  // namespace kanana::data
